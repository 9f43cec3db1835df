"""Striven → Onfleet on the running local stack, over HTTP only: the test seeds the Striven
sandbox, fires the poll schedule through `/_local/schedules`, and reads the Onfleet sandbox, the
management API's views and `/_local/emails`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.worlds import onfleet_for_striven, striven_world

pytestmark = pytest.mark.e2e

# Credentials of this module only (seeded into the sandboxes), so the log check at the end of
# the run looks for values nothing else uses.
CREDENTIALS = {
    "striven_client_id": "e2e-striven-client-3b7f",
    "striven_client_secret": "e2e-striven-secret-c41d9e",
    "onfleet_api_key": "e2e-onfleet-key-8e02f7a1",
}
ZONE = "America/Chicago"
NOTIFY = "dispatch-e2e@example.com"
POLL = "StrivenOnfleetPollFunction"


@dataclass
class World:
    stack: Any
    api: httpx.Client
    sandbox: httpx.Client
    connection_id: str

    def poll(self) -> None:
        fired = self.stack.fire_schedule(POLL)
        assert fired.status_code == 200, fired.text
        self.stack.drain()

    def onfleet_tasks(self) -> dict[int, dict[str, Any]]:
        found = {}
        for task in self.sandbox.get("/_sandbox/onfleet/state").json()["tasks"]:
            meta = {m["name"]: m["value"] for m in task.get("metadata") or []}
            if "strivenTaskId" in meta:
                found[int(meta["strivenTaskId"])] = task
        return found

    def onfleet_writes(self) -> int:
        log = self.sandbox.get("/_sandbox/onfleet/requests").json()["requests"]
        return sum(1 for r in log if r["method"] != "GET")

    def view(self, path: str) -> dict[str, Any]:
        response = self.api.get(f"/connections/{self.connection_id}{path}")
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture(scope="module")
def world(stack: Any) -> Iterator[World]:
    """A connection (polling every minute) and a small Striven tenant in the sandbox."""
    sandbox = httpx.Client(base_url=stack.sandbox_url, timeout=30)
    sandbox.post("/_sandbox/reset").raise_for_status()
    sandbox.post(
        "/_sandbox/onfleet/seed", json=onfleet_for_striven(CREDENTIALS["onfleet_api_key"])
    ).raise_for_status()
    sandbox.post(
        "/_sandbox/striven/seed",
        json=striven_world(
            label="E2E",
            zone=ZONE,
            client_id=CREDENTIALS["striven_client_id"],
            client_secret=CREDENTIALS["striven_client_secret"],
        ),
    ).raise_for_status()
    _, api_key = stack.new_tenant("E2E Dispatch")
    api = stack.client(api_key)
    created = api.post(
        "/connections",
        json={
            "flow": "striven-onfleet",
            "name": "E2E dispatch",
            "credentials": CREDENTIALS,
            "settings": {
                "time_zone": ZONE,
                "notify_recipients": [NOTIFY],
                "task_type_ids": [1],
                "team_ids": [10, 20],
                # the default team source: Striven's API has no teams endpoint
                "teams": [
                    {"id": 10, "name": "E2E North", "memberIds": [1, 2, 5]},
                    {"id": 20, "name": "E2E South", "memberIds": [3, 4]},
                ],
                "poll_minutes": 1,
            },
        },
    )
    assert created.status_code == 201, created.text
    yield World(stack, api, sandbox, created.json()["id"])
    api.close()
    sandbox.close()


def test_an_invalid_onfleet_key_is_refused_on_save(world: World) -> None:
    refused = world.api.post(
        "/connections",
        json={
            "flow": "striven-onfleet",
            "name": "wrong key",
            "credentials": {**CREDENTIALS, "onfleet_api_key": "e2e-not-the-key"},
            "settings": {"time_zone": ZONE},
        },
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "credentials.onfleet"
    tested = world.api.post(f"/connections/{world.connection_id}/test")
    assert {c["vendor"]: c["ok"] for c in tested.json()["vendors"]} == {
        "onfleet": True,
        "striven": True,
    }


@dataclass
class FirstPoll:
    """Onfleet right after the first poll: our tasks by Striven id, and the whole state."""

    tasks: dict[int, dict[str, Any]]
    state: dict[str, Any]


@pytest.fixture(scope="module")
def first_poll(world: World) -> FirstPoll:
    """The first poll (once, whichever test asks first), and what it left in Onfleet."""
    world.poll()
    state = world.sandbox.get("/_sandbox/onfleet/state").json()
    return FirstPoll(world.onfleet_tasks(), state)


def test_the_first_poll_creates_teams_drivers_and_tasks(
    world: World, first_poll: FirstPoll
) -> None:
    tasks = first_poll.tasks
    assert set(tasks) == set(range(1, 11))  # 11: not in the window yet; 12: driver conflict
    state = first_poll.state
    teams = {t["name"]: t for t in state["teams"]}
    assert {"E2E North", "E2E South"} <= set(teams)
    workers = {w["id"]: w for w in state["workers"]}
    assert workers[tasks[1]["worker"]]["name"] == "Driver1 E2E"
    assert workers[tasks[1]["worker"]]["phone"] == "+13125550101"
    view = world.view("/tasks/1")
    assert view["onfleet_task_id"] == tasks[1]["id"]
    assert view["tracking_url"] == tasks[1]["trackingURL"]
    assert world.view("/tasks/11")["reason"] == "not_in_window"
    employees = world.view("/employees")["items"]
    assert [e["striven_employee_id"] for e in employees] == ["1", "2", "3", "4"]


@pytest.mark.usefixtures("first_poll")
def test_the_name_conflict_is_emailed_to_the_notify_recipients(world: World) -> None:
    mails = [m for m in world.stack.emails() if NOTIFY in (m.get("to") or [])]
    assert [m["subject"] for m in mails] == [
        "[fleetbridge] Onfleet driver for Driver5 E2E could not be created"
    ]
    assert "Someone Else" in (mails[0]["text"] or "")
    view = world.view("/tasks/12")
    assert (view["sync_state"], view["reason"]) == ("failed", "driver_name_conflict")


@pytest.mark.usefixtures("first_poll")
def test_an_unchanged_poll_writes_nothing_and_a_change_is_written(world: World) -> None:
    before = world.onfleet_writes()
    world.poll()
    assert world.onfleet_writes() == before
    world.sandbox.post(
        "/_sandbox/striven/seed", json={"tasks": [{"id": 2, "title": "Visit 2, moved"}]}
    ).raise_for_status()
    world.poll()
    assert world.onfleet_writes() == before + 1
    assert world.onfleet_tasks()[2]["notes"].startswith("Visit 2, moved")
    assert len([m for m in world.stack.emails() if NOTIFY in (m.get("to") or [])]) == 1


@pytest.mark.usefixtures("first_poll")
def test_a_canceled_task_is_deleted_from_onfleet(world: World) -> None:
    world.sandbox.post(
        "/_sandbox/striven/seed", json={"tasks": [{"id": 3, "status": "Canceled"}]}
    ).raise_for_status()
    world.poll()
    assert 3 not in world.onfleet_tasks()
    assert world.view("/tasks/3")["sync_state"] == "deleted"


@pytest.mark.usefixtures("first_poll")
def test_a_disabled_connection_is_not_polled(world: World) -> None:
    assert world.api.post(f"/connections/{world.connection_id}/disable").status_code == 200
    world.sandbox.post(
        "/_sandbox/striven/seed", json={"tasks": [{"id": 4, "title": "Visit 4, while off"}]}
    ).raise_for_status()
    world.poll()
    assert world.onfleet_tasks()[4]["notes"].startswith("Visit 4\n")
    assert world.api.post(f"/connections/{world.connection_id}/enable").status_code == 200
    world.poll()
    assert world.onfleet_tasks()[4]["notes"].startswith("Visit 4, while off")
