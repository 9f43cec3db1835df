"""GPS Insight sandbox: login/session auth, drivers, users, envelope errors, push, rate limit."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from flask import Flask

BASE = "/gpsinsight/v2"
LOGIN = {"username": "sandbox-gps-user", "password": "sandbox-gps-pass"}
APP_TOKEN = "sandbox-gps-app-token"


def login(c: httpx.Client, **params: str) -> str:
    response = c.get("/userauth/login", params=params or LOGIN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["head"] == {"status": "OK", "code": 200}
    assert body["data"]["expires"].endswith("Z")
    return str(body["data"]["token"])


def assert_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    head = response.json()["head"]
    assert head["status"] == "ERROR" and head["code"] == status and head["error_string"]
    return str(head["error_string"])


@pytest.fixture
def gps(app: Flask, make_client: Callable[..., httpx.Client]) -> Iterator[httpx.Client]:
    """A client with a live session token on every call."""
    with make_client(app, BASE) as c:
        c.params = {"session_token": login(c)}
        yield c


def test_login_with_password_or_app_token_and_401s(app: Flask, make_client) -> None:
    with make_client(app, BASE) as c:
        token = login(c)
        assert login(c, app_token=APP_TOKEN) != token
        assert c.get("/driver/list", params={"session_token": token}).json()["data"] == []
        assert_error(c.get("/userauth/login", params=LOGIN | {"password": "x"}), 401)
        assert_error(c.get("/userauth/login", params={"app_token": "nope"}), 401)
        assert "required" in assert_error(c.get("/driver/list"), 401)
        assert "invalid" in assert_error(c.get("/driver/list", params={"session_token": "x"}), 401)
        app.extensions["fleetbridge_sandboxes"]["gpsinsight"].tokens.expire_all()
        expired = c.get("/driver/list", params={"session_token": token})
        assert "expired" in assert_error(expired, 401)


def test_token_ttl_follows_the_seeded_credentials(app, make_client, control) -> None:
    control.post("/gpsinsight/seed", json={"credentials": LOGIN | {"token_ttl_seconds": 1e-6}})
    with make_client(app, BASE) as c:
        token = login(c)
        assert_error(c.get("/user/list", params={"session_token": token}), 401)


def test_driver_create_update_delete_and_list(gps: httpx.Client, control) -> None:
    created = gps.get(
        "/driver/create",
        params={"firstname": "Ada", "lastname": "Lovelace", "email": "ada@x.io", "ref_id": "R1"},
    ).json()["data"]
    assert set(created) == {
        "driver_id", "ref_id", "firstname", "lastname", "email", "phone",
        "license_number", "group", "driveri_driver_id", "updated_at",
    }  # fmt: skip
    form = gps.get("/driver/create", params={"firstname": "Bob", "lastname": "Byte"}).json()
    assert form["data"]["firstname"] == "Bob" and form["data"]["driver_id"] != created["driver_id"]

    updated = gps.get(
        "/driver/update",
        params={"driver_id": created["driver_id"], "driveri_driver_id": "DRV-9", "phone": "555"},
    ).json()["data"]
    assert updated["driveri_driver_id"] == "DRV-9" and updated["firstname"] == "Ada"
    assert updated["updated_at"] > created["updated_at"]

    listed = gps.get("/driver/list").json()["data"]
    assert [d["firstname"] for d in listed] == ["Ada", "Bob"] and listed[0] == updated
    deleted = gps.get("/driver/delete", params={"driver_id": created["driver_id"]}).json()
    assert deleted["data"] == {"driver_id": created["driver_id"], "deleted": True}
    assert [d["firstname"] for d in gps.get("/driver/list").json()["data"]] == ["Bob"]
    assert [d["firstname"] for d in control.get("/gpsinsight/state").json()["drivers"]] == ["Bob"]


def test_driver_errors_use_the_envelope(gps: httpx.Client) -> None:
    assert "lastname" in assert_error(gps.get("/driver/create", params={"firstname": "A"}), 400)
    bad = gps.get("/driver/create", params={"firstname": "A", "lastname": "B", "first_name": "x"})
    assert "first_name" in assert_error(bad, 400)
    assert "driver_id" in assert_error(gps.get("/driver/update", params={"phone": "1"}), 400)
    assert_error(gps.get("/driver/update", params={"driver_id": 999, "phone": "1"}), 404)
    assert_error(gps.get("/driver/delete", params={"driver_id": 999}), 404)


def test_users_and_seeded_drivers(gps: httpx.Client, control) -> None:
    seeded = control.post(
        "/gpsinsight/seed",
        json={
            "drivers": [{"driver_id": 40, "firstname": "Cy", "lastname": "D"}, {"firstname": "E"}],
            "users": [{"username": "dispatcher", "email": "d@x.io"}],
        },
    ).json()
    assert [d["driver_id"] for d in seeded["drivers"]] == [40, 41]
    assert all(d["updated_at"] for d in seeded["drivers"])
    users = gps.get("/user/list").json()["data"]
    assert users == [
        {"username": "sandbox-gps-user", "is_master": True, "email": "fleet.admin@sandbox.example"},
        {"username": "dispatcher", "is_master": False, "email": "d@x.io"},
    ]
    control.post("/gpsinsight/reset")
    assert control.get("/gpsinsight/state").json()["drivers"] == []


def test_push_webhooks_are_signed(gps: httpx.Client, control, sent) -> None:
    hook = {"url": "http://hook/gps", "secret": "s3cret", "events": ["driver_created"]}
    control.post("/gpsinsight/seed", json={"webhooks": [hook]})
    driver = gps.get("/driver/create", params={"firstname": "A", "lastname": "B"}).json()["data"]
    gps.get("/driver/update", params={"driver_id": driver["driver_id"], "phone": "1"})
    assert len(sent) == 1
    assert sent[0].json["event"] == "driver_created" and sent[0].json["driver"] == driver
    assert sent[0].json["timestamp"]
    expected = hmac.new(b"s3cret", sent[0].body, hashlib.sha256).hexdigest()
    assert sent[0].headers["X-GPSInsight-Signature"] == expected
    bad = {"url": "http://hook", "events": ["vehicle_moved"]}
    assert control.post("/gpsinsight/seed", json={"webhooks": [bad]}).status_code == 400


def test_rate_limit_429_in_the_envelope(gps: httpx.Client, control) -> None:
    assert control.get("/gpsinsight/rate-limit").json()["limit"] == 600
    control.post("/gpsinsight/rate-limit", json={"limit": 2})
    statuses = [gps.get("/driver/list").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = gps.get("/driver/list")
    assert_error(response, 429)
    assert int(response.headers["Retry-After"]) >= 1


def test_faults_use_the_envelope(gps: httpx.Client, control) -> None:
    control.post("/gpsinsight/faults", json={"status_5xx": 1.0})
    assert_error(gps.get("/driver/list"), 503)


def test_request_log_holds_no_credential(app: Flask, make_client, control) -> None:
    with make_client(app, BASE) as c:
        token = login(c)
        login(c, app_token=APP_TOKEN)
        c.get("/driver/create", params={"session_token": token, "firstname": "A", "lastname": "B"})
        c.get("/driver/create", params={"session_token": token, "firstname": "C"})
        c.get("/user/list", params={"session_token": token})
    log = control.get("/gpsinsight/requests").json()["requests"]
    assert len(log) == 5
    text = json.dumps(log)
    for secret in ("sandbox-gps-pass", APP_TOKEN, token):
        assert secret not in text
    assert log[0]["query"]["username"] == "sandbox-gps-user"


def test_item15_only_the_documented_get_with_query_parameters(gps: httpx.Client) -> None:
    """gpsinsight.md documents GET with query parameters: a body or another method is refused."""
    token = gps.params["session_token"]
    assert gps.post("/driver/list").status_code == 405
    assert gps.post("/userauth/login", params=LOGIN).status_code == 405
    with_body = gps.request("GET", "/driver/list", json={"session_token": token})
    assert "query string" in assert_error(with_body, 400)
    form = gps.request("GET", "/driver/create", data={"firstname": "A", "lastname": "B"})
    assert_error(form, 400)
