"""Keycafe sandbox: auth, key/user search and paging, accesses, notifications, rate limit."""

from __future__ import annotations

import re
import time

import httpx
import pytest

KEYS = [
    {"name": f"Van {i:03d}" if i % 2 else f"Truck {i:03d}", "serialNumber": f"SN{i:03d}"}
    for i in range(120)
]
USERS = [
    {"email": "Ada@Example.com", "mobile": "+1 (415) 555-0100", "firstName": "Ada"},
    {"email": "bob@example.com", "mobile": "4155550101", "firstName": "Bob"},
]
ACCESS = {
    "accessStartDate": "2030-05-01",
    "accessStartTime": "08:00",
    "accessEndDate": "2030-05-03",
    "accessEndTime": "18:00",
    "timeZone": "America/New_York",
    "name": "Fleetio assignment 42",
}


@pytest.fixture
def seeded(control: httpx.Client) -> dict:
    """120 keys (60 vans) and 2 users."""
    return control.post("/keycafe/seed", json={"keys": KEYS, "users": USERS}).json()


def links(response: httpx.Response) -> dict[str, str]:
    return {
        rel: url
        for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("Link", ""))
    }


def assert_keycafe_error(response: httpx.Response, status: int, error_id: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["errorId"] == error_id and body["error"]["errorMessage"]
    assert isinstance(body["fieldErrors"], list)
    return body


# ----- auth ---------------------------------------------------------------------------------------
def test_auth_uses_email_slash_token(app, make_client, seeded) -> None:
    with make_client(
        app, "/keycafe/v0", auth=("OPS@sandbox.example/token", "sandbox-keycafe-token")
    ) as c:
        assert c.get("/key").status_code == 200
    for auth in (
        ("ops@sandbox.example", "sandbox-keycafe-token"),
        ("ops@sandbox.example/token", "x"),
        None,
    ):
        with make_client(app, "/keycafe/v0", auth=auth) as c:
            assert_keycafe_error(c.get("/key"), 401, "UNAUTHORIZED")


# ----- keys and users -----------------------------------------------------------------------------
def test_key_search_pages_by_50_with_link_header(keycafe: httpx.Client, seeded) -> None:
    names, url, pages = [], "/key?query=VAN", []
    while url:
        response = keycafe.get(url)
        pages.append((len(response.json()), sorted(links(response))))
        names += [k["name"] for k in response.json()]
        url = links(response).get("next")
    assert pages == [(50, ["next"]), (10, ["prev"])]
    assert len(set(names)) == 60 and all(n.startswith("Van") for n in names)
    everything = keycafe.get("/key", params={"page": 2})
    assert sorted(links(everything)) == ["next", "prev"]
    assert everything.headers["X-Total-Count"] == "120"
    assert_keycafe_error(keycafe.get("/key", params={"page": 0}), 400, "BAD_REQUEST")


def test_key_fields_and_404(keycafe: httpx.Client, control, seeded) -> None:
    location = {"id": 7, "name": "Depot", "address": "1 Main St"}
    key = control.post(
        "/keycafe/seed", json={"keys": [{"name": "Sprinter", "keycafeLocation": location}]}
    ).json()["keys"][0]
    got = keycafe.get(f"/key/{key['id']}").json()
    assert {"id", "name", "serialNumber", "status", "keycafeLocation"} <= set(got)
    assert got["keycafeLocation"] == location
    assert_keycafe_error(keycafe.get("/key/999999"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("ada@example.COM", ["Ada"]),
        ("ada@example", []),
        ("415-555-0100", ["Ada"]),
        ("+14155550101", ["Bob"]),
    ],
)
def test_user_query_by_email_or_phone(keycafe: httpx.Client, seeded, query, names) -> None:
    found = keycafe.get("/user", params={"query": query}).json()
    assert [u["firstName"] for u in found] == names


# ----- accesses -----------------------------------------------------------------------------------
def test_create_access_and_notification(keycafe: httpx.Client, control, seeded) -> None:
    key, user = seeded["keys"][1], seeded["users"][0]
    body = ACCESS | {"user": {"email": "ada@example.com"}, "key": {"id": key["id"]}}
    access = keycafe.post("/access", json=body).json()
    assert re.fullmatch(r"\d{6}", access["bookingCode"])
    assert access["checkinLink"].startswith("https://keycafe.com/c/")
    assert access["status"] == "ACTIVE" and access["name"] == "Fleetio assignment 42"
    assert access["key"]["id"] == key["id"] and access["user"]["id"] == user["id"]
    assert access["accessStartTime"] == "08:00" and access["timeZone"] == "America/New_York"
    assert keycafe.get(f"/access/{access['id']}").json() == access

    notifications = control.get("/keycafe/state").json()["notifications"]
    assert len(notifications) == 1
    assert notifications[0]["message"] == "notification sent to Ada@Example.com"
    assert notifications[0]["accessId"] == access["id"]


def test_suppressed_notifications_and_guest_users(keycafe: httpx.Client, control, seeded) -> None:
    body = ACCESS | {
        "user": {"email": "new.driver@example.com"},
        "key": {"serialNumber": "SN007"},
        "suppressGuestNotifications": True,
    }
    access = keycafe.post("/access", json=body).json()
    assert access["key"]["serialNumber"] == "SN007"
    assert access["user"]["email"] == "new.driver@example.com"
    state = control.get("/keycafe/state").json()
    assert state["notifications"] == [] and len(state["users"]) == 3


def test_invalid_access_lists_field_errors(keycafe: httpx.Client, seeded) -> None:
    body = {"user": {}, "key": {"id": 999999}, "accessStartDate": "05/01/2030", "timeZone": "Mars"}
    error = assert_keycafe_error(keycafe.post("/access", json=body), 400, "BAD_REQUEST")
    fields = {e["field"] for e in error["fieldErrors"]}
    assert {"user", "key", "accessStartDate", "accessEndDate", "timeZone"} <= fields
    backwards = ACCESS | {"accessEndDate": "2030-04-01", "user": {"id": seeded["users"][0]["id"]}}
    backwards["key"] = {"id": seeded["keys"][0]["id"]}
    error = assert_keycafe_error(keycafe.post("/access", json=backwards), 400, "BAD_REQUEST")
    assert [e["field"] for e in error["fieldErrors"]] == ["accessEndDate"]


def test_update_cancel_and_list_accesses(keycafe: httpx.Client, control, seeded) -> None:
    body = ACCESS | {"user": {"mobile": "4155550101"}, "key": {"id": seeded["keys"][0]["id"]}}
    access = keycafe.post("/access", json=body).json()
    path = f"/access/{access['id']}"
    changed = keycafe.put(path, json={"accessEndDate": "2030-05-04", "name": "renamed"}).json()
    assert (changed["accessEndDate"], changed["name"]) == ("2030-05-04", "renamed")
    assert changed["bookingCode"] == access["bookingCode"]
    error = assert_keycafe_error(keycafe.put(path, json={"key": {"id": 1}}), 400, "BAD_REQUEST")
    assert error["fieldErrors"] == [{"field": "key", "message": "cannot be changed"}]

    assert keycafe.delete(path).json()["status"] == "CANCELLED"
    assert keycafe.get(path).json()["status"] == "CANCELLED"
    assert_keycafe_error(keycafe.delete(path), 409, "CONFLICT")
    assert_keycafe_error(keycafe.put(path, json={"name": "x"}), 409, "CONFLICT")
    assert [a["id"] for a in keycafe.get("/access").json()] == [access["id"]]
    kinds = [n["type"] for n in control.get("/keycafe/state").json()["notifications"]]
    assert kinds == ["ACCESS_CREATED", "ACCESS_UPDATED", "ACCESS_CANCELLED"]


# ----- rate limit and faults ----------------------------------------------------------------------
def test_rate_limit_blocks_the_account(make_app, make_client) -> None:
    """Over the limit, the account is blocked for one minute from the refused request, even
    once the window of its earlier requests has moved on. Margins of 0.4 s or more either side
    of each boundary, so a busy machine does not change the outcome."""
    app = make_app(time_factor=30)  # one minute (the window and the block) becomes 2 s
    auth = ("ops@sandbox.example/token", "sandbox-keycafe-token")
    with make_client(app, "/_sandbox") as control, make_client(app, "/keycafe/v0", auth=auth) as c:
        control.post("/keycafe/rate-limit", json={"limit": 3})
        started = time.monotonic()
        assert [c.get("/key").status_code for _ in range(3)] == [200, 200, 200]
        time.sleep(max(0.0, 1.2 - (time.monotonic() - started)))
        refused = c.get("/key")  # about 1.2 s in: the window still holds three
        assert_keycafe_error(refused, 429, "TOO_MANY_REQUESTS")
        assert refused.headers["Retry-After"] == "2"
        time.sleep(1.2)  # about 2.4 s in: the first three left the window, the block has not
        assert c.get("/key").status_code == 429
        time.sleep(1.2)  # about 3.6 s in: past the block (about 3.2 s)
        assert c.get("/key").status_code == 200


def test_default_rate_limit_is_60_a_minute(keycafe: httpx.Client) -> None:
    statuses = [keycafe.get("/key").status_code for _ in range(61)]
    assert statuses.count(200) == 60 and statuses[-1] == 429


def test_timeout_fault_holds_then_504(keycafe: httpx.Client, control) -> None:
    control.post("/keycafe/faults", json={"timeout": 1.0, "timeout_ms": 50})
    started = time.monotonic()
    response = keycafe.get("/key")
    assert time.monotonic() - started >= 0.05
    assert_keycafe_error(response, 504, "GATEWAY_TIMEOUT")


def test_access_listing_has_no_filter_keycafe_does_not_document(app, make_client) -> None:
    """keycafe.md documents no filter on accesses: `?status=` is not one (issue 15 item 12)."""
    import httpx as _httpx

    sandbox = app.extensions["fleetbridge_sandboxes"]["keycafe"]
    sandbox.seed(
        {
            "keys": [{"id": 1, "name": "K"}],
            "users": [{"id": 2, "email": "a@b.co"}],
            "accesses": [
                {
                    "key": {"id": 1},
                    "user": {"id": 2},
                    "accessStartDate": "2025-01-01",
                    "accessEndDate": "2025-01-02",
                    "status": status,
                }
                for status in ("ACTIVE", "CANCELLED")
            ],
        }
    )
    auth = _httpx.BasicAuth("ops@sandbox.example/token", "sandbox-keycafe-token")
    with make_client(app, "/keycafe/v0") as c:
        listed = c.get("/access", params={"status": "ACTIVE"}, auth=auth).json()
    assert [a["status"] for a in listed] == ["ACTIVE", "CANCELLED"]  # oldest first, unfiltered
