"""Striven → Onfleet, issue 15 (flow fidelity) items 1-7, through the sandboxes: the harness of
`test_striven_onfleet_flow.py` (poll schedule → SQS (moto) → worker → Onfleet sandbox)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Api
from tests.integration.test_striven_onfleet_flow import (
    CREDENTIALS,
    EMPLOYEES,
    SETTINGS,
    TEAMS,
    ZONE,
    Harness,
    create,
    local,
    striven_task,
)
from tests.support.events import onfleet_hook_event
from tests.support.lambdas import invoke


@pytest.fixture
def harness(api: Api, sandbox: httpx.Client, aws: dict[str, Any]) -> Harness:
    status, body = create(api, team_source="endpoint")
    assert status == 201, body
    flow = Harness(api, sandbox, aws, body["id"])
    flow.seed_striven(
        settings={"time_zone": ZONE},
        task_types=[{"id": 1, "name": "Service"}, {"id": 2, "name": "Sales call"}],
        employees=EMPLOYEES,
        teams=TEAMS,
    )
    return flow


def at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """Move the flow's clock to `moment`."""
    monkeypatch.setattr("fleetbridge.flows.striven_onfleet.context.utcnow", lambda: moment)


# ----------------------------------------------------------------------------- item 7
def test_item7_an_update_in_the_repeated_autumn_hour_is_read(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chicago, 1 Nov 2026: at 07:00 UTC the clocks go back from 02:00 CDT to 01:00 CST.
    first = datetime(2026, 11, 1, 6, 50, tzinfo=UTC)  # 01:50 CDT
    at(monkeypatch, first)
    harness.seed_striven(
        tasks=[
            striven_task(
                1,
                startDate=local(2, first),
                dueDate=local(4, first),
                lastUpdatedDate="2026-11-01T01:40:00",
            )
        ]
    )
    harness.poll()
    assert set(harness.onfleet_tasks()) == {1}
    # updated at 01:55 CDT (06:55 UTC), stamped "01:55": later, in local text, than the next
    # poll at 01:05 CST
    harness.seed_striven(
        tasks=[
            striven_task(
                2,
                startDate=local(2, first),
                dueDate=local(4, first),
                lastUpdatedDate="2026-11-01T01:55:00",
            )
        ]
    )
    at(monkeypatch, datetime(2026, 11, 1, 7, 5, tzinfo=UTC))  # 01:05 CST
    harness.poll()
    assert set(harness.onfleet_tasks()) == {1, 2}
    search = [r for r in harness.striven_requests() if r["path"].endswith("/v2/tasks/search")]
    assert search[-1]["body"]["LastUpdatedDateRange"] == {
        "DateFrom": "2026-11-01T01:00:00.000",
        "DateTo": "2026-11-01T02:00:00.000",
    }


# ----------------------------------------------------------------------------- item 1
def test_item1_the_default_team_source_needs_no_endpoint_striven_lacks(
    api: Api, sandbox: httpx.Client, aws: dict[str, Any]
) -> None:
    teams = [{"id": 10, "name": "North", "memberIds": [7, 8]}]
    settings = {k: v for k, v in SETTINGS.items() if k != "team_source"}  # the default
    status, body = api(
        "POST",
        "/connections",
        {
            "flow": "striven-onfleet",
            "name": "Dispatch",
            "credentials": CREDENTIALS,
            "settings": {**settings, "team_ids": [10], "teams": teams},
        },
    )
    assert status == 201, body
    assert body["settings"].get("team_source", "settings") == "settings"
    flow = Harness(api, sandbox, aws, body["id"])
    flow.seed_striven(
        settings={"time_zone": ZONE},
        task_types=[{"id": 1, "name": "Service"}],
        employees=EMPLOYEES,
        tasks=[striven_task(1), striven_task(2, assignedTo=[11])],
    )
    flow.poll()
    assert set(flow.onfleet_tasks()) == {1}  # 11 is not listed in the team
    assert flow.reasons("task 2") == [("skipped", "assignee_not_in_selected_team")]
    onfleet_teams = {t["name"]: t for t in flow.onfleet()["teams"]}
    assert set(onfleet_teams) == {"North"}
    paths = {r["path"].split("/striven")[-1] for r in flow.striven_requests()}
    assert "/v1/teams" not in paths, paths


# ----------------------------------------------------------------------------- item 2
def test_item2_onfleet_never_keeps_an_assignment_striven_no_longer_has(harness: Harness) -> None:
    harness.seed_striven(tasks=[striven_task(1), striven_task(2), striven_task(3)])
    harness.poll()
    ids = {t: harness.task_view(t)["onfleet_task_id"] for t in (1, 2, 3)}

    # reassigned to Fay (team 30, not selected), unassigned, put on hold
    harness.seed_striven(
        tasks=[
            {"id": 1, "assignedTo": [13]},
            {"id": 2, "assignedTo": []},
            {"id": 3, "status": "On Hold"},
        ]
    )
    harness.poll()
    tasks = harness.onfleet_tasks()
    for task_id, reason in (
        (1, "assignee_not_in_selected_team"),
        (2, "unassigned_in_striven"),
        (3, "on_hold_in_striven"),
    ):
        assert tasks[task_id]["id"] == ids[task_id]  # kept, not re-created
        assert (tasks[task_id]["worker"], tasks[task_id]["state"]) == (None, 0), task_id
        assert harness.reasons(f"task {task_id}")[-1] == ("updated", reason)
        view = harness.task_view(task_id)
        assert (view["sync_state"], view["onfleet_worker_id"]) == ("unassigned", None)
    assert harness.employee_view(7)["active_tasks"] == []
    harness.clear_requests()
    harness.poll()  # nothing new: no Onfleet write
    assert harness.onfleet_calls(writes_only=True) == []

    # back to a selected team's member and reopened: assigned again; In Progress keeps it
    harness.seed_striven(
        tasks=[{"id": 1, "assignedTo": [8]}, {"id": 3, "status": "Open"}, {"id": 2}]
    )
    harness.poll()
    tasks = harness.onfleet_tasks()
    workers = {w["id"]: w["name"] for w in harness.onfleet()["workers"]}
    assert workers[tasks[1]["worker"]] == "Bob Stone" and tasks[1]["id"] == ids[1]
    assert workers[tasks[3]["worker"]] == "Ann Lee" and tasks[3]["state"] == 1
    assert harness.reasons("task 3")[-1] == ("updated", "assignee_changed")
    harness.seed_striven(tasks=[{"id": 3, "status": "In Progress"}])
    harness.poll()
    assert harness.onfleet_tasks()[3]["worker"] == tasks[3]["worker"]

    # Completed in Striven: the work is done, the Onfleet task is deleted
    harness.seed_striven(tasks=[{"id": 3, "status": "Completed"}])
    harness.poll()
    assert 3 not in harness.onfleet_tasks()
    assert harness.reasons("task 3")[-1] == ("deleted", "completed_in_striven")
    assert harness.task_view(3)["sync_state"] == "deleted"


# ----------------------------------------------------------------------------- item 4
def test_item4_a_task_waiting_for_its_assignee_syncs_when_the_membership_changes(
    harness: Harness,
) -> None:
    # Fay (13) is only in team 30, not selected; Dee (11) is in North
    harness.seed_striven(tasks=[striven_task(1, assignedTo=[13]), striven_task(2, assignedTo=[11])])
    harness.poll()
    assert harness.reasons("task 1") == [("skipped", "assignee_not_in_selected_team")]
    harness.seed_striven(tasks=[{"id": 2, "assignedTo": [13]}])  # reassigned outside
    harness.poll()
    assert harness.onfleet_tasks()[2]["worker"] is None

    harness.clear_requests()
    before = len(harness.striven_requests())
    harness.seed_striven(teams=[{"id": 20, "memberIds": [8, 13]}])  # Fay joins South
    harness.poll()
    tasks = harness.onfleet_tasks()
    workers = {w["id"]: w["name"] for w in harness.onfleet()["workers"]}
    assert workers[tasks[1]["worker"]] == "Fay Outside"
    assert workers[tasks[2]["worker"]] == "Fay Outside"
    assert harness.reasons("task 1")[-1] == ("created", "eligible")
    assert harness.reasons("task 2")[-1] == ("updated", "assignee_changed")
    searches = [
        r for r in harness.striven_requests()[before:] if r["path"].endswith("/tasks/search")
    ]
    assert len(searches) == 1  # the usual poll: the waiting tasks were not read again


def test_item4_with_the_default_source_a_settings_change_rechecks_waiting_tasks(
    api: Api, sandbox: httpx.Client, aws: dict[str, Any]
) -> None:
    settings = {k: v for k, v in SETTINGS.items() if k != "team_source"}
    teams = [{"id": 10, "name": "North", "memberIds": [7]}]
    status, body = api(
        "POST",
        "/connections",
        {
            "flow": "striven-onfleet",
            "name": "Dispatch",
            "credentials": CREDENTIALS,
            "settings": {**settings, "team_ids": [10], "teams": teams},
        },
    )
    assert status == 201, body
    flow = Harness(api, sandbox, aws, body["id"])
    flow.seed_striven(
        settings={"time_zone": ZONE},
        task_types=[{"id": 1, "name": "Service"}],
        employees=EMPLOYEES,
        tasks=[striven_task(1, assignedTo=[8])],
    )
    flow.poll()
    assert flow.onfleet_tasks() == {}
    teams[0]["memberIds"] = [7, 8]
    status, body = api(
        "PATCH", f"/connections/{flow.connection_id}", {"settings": {"teams": teams}}
    )
    assert status == 200, body
    flow.poll()
    assert set(flow.onfleet_tasks()) == {1}


# ----------------------------------------------------------------------------- item 3
def test_item3_daily_run_fixes_orphaned_tasks_and_deleted_drivers(harness: Harness) -> None:
    harness.seed_striven(
        tasks=[
            striven_task(1),
            striven_task(2),
            striven_task(3, assignedTo=[8]),
            striven_task(4, assignedTo=[8]),
        ]
    )
    harness.poll()
    ids = {t: harness.task_view(t)["onfleet_task_id"] for t in (1, 2, 3, 4)}
    bob = harness.employee_view(8)["onfleet_worker_id"]
    harness.seed_striven(deleted_tasks=[1], tasks=[{"id": 2, "type": 2}])  # gone; unselected type
    harness.sandbox.delete(
        f"/onfleet/api/v2/workers/{bob}", auth=("sandbox-onfleet-key", "")
    ).raise_for_status()
    harness.poll()  # the poll sees neither
    assert {1, 2} <= set(harness.onfleet_tasks())

    status, plan = harness.api(
        "POST", f"/connections/{harness.connection_id}/sync", query={"dry_run": "true"}
    )
    assert status == 200, plan
    planned = {(i["entity"], i["action"], i["reason"]) for i in plan["plan"]["items"]}
    assert {
        ("task 1", "deleted", "deleted_in_striven"),
        ("task 2", "deleted", "type_not_selected"),
        ("employee 8", "deleted", "driver_deleted_in_onfleet"),
        ("task 3", "updated", "assignee_changed"),
        ("task 4", "updated", "assignee_changed"),
    } <= planned, planned
    assert {1, 2} <= set(harness.onfleet_tasks())  # a dry run writes nothing

    harness.daily()
    tasks = harness.onfleet_tasks()
    assert 1 not in tasks and 2 not in tasks
    assert harness.reasons("task 1")[-1] == ("deleted", "deleted_in_striven")
    assert harness.reasons("task 2")[-1] == ("deleted", "type_not_selected")
    new_bob = harness.employee_view(8)["onfleet_worker_id"]
    assert new_bob not in (None, bob)
    assert tasks[3]["worker"] == new_bob and tasks[3]["id"] == ids[3]
    assert tasks[4]["worker"] == new_bob
    assert harness.reasons("employee 8")[-2:] == [
        ("deleted", "driver_deleted_in_onfleet"),
        ("created", "no_worker_with_phone"),
    ]


def test_item3_a_task_of_a_deleted_driver_makes_a_new_driver_at_once(harness: Harness) -> None:
    harness.seed_striven(tasks=[striven_task(1)])
    harness.poll()
    ann = harness.employee_view(7)["onfleet_worker_id"]
    harness.sandbox.delete(
        f"/onfleet/api/v2/workers/{ann}", auth=("sandbox-onfleet-key", "")
    ).raise_for_status()
    harness.seed_striven(tasks=[striven_task(2)])
    harness.poll()
    new_ann = harness.employee_view(7)["onfleet_worker_id"]
    assert new_ann != ann
    assert harness.onfleet_tasks()[2]["worker"] == new_ann
    assert harness.reasons("task 2") == [("created", "eligible")]


# ----------------------------------------------------------------------------- item 5
HOOK_SECRET = "ab" * 32  # Onfleet's webhook secret is hex


def _replay_onfleet_deliveries(flow: Harness, seen: int) -> list[dict[str, Any]]:
    """Hand the Onfleet sandbox's signed deliveries since `seen` to our receiver, as Onfleet
    would post them (the sandbox cannot reach the in-process function)."""
    deliveries = flow.sandbox.get(
        "/_sandbox/onfleet/webhook-deliveries", params={"wait": "5"}
    ).json()["deliveries"]
    answers = []
    for delivery in deliveries[seen:]:
        headers = {k.lower(): v for k, v in delivery["headers"].items()}
        event = onfleet_hook_event(
            flow.connection_id, delivery["body"].encode(), headers.get("x-onfleet-signature")
        )
        answers.append(invoke("onfleet_webhook", event))
    flow.work()
    return answers


def test_item5_views_follow_onfleet_webhooks_and_count_only_active_tasks(
    api: Api, sandbox: httpx.Client, aws: dict[str, Any]
) -> None:
    status, body = api(
        "POST",
        "/connections",
        {
            "flow": "striven-onfleet",
            "name": "Dispatch",
            "credentials": {**CREDENTIALS, "onfleet_webhook_secret": HOOK_SECRET},
            "settings": SETTINGS,
        },
    )
    assert status == 201, body
    assert any("/hooks/onfleet/" in str(url) for url in body.get("webhook_urls", {}).values())
    flow = Harness(api, sandbox, aws, body["id"])
    flow.seed_striven(
        settings={"time_zone": ZONE},
        task_types=[{"id": 1, "name": "Service"}],
        employees=EMPLOYEES,
        teams=TEAMS,
        tasks=[striven_task(t) for t in (1, 2, 3, 4)],
    )
    flow.seed_onfleet(
        credentials={"api_keys": ["sandbox-onfleet-key"], "webhook_secret": HOOK_SECRET},
        webhooks=[
            {
                "url": "http://127.0.0.1:9/hooks",
                "events": ["taskCompleted", "taskAssigned", "taskUnassigned", "taskStarted"],
            }
        ],
    )
    flow.poll()
    seen = len(flow.sandbox.get("/_sandbox/onfleet/webhook-deliveries").json()["deliveries"])
    ids = {t: flow.task_view(t)["onfleet_task_id"] for t in (1, 2, 3, 4)}

    # Onfleet's URL check; a forged delivery is refused
    check = invoke(
        "onfleet_webhook",
        onfleet_hook_event(flow.connection_id, b"", None, method="GET", query={"check": "tok123"}),
    )
    assert (check["statusCode"], check["body"]) == (200, "tok123")
    forged = invoke("onfleet_webhook", onfleet_hook_event(flow.connection_id, b"{}", "00" * 64))
    assert forged["statusCode"] == 401

    # in Onfleet: task 1 completed, task 2 given to Bob by a dispatcher; in Striven: task 3
    # In Progress (task 4 stays Open)
    auth = ("sandbox-onfleet-key", "")
    sandbox.post(
        f"/onfleet/api/v2/tasks/{ids[1]}/complete",
        json={"completionDetails": {"success": True}},
        auth=auth,
    ).raise_for_status()
    flow.seed_striven(tasks=[striven_task(9, assignedTo=[8])])  # Bob becomes a driver
    flow.poll()
    bob = flow.employee_view(8)["onfleet_worker_id"]
    sandbox.put(
        f"/onfleet/api/v2/tasks/{ids[2]}",
        json={"container": {"type": "WORKER", "worker": bob}},
        auth=auth,
    ).raise_for_status()
    flow.seed_striven(tasks=[{"id": 3, "status": "In Progress"}])
    flow.poll()
    answers = _replay_onfleet_deliveries(flow, seen)
    assert answers and all(a["statusCode"] in (200, 202) for a in answers), answers

    one = flow.task_view(1)
    assert one["sync_state"] == "completed_in_onfleet" and one["completed_at"]
    assert flow.reasons("task 1")[-1] == ("updated", "completed_in_onfleet")
    two = flow.task_view(2)
    assert (two["onfleet_worker_id"], two["onfleet_worker_name"]) == (bob, "Bob Stone")
    assert two["assigned_in_onfleet"] is True
    assert flow.reasons("task 2")[-1] == ("updated", "assigned_in_onfleet")

    ann = flow.employee_view(7)
    assert [t["striven_task_id"] for t in ann["active_tasks"]] == ["4"]
    assert [t["striven_task_id"] for t in ann["in_progress_tasks"]] == ["3"]
    assert ann["onfleet_worker_name"] == "Ann Lee"
    assert flow.task_view(4)["onfleet_worker_name"] == "Ann Lee"
    assert "2" in [t["striven_task_id"] for t in flow.employee_view(8)["active_tasks"]]

    # a later Striven update of task 2 (not its assignment) keeps the dispatcher's choice
    flow.seed_striven(tasks=[{"id": 2, "title": "Task 2, new title"}])
    flow.poll()
    assert flow.onfleet_tasks()[2]["worker"] == bob
    assert flow.task_view(2)["onfleet_worker_id"] == bob
