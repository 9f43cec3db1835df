"""OnfleetClient against the Onfleet sandbox, in-process: auth, tasks, lastId paging, workers,
teams, containers, typed errors and the organization rate limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask

from fleetbridge.core.config import get_settings
from fleetbridge.core.errors import (
    AuthError,
    RateLimited,
    VendorConflict,
    VendorValidationError,
)
from fleetbridge.core.models import Connection
from fleetbridge.vendors.onfleet import COMPLETED, OnfleetClient, OnfleetTask
from local.sandboxes.app import create_app

BASE = "http://sandbox/onfleet/api/v2"
KEY = "sandbox-onfleet-key"
DESTINATION = {"address": {"unparsed": "1 Main St, Springfield, IL"}, "location": [-89.6, 39.8]}


@pytest.fixture
def app() -> Flask:
    return create_app(time_factor=1.0, webhook_sender=lambda *_: None)


@pytest.fixture
def control(app: Flask) -> Iterator[httpx.Client]:
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://sandbox/_sandbox/onfleet") as c:
        c.post("/rate-limit", json={"limit": 100_000, "window_seconds": 1}).raise_for_status()
        yield c


def make(app: Flask, **overrides: Any) -> OnfleetClient:
    options: dict[str, Any] = {
        "api_key": KEY,
        "transport": httpx.WSGITransport(app=app),
        "sleep": lambda _: None,
        "max_retries": 1,
    }
    return OnfleetClient(BASE, **(options | overrides))


@pytest.fixture
def onfleet(app: Flask, control: httpx.Client) -> Iterator[OnfleetClient]:
    with make(app) as client:
        yield client


@pytest.fixture
def team(onfleet: OnfleetClient) -> str:
    return onfleet.create_team("North").id


def test_auth_test_and_invalid_key(app: Flask, onfleet: OnfleetClient) -> None:
    assert "authenticated" in onfleet.auth_test()["message"]
    with make(app, api_key="wrong") as client, pytest.raises(AuthError) as error:
        client.auth_test()
    assert error.value.status_code == 401 and error.value.vendor_code == "InvalidCredentials"
    assert error.value.request_id  # from the body's message.request


def test_task_create_get_update_delete(onfleet: OnfleetClient, team: str) -> None:
    worker = onfleet.create_worker({"name": "Ann Lee", "phone": "+15550101234", "teams": [team]})
    meta = [{"name": "strivenTaskId", "type": "number", "value": 10, "visibility": ["api"]}]
    created = onfleet.create_task(
        {
            "destination": DESTINATION,
            "recipients": [{"name": "Acme", "phone": "+15550109999"}],
            "notes": "Fix boiler",
            "completeAfter": 1_700_000_000_000,
            "completeBefore": 1_700_003_600_000,
            "metadata": meta,
            "container": {"type": "WORKER", "worker": worker.id},
        }
    )
    assert created.short_id and created.tracking_url and created.worker == worker.id
    assert created.state == 1 and created.meta("strivenTaskId") == 10
    assert created.destination is not None and created.destination.location == [-89.6, 39.8]
    fetched = onfleet.get_task(created.id)
    assert fetched is not None and fetched.recipients[0].name == "Acme"
    updated = onfleet.update_task(created.id, {"notes": "Fix boiler now"})
    assert updated.notes == "Fix boiler now" and updated.complete_after == 1_700_000_000_000
    onfleet.delete_task(created.id)
    assert onfleet.get_task(created.id) is None


def test_reassign_and_completed_task_errors(onfleet: OnfleetClient, team: str, app: Flask) -> None:
    ann = onfleet.create_worker({"name": "Ann", "phone": "+15550100001", "teams": [team]})
    bo = onfleet.create_worker({"name": "Bo", "phone": "+15550100002", "teams": [team]})
    task = onfleet.create_task(
        {"destination": DESTINATION, "container": {"type": "WORKER", "worker": ann.id}}
    )
    moved = onfleet.update_task(task.id, {"container": {"type": "WORKER", "worker": bo.id}})
    assert moved.worker == bo.id
    assert onfleet.get_worker_container(ann.id).tasks == []
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url=BASE) as raw:
        raw.post(
            f"/tasks/{task.id}/complete",
            auth=(KEY, ""),
            json={"completionDetails": {"success": True}},
        ).raise_for_status()
    done = onfleet.get_task(task.id)
    assert done is not None and done.completed and done.state == COMPLETED
    with pytest.raises(VendorValidationError) as error:
        onfleet.delete_task(task.id)
    assert "cannot be deleted" in error.value.message and error.value.vendor_code == (
        "InvalidArgument"
    )


def test_validation_error_carries_the_cause(onfleet: OnfleetClient) -> None:
    with pytest.raises(VendorValidationError) as error:
        onfleet.create_task({"destination": DESTINATION, "completeAfter": 2, "completeBefore": 1})
    assert error.value.message == "Invalid time constraints specified (completeAfter)"
    with pytest.raises(VendorValidationError) as error:
        onfleet.create_task({"notes": "no destination"})
    assert error.value.message == "destination is required"  # the cause adds nothing


def test_iter_tasks_all_pages_by_last_id(onfleet: OnfleetClient, control: httpx.Client) -> None:
    tasks = [{"destination": DESTINATION, "notes": f"t{i}"} for i in range(150)]
    control.post("/seed", json={"tasks": tasks}).raise_for_status()
    listed = onfleet.iter_tasks_all({"from": 0, "state": [0, 1]})
    assert not isinstance(listed, list)
    notes = [t.notes for t in listed]
    assert notes == [f"t{i}" for i in range(150)]
    log = control.get("/requests").json()["requests"]
    queries = [e["query"] for e in log if e["path"].endswith("/tasks/all")]
    assert len(queries) == 3 and queries[0] == {"from": "0", "state": "0,1"}
    assert queries[1]["lastId"] and queries[2]["lastId"] != queries[1]["lastId"]
    capped = list(onfleet.iter_tasks_all({"from": 0}, page_limit=2))
    assert len(capped) == 128
    assert list(onfleet.iter_tasks_all({"from": 10**13})) == []


def test_workers_create_list_get_update_and_phone_conflict(
    onfleet: OnfleetClient, team: str
) -> None:
    other = onfleet.create_team("South").id
    ann = onfleet.create_worker({"name": "Ann Lee", "phone": "(555) 010-1234", "teams": [team]})
    assert ann.phone == "+15550101234" and ann.teams == [team]
    bo = onfleet.create_worker({"name": "Bo", "phone": "+15550100002", "teams": [other]})
    with pytest.raises(VendorConflict) as error:
        onfleet.create_worker({"name": "Dup", "phone": "+15550101234", "teams": [team]})
    assert error.value.status_code == 409 and "+15550101234" in error.value.message
    by_phone = onfleet.list_workers(phones=["+15550101234"])
    assert [w.id for w in by_phone] == [ann.id]
    assert [w.id for w in onfleet.list_workers(teams=[other])] == [bo.id]
    slim = onfleet.list_workers(filter=["name", "phone"])
    assert {(w.id, w.name) for w in slim} == {(ann.id, "Ann Lee"), (bo.id, "Bo")}
    assert slim[0].teams == []  # filtered out
    assert len(onfleet.list_workers(states=[0])) == 2
    renamed = onfleet.update_worker(ann.id, {"name": "Ann L.", "teams": [team, other]})
    assert renamed.name == "Ann L." and set(renamed.teams) == {team, other}
    fetched = onfleet.get_worker(ann.id)
    assert fetched is not None and fetched.name == "Ann L."
    assert onfleet.get_worker("x" * 24) is None


def test_teams_list_create_update_and_name_conflict(onfleet: OnfleetClient, team: str) -> None:
    ann = onfleet.create_worker({"name": "Ann", "phone": "+15550100001", "teams": [team]})
    south = onfleet.create_team("South", workers=[ann.id])
    assert south.workers == [ann.id]
    assert {t.name for t in onfleet.list_teams()} == {"North", "South"}
    with pytest.raises(VendorConflict):
        onfleet.create_team("north")
    emptied = onfleet.update_team(south.id, {"workers": []})
    assert emptied.workers == []
    renamed = onfleet.update_team(south.id, {"name": "South Side"})
    assert renamed.name == "South Side"


def test_worker_container_get_and_set(onfleet: OnfleetClient, team: str) -> None:
    ann = onfleet.create_worker({"name": "Ann", "phone": "+15550100001", "teams": [team]})
    ids = [onfleet.create_task({"destination": DESTINATION}).id for _ in range(3)]
    container = onfleet.set_worker_container(ann.id, [ids[2], ids[0]])
    assert container.type == "WORKER" and container.worker == ann.id
    assert container.tasks == [ids[2], ids[0]]
    assert onfleet.get_worker_container(ann.id).tasks == [ids[2], ids[0]]
    task = onfleet.get_task(ids[0])
    assert task is not None and task.worker == ann.id
    assert onfleet.set_worker_container(ann.id, [ids[1]]).tasks == [ids[1]]
    released = onfleet.get_task(ids[2])
    assert released is not None and released.worker is None and released.state == 0


def test_429_is_retried_then_raised(app: Flask, control: httpx.Client) -> None:
    sleeps: list[float] = []
    control.post("/faults", json={"status_429": 1.0})
    with make(app, sleep=sleeps.append) as onfleet, pytest.raises(RateLimited):
        onfleet.list_teams()
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.5  # no Retry-After: own jittered backoff


def test_the_org_limit_is_shared_through_the_account_limiter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, str, Any]] = []

    def fake_limiter(vendor: str, account: str, limit: Any) -> Any:
        seen.append((vendor, account, limit))
        return None

    # every client takes its limiter through `vendors.base.connected`
    monkeypatch.setattr("fleetbridge.vendors.base.account_limiter", fake_limiter)
    # vendor URLs are deployment configuration (a connection may only pick an allowed host)
    monkeypatch.setenv("FLEETBRIDGE_VENDOR_URLS", '{"onfleet": "http://onfleet.test/api/v2"}')
    get_settings.cache_clear()
    connection = Connection(
        id="con_1",
        tenant_id="ten_1",
        flow="striven-onfleet",
        name="S",
        settings={},
        secret_arn="arn",
        created_at="x",
        updated_at="x",
    )
    with OnfleetClient.for_connection(connection, {"onfleet_api_key": "k"}) as client:
        assert str(client._http.base_url) == "http://onfleet.test/api/v2/"
    get_settings.cache_clear()
    assert [(v, a, (lim.requests, lim.per_seconds)) for v, a, lim in seen] == [
        ("onfleet", "k", (20, 1))
    ]


def test_task_model_ignores_unknown_fields() -> None:
    task = OnfleetTask.model_validate({"id": "t1", "state": 2, "surprise": {"x": 1}})
    assert task.state == 2 and task.metadata == [] and not task.completed
