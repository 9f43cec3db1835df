"""Driveri sandbox: token auth, paging, driver CRUD, rename/duplicate 409s, rate limit, log."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from flask import Flask

CLIENT = ("sandbox-driveri-client", "sandbox-driveri-secret")
TENANT = "/v1/tenants/sandbox-tenant"


def get_token(app: Flask, make_client: Callable[..., httpx.Client]) -> str:
    with make_client(app, "/driveri") as c:
        response = c.post("/v1/auth/token", auth=CLIENT)
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 3600
    return str(response.json()["access_token"])


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["data"] is None and body["error"]["code"] == code and body["error"]["message"]
    return dict(body["error"])


@pytest.fixture
def driveri(app: Flask, make_client: Callable[..., httpx.Client]) -> Iterator[httpx.Client]:
    """A client with a Bearer token for the default tenant."""
    headers = {"Authorization": f"Bearer {get_token(app, make_client)}"}
    with make_client(app, f"/driveri{TENANT}", headers=headers) as c:
        yield c


def test_token_and_401s(app: Flask, make_client) -> None:
    token = get_token(app, make_client)
    with make_client(app, "/driveri") as c:
        assert_error(c.post("/v1/auth/token", auth=(CLIENT[0], "x")), 401, "UNAUTHORIZED")
        assert_error(c.post("/v1/auth/token"), 401, "UNAUTHORIZED")
        assert_error(c.get(f"{TENANT}/drivers"), 401, "UNAUTHORIZED")
        bad = c.get(f"{TENANT}/drivers", headers={"Authorization": "Bearer nope"})
        assert_error(bad, 401, "UNAUTHORIZED")
        ok = c.get(f"{TENANT}/drivers", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and ok.json()["data"]["drivers"] == []
        other = c.get("/v1/tenants/other/drivers", headers={"Authorization": f"Bearer {token}"})
        assert_error(other, 403, "FORBIDDEN")
        app.extensions["fleetbridge_sandboxes"]["driveri"].tokens.expire_all()
        expired = c.get(f"{TENANT}/drivers", headers={"Authorization": f"Bearer {token}"})
        assert "expired" in assert_error(expired, 401, "UNAUTHORIZED")["message"]


def test_paging_is_zero_based_and_show_all(driveri: httpx.Client, control) -> None:
    drivers = [{"driverId": f"D{i:02d}", "firstName": f"N{i}"} for i in range(25)]
    drivers.append({"driverId": "GONE", "firstName": "Old", "status": 0})
    control.post("/driveri/seed", json={"drivers": drivers})
    seen, page = [], 0
    while True:
        data = driveri.get("/drivers", params={"showAll": "true", "page": page, "size": 10}).json()
        data = data["data"]
        assert (data["page"], data["size"], data["totalElements"], data["totalPages"]) == (
            page, 10, 26, 3,
        )  # fmt: skip
        seen += [d["driverId"] for d in data["drivers"]]
        page += 1
        if page >= data["totalPages"]:
            break
    assert seen == [d["driverId"] for d in drivers]
    active = driveri.get("/drivers").json()["data"]
    assert active["totalElements"] == 25 and active["size"] == 20 and len(active["drivers"]) == 20
    error = assert_error(driveri.get("/drivers", params={"page": -1}), 400, "BAD_REQUEST")
    assert error["field"] == "page"


def test_create_get_update_delete(driveri: httpx.Client, control) -> None:
    control.post("/driveri/rate-limit", json={"limit": 100})  # more than 10 calls in a second
    body = {"driverId": "D1", "firstName": "Ada", "email": "Ada@X.io", "licenseNumber": "L1"}
    created = driveri.post("/drivers", json=body)
    assert created.status_code == 201
    assert created.json()["data"] == {
        "driverId": "D1", "firstName": "Ada", "lastName": None, "email": "Ada@X.io",
        "phone": None, "licenseNumber": "L1", "group": None, "status": 1,
    }  # fmt: skip
    assert driveri.get("/driver", params={"driverId": "D1"}).json()["data"]["firstName"] == "Ada"
    assert driveri.get("/driver", params={"email": "ada@x.IO"}).json()["data"]["driverId"] == "D1"
    assert_error(driveri.get("/driver", params={"driverId": "nope"}), 404, "NOT_FOUND")
    assert_error(driveri.get("/driver"), 400, "BAD_REQUEST")

    updated = driveri.put("/drivers/D1", json={"lastName": "L", "status": 0}).json()["data"]
    assert (updated["firstName"], updated["lastName"], updated["status"]) == ("Ada", "L", 0)
    assert driveri.get("/drivers").json()["data"]["drivers"] == []  # inactive hidden
    assert_error(driveri.put("/drivers/D1", json={"status": 2}), 400, "BAD_REQUEST")
    assert_error(driveri.put("/drivers/nope", json={"lastName": "x"}), 404, "NOT_FOUND")

    assert driveri.delete("/drivers/D1").json()["data"] == {"driverId": "D1", "deleted": True}
    assert control.get("/driveri/state").json()["drivers"] == []
    assert_error(driveri.delete("/drivers/D1"), 404, "NOT_FOUND")


def test_required_fields_and_duplicate_409(driveri: httpx.Client) -> None:
    error = assert_error(driveri.post("/drivers", json={"firstName": "A"}), 400, "BAD_REQUEST")
    assert error["field"] == "driverId" and "driverId" in error["message"]
    error = assert_error(driveri.post("/drivers", json={"driverId": "D1"}), 400, "BAD_REQUEST")
    assert error["field"] == "firstName"
    assert driveri.post("/drivers", json={"driverId": "D1", "firstName": "A"}).status_code == 201
    duplicate = driveri.post("/drivers", json={"driverId": "D1", "firstName": "B"})
    assert assert_error(duplicate, 409, "CONFLICT")["field"] == "driverId"


def test_rename_and_rename_conflict(driveri: httpx.Client) -> None:
    for driver_id in ("A", "B", "C"):
        driveri.post("/drivers", json={"driverId": driver_id, "firstName": driver_id})
    renamed = driveri.put("/drivers/B", json={"driverId": "B2", "phone": "1"}).json()["data"]
    assert (renamed["driverId"], renamed["firstName"], renamed["phone"]) == ("B2", "B", "1")
    ids = [d["driverId"] for d in driveri.get("/drivers").json()["data"]["drivers"]]
    assert ids == ["A", "B2", "C"]
    assert_error(driveri.get("/driver", params={"driverId": "B"}), 404, "NOT_FOUND")
    assert_error(driveri.put("/drivers/A", json={"driverId": "C"}), 409, "CONFLICT")
    assert driveri.get("/driver", params={"driverId": "A"}).json()["data"]["firstName"] == "A"


def test_deactivate_delete_mode_and_seed_defaults(driveri: httpx.Client, control) -> None:
    seeded = control.post(
        "/driveri/seed",
        json={"drivers": [{"firstName": "X"}], "settings": {"delete_mode": "deactivate"}},
    ).json()
    driver_id = seeded["drivers"][0]["driverId"]
    assert driver_id == "DRV-0001" and seeded["drivers"][0]["status"] == 1
    assert driveri.delete(f"/drivers/{driver_id}").json()["data"]["status"] == 0
    assert control.get("/driveri/state").json()["drivers"][0]["status"] == 0
    bad = control.post("/driveri/seed", json={"settings": {"delete_mode": "soft"}})
    assert bad.status_code == 400
    control.post("/reset")
    assert control.get("/driveri/state").json()["settings"] == {"delete_mode": "hard"}


def test_rate_limit_10_a_second(driveri: httpx.Client, control) -> None:
    assert control.get("/driveri/rate-limit").json()["limit"] == 10
    statuses = [driveri.get("/drivers").status_code for _ in range(11)]
    assert statuses.count(200) in (9, 10) and statuses[-1] == 429  # the token call counts too
    response = driveri.get("/drivers")
    assert_error(response, 429, "TOO_MANY_REQUESTS")
    assert response.headers["Retry-After"] == "1"


def test_faults_use_the_envelope(driveri: httpx.Client, control) -> None:
    control.post("/driveri/faults", json={"status_429": 1.0})
    response = driveri.get("/drivers")
    assert_error(response, 429, "TOO_MANY_REQUESTS")
    assert "Retry-After" in response.headers


def test_request_log_holds_no_credential(app: Flask, make_client, driveri, control) -> None:
    token = driveri.headers["Authorization"].removeprefix("Bearer ")
    driveri.post("/drivers", json={"driverId": "D1", "firstName": "A"})
    with make_client(app, "/driveri") as c:
        c.post("/v1/auth/token", auth=(CLIENT[0], "wrong-secret"))
        c.post("/v1/auth/token", json={"client_secret": CLIENT[1]})
    log = control.get("/driveri/requests").json()["requests"]
    assert len(log) == 4
    text = json.dumps(log)
    basic = base64.b64encode(f"{CLIENT[0]}:{CLIENT[1]}".encode()).decode()
    for secret in (CLIENT[1], token, basic, "wrong-secret"):
        assert secret not in text


def test_time_factor_shortens_the_window(make_app, make_client) -> None:
    app = make_app(time_factor=5)  # one second becomes 200 ms
    headers = {"Authorization": f"Bearer {get_token(app, make_client)}"}
    with make_client(app, f"/driveri{TENANT}", headers=headers) as c:
        statuses = [c.get("/drivers").status_code for _ in range(10)]
        assert statuses[-1] == 429 or c.get("/drivers").status_code == 429
        time.sleep(0.21)
        assert c.get("/drivers").status_code == 200
