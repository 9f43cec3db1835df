"""Azuga sandbox: login and Bearer tokens, per-endpoint minute limit, bulk geomark upload
validation and unique names, TrackMe links, positions -> geofence alerts, a fault."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from flask import Flask

from local.sandboxes.framework import DroppedConnection
from tests.unit.sandboxes.conftest import Sent

KEY = "sandbox-azuga-key"
# two fences 1 km apart along a meridian: A at the origin (r 200 m), B 1 km north (r 300 m)
FENCE_A = {"name": "Job A", "latitude": 40.0, "longitude": -75.0, "geofenceRadius": 200}
FENCE_B = {"name": "Job B", "latitude": 40.009, "longitude": -75.0, "geofenceRadius": 300}


def fence(**fields: Any) -> dict[str, Any]:
    """A valid bulk-upload item."""
    base = {"address": "1 Main St", "fenceType": "Circular", "radiusUnit": "meters"}
    return base | {"alertOnEntry": True} | fields


@pytest.fixture
def open_limit(control: httpx.Client) -> None:
    """Lift the one-a-minute limit for tests about something else."""
    control.post("/azuga/rate-limit", json={"limit": 1000}).raise_for_status()


def login(app: Flask, make_client: Callable[..., httpx.Client]) -> str:
    with make_client(app, "/azuga") as c:
        response = c.post("/v3/auth/login", json={"apiKey": KEY})
    assert response.status_code == 200, response.text
    assert response.json()["tokenType"] == "Bearer" and response.json()["expiresIn"] == 3600
    return str(response.json()["token"])


@pytest.fixture
def azuga(
    app: Flask, make_client: Callable[..., httpx.Client], open_limit: None
) -> Iterator[httpx.Client]:
    """A client with a Bearer token."""
    headers = {"Authorization": f"Bearer {login(app, make_client)}"}
    with make_client(app, "/azuga", headers=headers) as c:
        yield c


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return dict(error)


def test_login_and_401s(app: Flask, make_client, open_limit: None) -> None:
    token = login(app, make_client)
    with make_client(app, "/azuga") as c:
        assert_error(c.post("/v3/auth/login", json={"apiKey": "nope"}), 401, "UNAUTHORIZED")
        assert_error(c.post("/v3/auth/login"), 401, "UNAUTHORIZED")
        assert_error(c.get("/v3/trackees"), 401, "UNAUTHORIZED")
        assert_error(
            c.get("/v3/trackees", headers={"Authorization": "Bearer x"}), 401, "UNAUTHORIZED"
        )
        ok = c.get("/v3/trackees", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and ok.json() == []
        basic = {"Authorization": "Basic " + base64.b64encode(KEY.encode()).decode()}
        assert_error(c.post("/v1/trackme.json", json={"ttl": 5}, headers=basic), 404, "NOT_FOUND")
        assert_error(c.get("/v3/trackees", headers=basic), 401, "UNAUTHORIZED")  # v1 only
        app.extensions["fleetbridge_sandboxes"]["azuga"].tokens.expire_all()
        expired = c.get("/v3/trackees", headers={"Authorization": f"Bearer {token}"})
        assert "expired" in assert_error(expired, 401, "UNAUTHORIZED")["message"]


def test_rate_limit_is_one_a_minute_per_endpoint(app: Flask, make_client, control) -> None:
    token = login(app, make_client)
    headers = {"Authorization": f"Bearer {token}"}
    with make_client(app, "/azuga", headers=headers) as c:
        assert c.get("/v3/trackees").status_code == 200
        assert c.get("/v3/users", params={"userType": "driver"}).status_code == 200
        assert c.get("/v3/geomarks").status_code == 200
        second = c.get("/v3/trackees")
        assert_error(second, 429, "TOO_MANY_REQUESTS")
        assert 55 <= int(second.headers["Retry-After"]) <= 60
        # the path template is the endpoint: two different geomark ids share one limit
        control.post("/azuga/seed", json={"geomarks": [fence(**FENCE_A), fence(**FENCE_B)]})
        assert c.delete("/v3/geomarks/1").status_code == 200
        assert_error(c.delete("/v3/geomarks/2"), 429, "TOO_MANY_REQUESTS")
    log = control.get("/azuga/requests").json()["requests"]
    assert [e["status"] for e in log] == [200, 200, 200, 200, 429, 200, 429]
    assert log[0]["body"] == {"apiKey": "[redacted]"}


def test_rate_limit_follows_the_time_factor(make_app, make_client) -> None:
    app = make_app(time_factor=60.0)
    with make_client(app, "/azuga") as c:
        assert c.post("/v3/auth/login", json={"apiKey": KEY}).status_code == 200
        again = c.post("/v3/auth/login", json={"apiKey": KEY})
        assert again.status_code == 429 and again.headers["Retry-After"] == "1"


def test_users_and_trackees(azuga: httpx.Client, control: httpx.Client) -> None:
    seeded = control.post(
        "/azuga/seed",
        json={
            "users": [
                {"id": 7, "firstName": "Ann", "lastName": "Lee", "email": "ann@x.io"},
                {"firstName": "Boss", "userType": "admin"},
            ],
            "trackees": [{"id": 3, "name": "Van 3", "vin": "VIN3", "assignedUserId": 7}],
        },
    )
    assert seeded.status_code == 200, seeded.text
    drivers = azuga.get("/v3/users", params={"userType": "driver"}).json()
    assert drivers == [
        {
            "id": 7,
            "firstName": "Ann",
            "lastName": "Lee",
            "email": "ann@x.io",
            "phone": None,
            "userType": "driver",
        }
    ]
    [van] = azuga.get("/v3/trackees").json()
    assert van["assignedUserId"] == 7 and van["lastLocation"] is None
    bad = control.post("/azuga/seed", json={"trackees": [{"name": "X", "assignedUserId": 99}]})
    assert bad.status_code == 400


def test_bulk_upload_validates_and_refuses_duplicates(
    azuga: httpx.Client, control: httpx.Client
) -> None:
    created = azuga.post(
        "/v3/geomarks/bulkUpload.json", json={"create": [fence(**FENCE_A), fence(**FENCE_B)]}
    )
    assert created.status_code == 200, created.text
    assert [g["name"] for g in created.json()["created"]] == ["Job A", "Job B"]
    too_big = fence(name="Big", latitude=1, longitude=1, geofenceRadius=16_094)
    error = assert_error(
        azuga.post("/v3/geomarks/bulkUpload.json", json={"create": [too_big]}), 400, "BAD_REQUEST"
    )
    assert error["field"] == "create[0].geofenceRadius"
    ten_miles = fence(name="Ten", latitude=1, longitude=1, geofenceRadius=16_093.44)
    square = fence(name="Sq", latitude=1, longitude=1, geofenceRadius=5, fenceType="Polygon")
    cases = [
        ({"create": [ten_miles, square]}, 400, "create[1].fenceType"),
        ({"create": [fence(name="N", latitude=91, longitude=0, geofenceRadius=5)]}, 400, None),
        ({"create": [fence(name="N", latitude=1, longitude=1)]}, 400, "create[0].geofenceRadius"),
        ({"create": []}, 400, "create"),
        ({"create": [fence(**FENCE_A | {"name": "job a"})]}, 409, "create[0].name"),
        ({"create": [ten_miles, dict(ten_miles)]}, 409, "create[1].name"),
    ]
    for body, status, field in cases:
        code = "BAD_REQUEST" if status == 400 else "CONFLICT"
        error = assert_error(azuga.post("/v3/geomarks/bulkUpload.json", json=body), status, code)
        assert field is None or error["field"] == field
    # all or nothing: the valid item of a refused upload was not created
    assert [g["name"] for g in azuga.get("/v3/geomarks").json()] == ["Job A", "Job B"]
    assert azuga.delete("/v3/geomarks/1").json() == {"id": 1, "deleted": True}
    assert_error(azuga.delete("/v3/geomarks/1"), 404, "NOT_FOUND")
    names = [g["name"] for g in control.get("/azuga/state").json()["geomarks"]]
    assert names == ["Job B"]


def test_trackme_link(azuga: httpx.Client, control: httpx.Client) -> None:
    control.post(
        "/azuga/seed", json={"users": [{"id": 7}], "trackees": [{"id": 3, "assignedUserId": 7}]}
    )
    link = azuga.post(
        "/v1/trackme.json", json={"vehicleId": 3, "userId": 7, "ttl": 90, "name": "Visit"}
    )
    assert link.status_code == 200, link.text
    assert set(link.json()) == {"token", "url", "expiresAt"}
    assert link.json()["token"] in link.json()["url"]
    assert_error(
        azuga.post("/v1/trackme.json", json={"vehicleId": 3, "ttl": 0}), 400, "BAD_REQUEST"
    )
    missing = azuga.post("/v1/trackme.json", json={"vehicleId": 3, "userId": 8, "ttl": 5})
    assert assert_error(missing, 404, "NOT_FOUND")["field"] == "userId"
    [stored] = control.get("/azuga/state").json()["trackme_links"]
    assert stored["vehicleId"] == 3 and stored["ttl"] == 90


def seed_moving(control: httpx.Client, hook: dict[str, Any]) -> None:
    response = control.post(
        "/azuga/seed",
        json={
            "users": [{"id": 7}],
            "trackees": [{"id": 3, "assignedUserId": 7}],
            "geomarks": [fence(**FENCE_A), fence(**FENCE_B, alertOnEntry=False)],
            "webhooks": [hook],
        },
    )
    assert response.status_code == 200, response.text


def move(control: httpx.Client, lat: float, at: int) -> list[dict[str, Any]]:
    response = control.post(
        "/azuga/positions", json={"vehicleId": 3, "lat": lat, "lon": -75.0, "at": at}
    )
    assert response.status_code == 200, response.text
    return list(response.json()["alerts"])


def test_positions_emit_one_alert_per_crossing(control: httpx.Client, sent: list[Sent]) -> None:
    seed_moving(
        control,
        {"url": "https://hooks.example/az", "authorizationType": "KEY", "keyValue": "s3cret"},
    )
    assert move(control, 39.99, 1_000) == []  # first position, outside every fence
    [entered] = move(control, 40.0005, 2_000)  # ~55 m from A's centre
    assert entered == {
        "eventType": "ENTERED_GEOFENCE",
        "vehicleId": 3,
        "userId": 7,
        "fenceName": "Job A",
        "fenceId": 1,
        "location": {"latitude": 40.0005, "longitude": -75.0},
        "locationTime": 2_000,
    }
    assert move(control, 40.001, 3_000) == []  # ~110 m: still inside A
    alerts = move(control, 40.009, 4_000)  # left A, entered B (no entry alerts for B)
    assert [(a["eventType"], a["fenceName"]) for a in alerts] == [("EXIT_GEOFENCE", "Job A")]
    [exit_b] = move(control, 40.02, 5_000)
    assert (exit_b["eventType"], exit_b["fenceName"]) == ("EXIT_GEOFENCE", "Job B")
    assert [s.json for s in sent] == [[entered], alerts, [exit_b]]  # one delivery per crossing
    assert all(s.headers["x-api-key"] == "s3cret" for s in sent)
    state = control.get("/azuga/state").json()
    location = state["trackees"][0]["lastLocation"]
    assert location == {"latitude": 40.02, "longitude": -75.0, "locationTime": 5_000}


def test_positions_basic_auth_and_errors(control: httpx.Client, sent: list[Sent]) -> None:
    hook = {
        "url": "https://hooks.example/az",
        "authorizationType": "BASIC",
        "username": "azuga",
        "password": "pw",
    }
    seed_moving(control, hook)
    move(control, 40.0, 1_000)
    assert sent[0].headers["Authorization"] == "Basic " + base64.b64encode(b"azuga:pw").decode()
    unknown = control.post("/azuga/positions", json={"vehicleId": 99, "lat": 1, "lon": 1})
    assert unknown.status_code == 404
    assert control.post("/azuga/positions", json={"vehicleId": 3, "lat": 1}).status_code == 400
    no_auth = control.post("/azuga/seed", json={"webhooks": [{"url": "https://x"}]})
    assert no_auth.status_code == 400


def test_faults_and_lost_response(azuga: httpx.Client, control: httpx.Client) -> None:
    control.post("/azuga/faults", json={"status_5xx": 1.0}).raise_for_status()
    assert_error(azuga.get("/v3/trackees"), 503, "SERVICE_UNAVAILABLE")
    control.post("/azuga/faults", json={"lost_response": 1.0}).raise_for_status()
    try:  # a 503 or a dropped connection, half and half
        status = azuga.post(
            "/v3/geomarks/bulkUpload.json", json={"create": [fence(**FENCE_A)]}
        ).status_code
    except (httpx.HTTPError, DroppedConnection):  # in-process, the drop is this exception
        status = 0
    assert status in (0, 503)
    control.post("/azuga/faults", json={}).raise_for_status()
    # the write was applied although its answer was lost
    assert [g["name"] for g in azuga.get("/v3/geomarks").json()] == ["Job A"]
