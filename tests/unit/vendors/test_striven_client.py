"""StrivenClient against the Striven sandbox, in-process: tokens, streamed task pages, lenient
models, employees, teams adapter, minute 429 retries and the day quota."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from flask import Flask

from fleetbridge.core.config import get_settings
from fleetbridge.core.errors import AuthError, RateLimited
from fleetbridge.core.models import Connection
from fleetbridge.flows.striven_onfleet.context import striven_client
from fleetbridge.flows.striven_onfleet.team_source import (
    EndpointTeamSource,
    StaticTeamSource,
    team_members,
    team_source,
)
from fleetbridge.vendors.striven import QuotaExhausted, StrivenClient, is_day_quota
from fleetbridge.vendors.striven_models import StrivenEmployee, StrivenTask, StrivenTeam
from local.sandboxes.app import create_app

BASE = "http://sandbox/striven"
CLIENT_ID, SECRET = "sandbox-striven-client", "sandbox-striven-secret"


@pytest.fixture
def app() -> Flask:
    return create_app(time_factor=1.0, webhook_sender=lambda *_: None)


@pytest.fixture
def control(app: Flask) -> Iterator[httpx.Client]:
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://sandbox/_sandbox/striven") as c:
        c.post("/seed", json={"settings": {"per_minute": 100_000}}).raise_for_status()
        yield c


def make(app: Flask, **overrides: Any) -> StrivenClient:
    options: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "time_zone": "America/Chicago",
        "transport": httpx.WSGITransport(app=app),
        "sleep": lambda _: None,
        "max_retries": 2,
    }
    return StrivenClient(BASE, **(options | overrides))


@pytest.fixture
def striven(app: Flask, control: httpx.Client) -> Iterator[StrivenClient]:
    with make(app) as client:
        yield client


def seed(control: httpx.Client, **resources: Any) -> dict[str, Any]:
    response = control.post("/seed", json=resources)
    response.raise_for_status()
    return dict(response.json())


def paths(control: httpx.Client) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in control.get("/requests").json()["requests"]]


def test_token_is_cached_and_refreshed_once_on_401(
    app: Flask, striven: StrivenClient, control: httpx.Client
) -> None:
    seed(control, tasks=[{"id": 1, "title": "A"}])
    assert striven.get_task(1) is not None
    assert striven.task_types() == []
    app.extensions["fleetbridge_sandboxes"]["striven"].tokens.expire_all()
    task = striven.get_task(1)
    assert task is not None and task.title == "A"
    assert paths(control).count("POST /striven/accesstoken") == 2
    token_call = control.get("/requests").json()["requests"][0]
    assert token_call["headers"]["Authorization"] == "[redacted]"


def test_wrong_secret_raises_auth_error(app: Flask, control: httpx.Client) -> None:
    with make(app, client_secret="nope") as client, pytest.raises(AuthError) as error:
        client.check()
    assert error.value.status_code == 401 and error.value.vendor_code == "Unauthorized"


def test_iter_tasks_streams_pages_with_the_filters(
    striven: StrivenClient, control: httpx.Client
) -> None:
    seed(
        control,
        task_types=[{"id": 1, "name": "Service"}, {"id": 2, "name": "Install"}],
        tasks=[{"id": i, "type": 1 if i % 3 else 2} for i in range(1, 26)],
    )
    tasks = striven.iter_tasks(type_ids=[1], page_size=5)
    assert not isinstance(tasks, list)
    listed = list(tasks)
    assert [t.id for t in listed] == [i for i in range(1, 26) if i % 3]
    searches = control.get("/requests").json()["requests"][1:]
    assert [s["body"]["PageIndex"] for s in searches] == [0, 1, 2, 3]
    assert searches[0]["body"] == {"TypeIDs": [1], "PageIndex": 0, "PageSize": 5}
    assert list(striven.iter_tasks(type_ids=[9])) == []


def test_iter_tasks_sends_local_date_ranges(striven: StrivenClient, control: httpx.Client) -> None:
    seed(control, tasks=[{"id": 1, "lastUpdatedDate": "2024-05-01T09:00:00"}])
    seed(control, tasks=[{"id": 2, "lastUpdatedDate": "2024-05-01T12:00:00"}])
    # 14:30 UTC is 09:30 in Chicago (CDT): only task 1 is before it
    since = datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    upto = datetime(2024, 5, 1, 14, 30, tzinfo=UTC)
    assert [t.id for t in striven.iter_tasks(since, upto)] == [1]
    body = control.get("/requests").json()["requests"][-1]["body"]
    assert body["LastUpdatedDateRange"] == {
        "DateFrom": "2024-05-01T08:00:00.000",
        "DateTo": "2024-05-01T09:30:00.000",
    }
    naive = list(striven.iter_tasks("2024-05-01T10:00:00", created_from="2000-01-01T00:00:00"))
    assert [t.id for t in naive] == [2]


def test_tasks_parse_into_lenient_models(striven: StrivenClient, control: httpx.Client) -> None:
    seed(
        control,
        task_types=[{"id": 1, "name": "Service"}],
        employees=[{"id": 7, "firstName": "Ann", "lastName": "Lee"}],
        tasks=[
            {
                "id": 10,
                "title": " Fix ",
                "type": 1,
                "assignedTo": [7],
                "customer": {"id": 9, "name": "Acme", "phone": "555-010-1234"},
                "startDate": "2024-05-01T09:00:00",
                "dueDate": "",
                "location": {
                    "name": "HQ",
                    "address": {"address1": "1 Main St", "city": "Springfield", "zip": "62701"},
                    "latitude": 0,
                },
            }
        ],
    )
    task = striven.get_task(10)
    assert task is not None
    assert (task.title, task.type and task.type.name, task.status and task.status.name) == (
        "Fix",
        "Service",
        "Open",
    )
    assert [(a.id, a.name) for a in task.assigned_to] == [(7, "Ann Lee")]
    assert task.customer is not None and task.customer.phone == "555-010-1234"
    assert task.start_date == datetime(2024, 5, 1, 9) and task.due_date is None
    assert task.location is not None and task.location.coordinates is None
    assert task.location.address is not None and task.location.address.postal_code == "62701"
    assert striven.get_task(404) is None


def test_assignments_spelling_and_odd_shapes_parse(
    striven: StrivenClient, control: httpx.Client
) -> None:
    seed(control, settings={"assignee_field": "assignments"}, tasks=[{"id": 1, "assignedTo": [5]}])
    task = striven.get_task(1)
    assert task is not None and [a.id for a in task.assigned_to] == [5]
    odd = StrivenTask.model_validate(
        {
            "id": "3",
            "title": None,
            "assignments": [{"employee": {"id": 4, "name": "Bo"}}, 6, {"employeeId": 8}],
            "status": "Open",
            "customer": {},
            "location": {"latitude": "41.9", "longitude": "-87.6", "address": None},
            "startDate": "not a date",
            "dateCreated": "2024-05-01T09:00:00Z",
            "unknown": {"ignored": True},
        }
    )
    assert [a.id for a in odd.assigned_to] == [4, 6, 8] and odd.title == ""
    assert odd.status is not None and odd.status.name == "Open" and odd.customer is None
    assert odd.location is not None and odd.location.coordinates == (-87.6, 41.9)
    assert odd.start_date is None and odd.date_created == datetime(2024, 5, 1, 9, tzinfo=UTC)
    single = StrivenTask.model_validate({"id": 4, "assignedTo": {"id": 2}})
    assert [a.id for a in single.assigned_to] == [2]


def test_employees_are_paged_and_parsed(striven: StrivenClient, control: httpx.Client) -> None:
    employees = [
        {"id": i, "firstName": f"F{i}", "phones": [{"phoneType": "Mobile", "number": f"{i}"}]}
        for i in range(1, 8)
    ]
    seed(control, employees=employees)
    listed = list(striven.iter_employees(page_size=3))
    assert [e.id for e in listed] == list(range(1, 8))
    assert paths(control).count("GET /striven/v1/employees") == 3
    ann = striven.get_employee(1)
    assert ann is not None and ann.phones[0].phone_type is not None
    assert (ann.display_name, ann.phones[0].phone_type.name, ann.phones[0].number) == (
        "F1",
        "Mobile",
        "1",
    )
    assert striven.get_employee(99) is None
    bare = StrivenEmployee.model_validate(
        {"id": 2, "phones": [{"phoneType": "Work", "number": "1"}], "active": None}
    )
    assert bare.display_name == "Employee 2" and bare.active
    assert bare.phones[0].phone_type is not None and bare.phones[0].phone_type.name == "Work"


def test_task_types_and_team_sources(striven: StrivenClient, control: httpx.Client) -> None:
    seed(
        control,
        task_types=[{"id": 1, "name": "Service"}],
        teams=[{"id": 3, "name": "North", "memberIds": [7, 8]}],
    )
    assert [(t.id, t.name) for t in striven.task_types()] == [(1, "Service")]
    endpoint = team_source(striven)
    assert isinstance(endpoint, EndpointTeamSource)
    assert endpoint.teams() == [StrivenTeam(id=3, name="North", member_ids=[7, 8])]
    configured = team_source(striven, [{"id": 4, "name": "South", "members": [{"id": 9}]}])
    assert isinstance(configured, StaticTeamSource)
    assert team_members(configured) == {4: {9}}
    assert team_members(endpoint) == {3: {7, 8}}


def test_minute_429_is_retried_then_raised_as_rate_limited(
    app: Flask, control: httpx.Client
) -> None:
    sleeps: list[float] = []
    with make(app, sleep=sleeps.append) as striven:
        striven.check()
        control.post("/faults", json={"status_429": 1.0})
        with pytest.raises(RateLimited) as error:
            striven.task_types()
    assert not isinstance(error.value, QuotaExhausted)
    assert error.value.vendor_code == "RateLimitExceeded" and sleeps == [60.0, 60.0]


def test_day_quota_raises_quota_exhausted_without_retrying(
    app: Flask, control: httpx.Client
) -> None:
    seed(control, settings={"per_day": 3})
    sleeps: list[float] = []
    with make(app, sleep=sleeps.append) as striven:
        striven.task_types()  # token + 1 call
        striven.task_types()
        with pytest.raises(QuotaExhausted) as error:
            striven.task_types()
    assert isinstance(error.value, RateLimited) and not error.value.retryable
    assert error.value.vendor_code == "DailyQuotaExceeded" and error.value.status_code == 429
    assert error.value.retry_after is not None and error.value.retry_after > 3600
    assert sleeps == []
    assert paths(control)[-1] == "GET /striven/v1/task-types" and len(paths(control)) == 4


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (429, {}, {"code": "DailyQuotaExceeded", "message": "x"}, True),
        (429, {"X-RateLimit-Scope": "day"}, {"message": "Too many"}, True),
        (429, {}, {"Message": "Daily limit reached"}, True),  # ASP.NET spelling
        (429, {}, {"message": "API calls quota exceeded for the day"}, True),
        (429, {}, {"code": "RateLimitExceeded", "message": "per minute"}, False),
        (429, {"X-RateLimit-Scope": "minute"}, {"message": "slow down"}, False),
        (503, {"X-RateLimit-Scope": "day"}, {}, False),
    ],
)
def test_is_day_quota(status: int, headers: dict[str, str], body: Any, expected: bool) -> None:
    assert is_day_quota(httpx.Response(status, headers=headers, json=body)) is expected


def test_text_body_quota_detection() -> None:
    assert is_day_quota(httpx.Response(429, text="Daily quota exceeded"))
    assert not is_day_quota(httpx.Response(429, text="Too many requests"))


def test_the_flow_s_client_reads_settings(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # vendor URLs are deployment configuration (a connection may only pick an allowed host)
    monkeypatch.setenv("FLEETBRIDGE_VENDOR_URLS", '{"striven": "http://striven.test"}')
    get_settings.cache_clear()
    connection = Connection(
        id="con_1",
        tenant_id="ten_1",
        flow="striven-onfleet",
        name="S",
        settings={
            "time_zone": "America/Denver",
            "page_size": 250,
            "striven_requests_per_minute": 500,
        },
        secret_arn="arn",
        created_at="x",
        updated_at="x",
    )
    credentials = {"striven_client_id": "id", "striven_client_secret": "secret"}
    with striven_client(connection, credentials) as client:
        assert client.page_size == 250 and str(client.zone) == "America/Denver"
        assert str(client._http.base_url) == "http://striven.test"
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="page_size"):
        make(app, page_size=1001)


def test_pages_are_read_only_as_they_are_consumed(
    striven: StrivenClient, control: httpx.Client
) -> None:
    seed(control, tasks=[{"id": i} for i in range(1, 13)])
    tasks = striven.iter_tasks(page_size=5)
    assert next(tasks).id == 1
    assert paths(control).count("POST /striven/v2/tasks/search") == 1
    assert [t.id for t in tasks][-1] == 12
    assert paths(control).count("POST /striven/v2/tasks/search") == 3
