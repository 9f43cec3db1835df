"""Striven sandbox: token auth, task search and paging, employees, teams, seeding, local dates,
minute and day quotas, error bodies and the request log."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from flask import Flask

CLIENT = ("sandbox-striven-client", "sandbox-striven-secret")
GRANT = {"grant_type": "client_credentials"}
SEED: dict[str, Any] = {
    "task_types": [{"id": 1, "name": "Service Call"}, {"id": 2, "name": "Install"}],
    "employees": [
        {
            "id": 7,
            "firstName": "Ann",
            "lastName": "Lee",
            "email": "ann@example.com",
            "phones": [{"phoneType": "Mobile", "number": "(555) 010-1234", "isPreferred": True}],
        },
        {
            "id": 8,
            "firstName": "Bo",
            "lastName": "Ray",
            "phones": [{"phoneType": 2, "number": "1"}],
        },
    ],
    "teams": [{"id": 3, "name": "North", "memberIds": [7, 8]}],
    "tasks": [
        {
            "id": 100,
            "title": "Fix boiler",
            "type": 1,
            "assignedTo": [7],
            "customer": {"id": 9, "name": "Acme"},
            "startDate": "2024-05-01T09:00:00",
            "dateCreated": "2024-04-01T08:00:00",
            "location": {
                "id": 1,
                "name": "HQ",
                "address": {"address1": "1 Main St", "city": "Springfield", "state": "IL"},
                "latitude": 39.8,
                "longitude": -89.6,
            },
        },
        {"id": 101, "title": "Install", "type": 2, "assignedTo": [8], "status": "In Progress"},
        {"id": 102, "title": "No one", "type": 1, "customer": 5, "dateCreated": "2024-06-01T00:00"},
    ],
}


def get_token(c: httpx.Client) -> str:
    response = c.post("/accesstoken", auth=CLIENT, data=GRANT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 86400
    return str(body["access_token"])


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["message"]
    return str(body["message"])


@pytest.fixture
def striven(app: Flask, make_client: Callable[..., httpx.Client]) -> Iterator[httpx.Client]:
    """A client with a Bearer token."""
    with make_client(app, "/striven") as c:
        c.headers["Authorization"] = f"Bearer {get_token(c)}"
        yield c


@pytest.fixture
def seeded(striven: httpx.Client, control: httpx.Client) -> httpx.Client:
    response = control.post("/striven/seed", json=SEED)
    assert response.status_code == 200, response.text
    return striven


def search(c: httpx.Client, **body: Any) -> dict[str, Any]:
    response = c.post("/v2/tasks/search", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def ids(result: dict[str, Any]) -> list[int]:
    return [t["id"] for t in result["data"]]


def test_token_and_401s(app: Flask, make_client) -> None:
    with make_client(app, "/striven") as c:
        token = get_token(c)
        assert_error(c.post("/accesstoken", auth=(CLIENT[0], "x"), data=GRANT), 401, "Unauthorized")
        assert_error(c.post("/accesstoken", data=GRANT), 401, "Unauthorized")
        assert_error(c.post("/accesstoken", auth=CLIENT, data={}), 400, "BadRequest")
        assert_error(c.get("/v1/task-types"), 401, "Unauthorized")
        bad = c.get("/v1/task-types", headers={"Authorization": "Bearer nope"})
        assert "unknown" in assert_error(bad, 401, "Unauthorized")
        ok = c.get("/v1/task-types", headers={"Authorization": f"Bearer {token}"})
        assert ok.json() == {"totalCount": 0, "data": []}
        app.extensions["fleetbridge_sandboxes"]["striven"].tokens.expire_all()
        expired = c.get("/v1/task-types", headers={"Authorization": f"Bearer {token}"})
        assert "expired" in assert_error(expired, 401, "Unauthorized")


def test_seeded_records_take_the_vendor_shape(seeded: httpx.Client) -> None:
    task = seeded.get("/v2/tasks/100").json()
    assert list(task)[:12] == [
        "id", "title", "description", "status", "type", "customer", "assignedTo",
        "startDate", "dueDate", "dateCreated", "lastUpdatedDate", "location",
    ]  # fmt: skip
    assert task["status"] == {"id": 1, "name": "Open"}
    assert task["type"] == {"id": 1, "name": "Service Call"}
    assert task["assignedTo"] == [{"id": 7, "name": "Ann Lee"}]
    assert task["location"]["latitude"] == 39.8 and task["dueDate"] is None
    assert seeded.get("/v2/tasks/101").json()["status"] == {"id": 2, "name": "In Progress"}
    assert seeded.get("/v2/tasks/102").json()["customer"] == {"id": 5, "name": "Customer 5"}
    employee = seeded.get("/v1/employees/7").json()
    assert employee["name"] == "Ann Lee" and employee["active"] is True
    assert employee["phones"] == [
        {
            "phoneType": {"id": 1, "name": "Mobile"},
            "number": "(555) 010-1234",
            "isPreferred": True,
            "active": True,
        }
    ]
    assert seeded.get("/v1/employees/8").json()["phones"][0]["phoneType"]["name"] == "Work"
    assert_error(seeded.get("/v2/tasks/999"), 404, "NotFound")
    assert_error(seeded.get("/v2/tasks/abc"), 404, "NotFound")
    assert_error(seeded.get("/v1/employees/999"), 404, "NotFound")


def test_search_pages_and_page_size_limit(seeded: httpx.Client, control) -> None:
    control.post("/striven/seed", json={"tasks": [{"id": 200 + i} for i in range(7)]})
    first = search(seeded, PageIndex=0, PageSize=4)
    assert first["totalCount"] == 10 and ids(first) == [100, 101, 102, 200]
    assert ids(search(seeded, PageIndex=2, PageSize=4)) == [205, 206]
    assert search(seeded, PageIndex=3, PageSize=4)["data"] == []
    assert len(search(seeded)["data"]) == 10  # default PageSize 100
    assert search(seeded, PageSize=1000)["totalCount"] == 10
    for body in ({"PageSize": 1001}, {"PageSize": 0}, {"PageIndex": -1}, {"PageSize": "x"}):
        assert_error(seeded.post("/v2/tasks/search", json=body), 400, "BadRequest")


def test_search_filters(seeded: httpx.Client) -> None:
    assert ids(search(seeded, TypeIDs=[1])) == [100, 102]
    assert ids(search(seeded, typeIds=[2])) == [101]  # keys bind case-insensitively
    assert ids(search(seeded, StatusIDs=[2])) == [101]
    assert ids(search(seeded, AssignedToIDs=[7, 8])) == [100, 101]
    assert ids(search(seeded, CustomerID=9)) == [100]
    created = {"DateFrom": "2024-04-01T00:00:00", "DateTo": "2024-05-31T23:59:59"}
    assert ids(search(seeded, DateCreatedRange=created)) == [100]
    june = {"DateFrom": "2024-06-01T00:00:00", "DateTo": "2024-06-30T00:00:00"}
    assert ids(search(seeded, DateCreatedRange=june)) == [102]
    assert ids(search(seeded, DateCreatedRange={"DateFrom": "2024-06-01T00:00:00"})) == [101, 102]
    assert ids(search(seeded, TypeIDs=[1], CustomerID=5)) == [102]
    bad = seeded.post("/v2/tasks/search", json={"LastUpdatedDateRange": {"DateFrom": "soon"}})
    assert_error(bad, 400, "BadRequest")
    assert_error(seeded.post("/v2/tasks/search", json={"TypeIDs": 1}), 400, "BadRequest")


def test_dates_are_tenant_local_without_offset(seeded: httpx.Client, control) -> None:
    control.post("/striven/seed", json={"settings": {"time_zone": "America/New_York"}})
    before = datetime.now(ZoneInfo("America/New_York")).replace(tzinfo=None)
    control.post("/striven/seed", json={"tasks": [{"id": 300, "title": "Now"}]})
    task = seeded.get("/v2/tasks/300").json()
    stamp = datetime.fromisoformat(task["lastUpdatedDate"])
    assert stamp.tzinfo is None and "Z" not in task["lastUpdatedDate"]
    assert before - timedelta(seconds=1) <= stamp <= before + timedelta(seconds=5)
    assert task["dateCreated"] == task["lastUpdatedDate"]
    # a range bound with an offset is converted to tenant time first
    utc_from = (stamp - timedelta(seconds=1)).replace(tzinfo=ZoneInfo("America/New_York"))
    window = {"DateFrom": utc_from.astimezone(ZoneInfo("UTC")).isoformat()}
    assert ids(search(seeded, LastUpdatedDateRange=window)) == [300]


def test_seeding_an_existing_task_changes_it_and_moves_last_updated(
    seeded: httpx.Client, control
) -> None:
    before = seeded.get("/v2/tasks/100").json()
    cancel = control.post("/striven/seed", json={"tasks": [{"id": 100, "status": "Canceled"}]})
    after = cancel.json()["tasks"][0]
    assert after["status"] == {"id": 5, "name": "Canceled"}
    assert after["title"] == before["title"] and after["assignedTo"] == before["assignedTo"]
    assert after["dateCreated"] == before["dateCreated"]
    assert after["lastUpdatedDate"] > before["lastUpdatedDate"]
    window = {"DateFrom": after["lastUpdatedDate"], "DateTo": after["lastUpdatedDate"]}
    assert ids(search(seeded, LastUpdatedDateRange=window)) == [100]  # both ends inclusive
    given = {"id": 101, "assignments": [7], "lastUpdatedDate": "2024-01-02T03:04:05"}
    changed = control.post("/striven/seed", json={"tasks": [given]}).json()["tasks"][0]
    assert changed["lastUpdatedDate"] == "2024-01-02T03:04:05"
    assert changed["assignedTo"] == [{"id": 7, "name": "Ann Lee"}]
    renamed = control.post("/striven/seed", json={"employees": [{"id": 7, "firstName": "Anna"}]})
    assert renamed.json()["employees"][0]["name"] == "Anna Lee"


def test_bad_seeds_answer_400(control) -> None:
    for payload in (
        {"tasks": [{"status": "Sleeping"}]},
        {"tasks": [{"id": "x"}]},
        {"employees": [{"phones": "555"}]},
        {"task_types": [{"id": 1}]},
        {"settings": {"plan": "gold"}},
        {"settings": {"time_zone": "Mars/Base"}},
        {"settings": {"per_day": 0}},
        {"settings": {"assignee_field": "owner"}},
    ):
        assert control.post("/striven/seed", json=payload).status_code == 400, payload


def test_assignee_spelling_is_configurable(seeded: httpx.Client, control) -> None:
    control.post("/striven/seed", json={"settings": {"assignee_field": "assignments"}})
    task = seeded.get("/v2/tasks/100").json()
    assert "assignedTo" not in task and task["assignments"] == [{"id": 7, "name": "Ann Lee"}]
    assert ids(search(seeded, AssignedToIDs=[7])) == [100]


def test_employees_pages_task_types_and_the_sandbox_only_teams(
    seeded: httpx.Client, control
) -> None:
    control.post("/striven/seed", json={"employees": [{"id": 10 + i} for i in range(3)]})
    first = seeded.get("/v1/employees", params={"PageIndex": 0, "PageSize": 2}).json()
    assert first["totalCount"] == 5 and [e["id"] for e in first["data"]] == [7, 8]
    last = seeded.get("/v1/employees", params={"pageIndex": 2, "pageSize": 2}).json()
    assert [e["id"] for e in last["data"]] == [12]
    assert_error(seeded.get("/v1/employees", params={"PageSize": 5000}), 400, "BadRequest")
    assert seeded.get("/v1/task-types").json() == {
        "totalCount": 2,
        "data": [{"id": 1, "name": "Service Call"}, {"id": 2, "name": "Install"}],
    }
    # sandbox only: Striven's public API has no teams endpoint (striven.md); the flow's default
    # team source (the connection's settings) never calls it
    assert seeded.get("/v1/teams").json() == [{"id": 3, "name": "North", "memberIds": [7, 8]}]


def test_minute_quota_429_with_retry_after_60(seeded: httpx.Client, control) -> None:
    assert control.get("/striven/rate-limit").json()["limit"] == 100
    control.post("/striven/seed", json={"settings": {"per_minute": 3}})
    assert control.get("/striven/rate-limit").json()["limit"] == 3
    statuses = [seeded.get("/v1/task-types").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = seeded.get("/v1/task-types")
    assert "per minute" in assert_error(response, 429, "RateLimitExceeded")
    assert response.headers["Retry-After"] == "60"
    assert response.headers["X-RateLimit-Scope"] == "minute"


def test_day_quota_is_exhaustible_and_distinguishable(seeded: httpx.Client, control) -> None:
    control.post("/striven/seed", json={"settings": {"per_day": 3, "per_minute": 1000}})
    assert control.get("/striven/state").json()["quota"]["day_remaining"] == 3
    assert [seeded.get("/v1/teams").status_code for _ in range(3)] == [200] * 3
    response = seeded.get("/v1/teams")
    assert "Daily" in assert_error(response, 429, "DailyQuotaExceeded")
    assert response.headers["X-RateLimit-Scope"] == "day"
    assert int(response.headers["Retry-After"]) > 60 * 60  # most of a day away
    state = control.get("/striven/state").json()
    assert state["quota"]["day_remaining"] == 0 and state["settings"]["per_day"] == 3
    # the day error wins even when the minute is full as well
    control.post("/striven/rate-limit", json={"limit": 1})
    assert_error(seeded.get("/v1/teams"), 429, "DailyQuotaExceeded")


def test_plans_set_both_quotas(control) -> None:
    settings = control.post("/striven/seed", json={"settings": {"plan": "enterprise"}}).json()
    expected = {"plan": "enterprise", "per_minute": 500, "per_day": 25000}
    assert expected.items() <= settings["settings"].items()
    custom = {"plan": "standard", "per_day": 42}
    settings = control.post("/striven/seed", json={"settings": custom}).json()["settings"]
    assert (settings["per_minute"], settings["per_day"]) == (100, 42)
    control.post("/striven/reset")
    assert control.get("/striven/state").json()["settings"]["per_day"] == 5000


def test_time_factor_scales_the_minute_window_and_retry_after(make_app, make_client) -> None:
    app = make_app(time_factor=120)  # one minute becomes 0.5 s
    with make_client(app, "/striven") as c, make_client(app, "/_sandbox") as control:
        control.post("/striven/seed", json={"settings": {"per_minute": 3}})
        c.headers["Authorization"] = f"Bearer {get_token(c)}"
        statuses = [c.get("/v1/teams").status_code for _ in range(3)]
        assert statuses[-1] == 429
        assert c.get("/v1/teams").headers["Retry-After"] == "1"
        time.sleep(0.51)
        assert c.get("/v1/teams").status_code == 200


def test_faults_use_the_error_body(seeded: httpx.Client, control) -> None:
    control.post("/striven/faults", json={"status_429": 1.0})
    response = seeded.get("/v1/teams")
    assert_error(response, 429, "RateLimitExceeded")
    assert response.headers["Retry-After"] == "60"
    control.post("/striven/faults", json={"status_5xx": 1.0})
    assert_error(seeded.get("/v1/teams"), 503, "ServiceUnavailable")


def test_request_log_holds_no_credential(app: Flask, make_client, striven, control) -> None:
    token = striven.headers["Authorization"].removeprefix("Bearer ")
    striven.post("/v2/tasks/search", json={"PageSize": 1})
    with make_client(app, "/striven") as c:
        c.post("/accesstoken", auth=(CLIENT[0], "wrong-secret"), data=GRANT)
    log = control.get("/striven/requests").json()["requests"]
    paths = [e["path"].removeprefix("/striven") for e in log]
    assert paths == ["/accesstoken", "/v2/tasks/search", "/accesstoken"]
    text = json.dumps(log)
    basic = base64.b64encode(f"{CLIENT[0]}:{CLIENT[1]}".encode()).decode()
    for secret in (CLIENT[1], token, basic, "wrong-secret"):
        assert secret not in text
