"""Striven → Onfleet inside one process: Striven sandbox (tasks, employees, teams) → poll
schedule → SQS (moto) → worker → Onfleet sandbox. One test (at least) per rule of issue 5."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import httpx
import pytest

from tests.integration.conftest import Api
from tests.support.events import schedule_event, sqs_event
from tests.support.lambdas import invoke

CREDENTIALS = {
    "striven_client_id": "sandbox-striven-client",
    "striven_client_secret": "sandbox-striven-secret",
    "onfleet_api_key": "sandbox-onfleet-key",
}
ZONE = "America/Chicago"
QUEUE = "StrivenOnfleetQueue"
NOTIFY = "dispatch@example.com"
SETTINGS = {
    "time_zone": ZONE,
    "notify_recipients": [NOTIFY],
    "task_type_ids": [1],
    "team_ids": [10, 20],
    "phone_type": "Mobile",
    "team_source": "endpoint",  # the sandbox-only GET /v1/teams: tests edit teams in Striven
}
LOCATION = {
    "id": 1,
    "name": "Acme HQ",
    "address": {
        "address1": "1 Main St",
        "address2": "Suite 4",
        "city": "Springfield",
        "state": "IL",
        "postalCode": "62701",
        "country": "US",
    },
    "latitude": 39.8,
    "longitude": -89.6,
}


def mobile(number: str) -> list[dict[str, Any]]:
    return [{"phoneType": "Mobile", "number": number, "isPreferred": True}]


EMPLOYEES = [
    {"id": 7, "firstName": "Ann", "lastName": "Lee", "phones": mobile("(312) 555-0107")},
    {"id": 8, "firstName": "Bob", "lastName": "Stone", "phones": mobile("312-555-0108")},
    {
        "id": 9,
        "firstName": "Cy",
        "lastName": "Young",
        "phones": [{"phoneType": "Work", "number": "312-555-0109"}],
    },
    {"id": 11, "firstName": "Dee", "lastName": "Park", "phones": mobile("312 555 0111")},
    {"id": 12, "firstName": "Eve", "lastName": "Moss", "phones": mobile("3125550112")},
    {"id": 13, "firstName": "Fay", "lastName": "Outside", "phones": mobile("3125550113")},
]
TEAMS = [
    {"id": 10, "name": "North", "memberIds": [7, 8, 9, 11, 12]},
    {"id": 20, "name": "South", "memberIds": [8]},
    {"id": 30, "name": "Not selected", "memberIds": [13]},
]


def local(hours: float, now: datetime | None = None) -> str:
    """A Chicago-local date without offset, `hours` from now (Striven's date shape)."""
    moment = (now or datetime.now(UTC)) + timedelta(hours=hours)
    return moment.astimezone(ZoneInfo(ZONE)).replace(tzinfo=None).isoformat(timespec="seconds")


def striven_task(task_id: int, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": task_id,
        "title": f"Task {task_id}",
        "description": "Ring twice",
        "status": "Open",
        "type": 1,
        "customer": {"id": 500, "name": "Acme", "phone": "(312) 555-0199"},
        "assignedTo": [7],
        "startDate": local(2),
        "dueDate": local(4),
        "location": LOCATION,
    }
    values.update(fields)
    return values


class Harness:
    """One connection: Striven edits, the poll schedule, the worker, and Onfleet's state."""

    def __init__(self, api: Api, sandbox: httpx.Client, aws: dict[str, Any], connection_id: str):
        self.api, self.sandbox, self.aws = api, sandbox, aws
        self.connection_id = connection_id
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self._polls = 0
        self._mark = 0

    # ---------------------------------------------------------------- Striven side
    def seed_striven(self, **resources: Any) -> dict[str, Any]:
        response = self.sandbox.post("/_sandbox/striven/seed", json=resources)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def striven_requests(self) -> list[dict[str, Any]]:
        return list(self.sandbox.get("/_sandbox/striven/requests").json()["requests"])

    # ---------------------------------------------------------------- Onfleet side
    def onfleet(self) -> dict[str, Any]:
        return dict(self.sandbox.get("/_sandbox/onfleet/state").json())

    def onfleet_tasks(self) -> dict[int, dict[str, Any]]:
        """Onfleet tasks by the Striven task id in their metadata."""
        found = {}
        for task in self.onfleet()["tasks"]:
            meta = {m["name"]: m["value"] for m in task.get("metadata") or []}
            if "strivenTaskId" in meta:
                found[int(meta["strivenTaskId"])] = task
        return found

    def seed_onfleet(self, **resources: Any) -> dict[str, Any]:
        response = self.sandbox.post("/_sandbox/onfleet/seed", json=resources)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def _onfleet_log(self) -> list[dict[str, Any]]:
        return list(self.sandbox.get("/_sandbox/onfleet/requests").json()["requests"])

    def onfleet_calls(self, *, writes_only: bool = False) -> list[str]:
        """Onfleet calls since the last `clear_requests`, as `METHOD /path`."""
        return [
            f"{r['method']} {r['path'].split('/api/v2')[-1]}"
            for r in self._onfleet_log()[self._mark :]
            if not writes_only or r["method"] != "GET"
        ]

    def clear_requests(self) -> None:
        self._mark = len(self._onfleet_log())

    # ---------------------------------------------------------------- schedule and worker
    def poll(self) -> dict[str, Any]:
        """Fire the poll schedule (a due minute) and run the worker until the queue is empty."""
        self._polls += 1
        event = schedule_event("striven-onfleet-poll")
        event["id"] = f"poll-{self._polls}-{id(self)}"
        answer = invoke("striven_onfleet_poll", event)
        self.work()
        return dict(answer)

    def daily(self) -> dict[str, Any]:
        event = schedule_event("striven-onfleet-daily")
        event["id"] = f"daily-{self._polls}-{id(self)}"
        answer = invoke("striven_onfleet_daily", event)
        self.work()
        return dict(answer)

    def work(self, receive_count: int = 1) -> list[dict[str, Any]]:
        """Run the worker over everything queued (like the SQS event source)."""
        results = []
        url = self.aws["queues"][QUEUE]
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return results
            event = sqs_event(
                [json.loads(m["Body"]) for m in messages], queue=QUEUE, receive_count=receive_count
            )
            for record, message in zip(event["Records"], messages, strict=True):
                record["messageId"] = message["MessageId"]
            result = invoke("striven_onfleet_worker", event)
            failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
            for message in messages:
                if message["MessageId"] not in failed:
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            results.append(result)
            if failed:
                return results

    # ---------------------------------------------------------------- our side
    def activity(self, **query: str) -> list[dict[str, Any]]:
        status, body = self.api(
            "GET", f"/connections/{self.connection_id}/activity", query={"limit": "200", **query}
        )
        assert status == 200, body
        return list(body["items"])

    def reasons(self, entity: str) -> list[tuple[str, str]]:
        """(action, reason) of an entity's decisions (emails aside), oldest first."""
        found = reversed(self.activity(entity=entity))
        return [(a["action"], a["reason"]) for a in found if a["action"] != "notified"]

    def task_view(self, task_id: int) -> dict[str, Any]:
        status, body = self.api("GET", f"/connections/{self.connection_id}/tasks/{task_id}")
        assert status == 200, body
        return dict(body)

    def employee_view(self, employee_id: int) -> dict[str, Any]:
        status, body = self.api("GET", f"/connections/{self.connection_id}/employees/{employee_id}")
        assert status == 200, body
        return dict(body)


def emails() -> list[Any]:
    from moto.ses.models import ses_backends

    return list(ses_backends["123456789012"]["us-east-1"].sent_messages)


def email_subjects() -> list[str]:
    return [str(getattr(m, "subject", "")) for m in emails()]


def create(api: Api, **settings: Any) -> tuple[int, Any]:
    return api(
        "POST",
        "/connections",
        {
            "flow": "striven-onfleet",
            "name": "Dispatch",
            "credentials": CREDENTIALS,
            "settings": {**SETTINGS, **settings},
        },
    )


@pytest.fixture
def harness(api: Api, sandbox: httpx.Client, aws: dict[str, Any]) -> Harness:
    status, body = create(api)
    assert status == 201, body
    flow = Harness(api, sandbox, aws, body["id"])
    flow.seed_striven(
        settings={"time_zone": ZONE},
        task_types=[{"id": 1, "name": "Service"}, {"id": 2, "name": "Sales call"}],
        employees=EMPLOYEES,
        teams=TEAMS,
    )
    return flow


# ----------------------------------------------------------------------------- connection
def test_save_and_test_validate_the_onfleet_key_and_the_striven_token(
    api: Api, sandbox: httpx.Client
) -> None:
    status, body = api(
        "POST",
        "/connections",
        {
            "flow": "striven-onfleet",
            "name": "x",
            "credentials": {**CREDENTIALS, "onfleet_api_key": "not-a-key"},
            "settings": SETTINGS,
        },
    )
    assert status == 422, body
    assert body["error"]["field"] == "credentials.onfleet"
    assert "onfleet rejected the credentials" in body["error"]["message"]
    status, body = api(
        "POST",
        "/connections",
        {
            "flow": "striven-onfleet",
            "name": "x",
            "credentials": {**CREDENTIALS, "striven_client_secret": "wrong"},
            "settings": SETTINGS,
        },
    )
    assert status == 422 and body["error"]["field"] == "credentials.striven", body
    status, body = create(api)
    assert status == 201, body
    status, tested = api("POST", f"/connections/{body['id']}/test")
    assert status == 200
    assert {c["vendor"]: c["ok"] for c in tested["vendors"]} == {"onfleet": True, "striven": True}
    calls = [r["path"] for r in sandbox.get("/_sandbox/onfleet/requests").json()["requests"]]
    assert calls.count("/onfleet/api/v2/auth/test") == 4  # three saves and the test


def test_disabled_connection_is_not_polled_and_its_queued_work_is_skipped(
    harness: Harness,
) -> None:
    harness.seed_striven(tasks=[striven_task(1)])
    invoke("striven_onfleet_poll", schedule_event("striven-onfleet-poll"))  # queued, not run
    status, _ = harness.api("POST", f"/connections/{harness.connection_id}/disable")
    assert status == 200
    harness.work()
    assert harness.poll() == {"queued": 0, "not_due": 0}
    assert harness.onfleet_tasks() == {}


# ----------------------------------------------------------------------------- rule 1
def test_rule_1_ineligible_tasks_are_skipped_with_the_failing_condition(
    harness: Harness,
) -> None:
    harness.seed_striven(
        tasks=[
            striven_task(1),
            striven_task(2, type=2),
            striven_task(3, startDate=local(30), dueDate=local(34)),
            striven_task(4, assignedTo=[]),
            striven_task(5, assignedTo=[13]),
            striven_task(6, status="In Progress"),
            striven_task(7, customer=None),
            # no start date: the created date (now) is in the window
            striven_task(8, startDate=None, dueDate=local(72)),
            # start far away, but due within 24 h
            striven_task(9, startDate=local(48), dueDate=local(20)),
        ]
    )
    harness.poll()  # task 2's type is filtered out by the search itself
    assert set(harness.onfleet_tasks()) == {1, 8, 9}
    expected = {
        3: "not_in_window",
        4: "not_assigned",
        5: "assignee_not_in_selected_team",
        6: "status_not_open",
        7: "no_customer",
    }
    for task_id, reason in expected.items():
        assert harness.reasons(f"task {task_id}") == [("skipped", reason)], task_id
        view = harness.task_view(task_id)
        assert (view["sync_state"], view["reason"]) == ("skipped", reason)
    search = [r for r in harness.striven_requests() if r["path"].endswith("/v2/tasks/search")]
    assert search[0]["body"]["TypeIDs"] == [1]


# ----------------------------------------------------------------------------- rule 2
def test_rule_2_the_poll_reads_since_its_high_water_mark_with_overlap(harness: Harness) -> None:
    harness.seed_striven(tasks=[striven_task(1), striven_task(2)])
    assert harness.poll() == {"queued": 1, "not_due": 0}
    first = [r for r in harness.striven_requests() if r["path"].endswith("/v2/tasks/search")]
    assert "DateFrom" not in first[-1]["body"]["LastUpdatedDateRange"]
    high_water = first[-1]["body"]["LastUpdatedDateRange"]["DateTo"]
    harness.clear_requests()

    harness.poll()  # nothing changed: the overlap re-reads both, Onfleet is not called
    assert harness.onfleet_calls() == []
    second = [r for r in harness.striven_requests() if r["path"].endswith("/v2/tasks/search")]
    since = datetime.fromisoformat(second[-1]["body"]["LastUpdatedDateRange"]["DateFrom"])
    assert datetime.fromisoformat(high_water) - since == timedelta(minutes=2)  # the overlap

    harness.seed_striven(tasks=[{"id": 2, "title": "Task 2, second visit"}])
    harness.poll()
    assert harness.onfleet_calls(writes_only=True) == [
        f"PUT /tasks/{harness.task_view(2)['onfleet_task_id']}"
    ]


def test_rule_2_a_task_entering_the_window_is_rechecked_without_changing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.seed_striven(tasks=[striven_task(1, startDate=local(30), dueDate=local(32))])
    harness.poll()
    assert harness.reasons("task 1") == [("skipped", "not_in_window")]
    assert harness.onfleet_tasks() == {}

    later = datetime.now(UTC) + timedelta(hours=7)  # the window opens 6 h from now
    monkeypatch.setattr("fleetbridge.flows.striven_onfleet.context.utcnow", lambda: later)
    before = len(harness.striven_requests())
    harness.poll()
    assert set(harness.onfleet_tasks()) == {1}
    assert harness.reasons("task 1")[-1] == ("created", "eligible")
    gets = [r for r in harness.striven_requests()[before:] if "/v2/tasks/" in r["path"]]
    assert all(r["path"].endswith("/search") for r in gets)  # no task read one by one
    harness.clear_requests()
    harness.poll()  # re-checked once: the next poll has nothing to do
    assert harness.onfleet_calls(writes_only=True) == []


# ----------------------------------------------------------------------------- rule 3
def test_rule_3_create_the_onfleet_task_and_record_its_ids(harness: Harness) -> None:
    seeded = striven_task(1, title="Fix boiler", description="Blue door")
    harness.seed_striven(tasks=[seeded])
    harness.poll()
    task = harness.onfleet_tasks()[1]
    workers = {w["id"]: w for w in harness.onfleet()["workers"]}
    assert workers[task["worker"]]["name"] == "Ann Lee"
    assert task["destination"]["location"] == [-89.6, 39.8]
    assert task["destination"]["address"]["apartment"] == "Suite 4"
    assert "1 Main St" in task["destination"]["address"]["unparsed"]
    assert task["recipients"][0]["name"] == "Acme"
    assert task["recipients"][0]["phone"] == "+13125550199"
    assert task["notes"] == "Fix boiler\n\nBlue door"
    start = datetime.fromisoformat(seeded["startDate"]).replace(tzinfo=ZoneInfo(ZONE))
    assert task["completeAfter"] == start.timestamp() * 1000
    assert task["completeBefore"] > task["completeAfter"]
    view = harness.task_view(1)
    assert view["onfleet_task_id"] == task["id"]
    assert view["short_id"] == task["shortId"]
    assert view["tracking_url"] == task["trackingURL"]
    assert view["onfleet_worker_id"] == task["worker"]
    assert view["sync_state"] == "synced" and view["last_error"] is None
    assert harness.reasons("task 1") == [("created", "eligible")]


# ----------------------------------------------------------------------------- rule 4
def test_rule_4_only_fingerprinted_changes_write_and_reassign_moves_the_task(
    harness: Harness,
) -> None:
    harness.seed_striven(tasks=[striven_task(1)])
    harness.poll()
    onfleet_id = harness.task_view(1)["onfleet_task_id"]
    harness.clear_requests()

    harness.seed_striven(tasks=[{"id": 1, "description": "Not synced", "customer": {"id": 501}}])
    harness.poll()
    assert harness.onfleet_calls() == []  # description/customer are not in the fingerprint
    assert harness.reasons("task 1")[-1] == ("created", "eligible")  # nothing new recorded

    harness.seed_striven(tasks=[{"id": 1, "dueDate": local(6)}])
    harness.poll()
    assert harness.onfleet_calls() == [f"PUT /tasks/{onfleet_id}"]
    assert harness.reasons("task 1")[-1] == ("updated", "striven_changed")
    harness.clear_requests()

    harness.seed_striven(tasks=[{"id": 1, "assignedTo": [8]}])
    harness.poll()
    task = harness.onfleet_tasks()[1]
    workers = {w["id"]: w for w in harness.onfleet()["workers"]}
    assert workers[task["worker"]]["name"] == "Bob Stone"
    assert task["id"] == onfleet_id  # moved, not re-created
    assert f"PUT /tasks/{onfleet_id}" in harness.onfleet_calls()
    assert harness.reasons("task 1")[-1] == ("updated", "assignee_changed")
    assert harness.employee_view(7)["active_tasks"] == []
    assert [t["striven_task_id"] for t in harness.employee_view(8)["active_tasks"]] == ["1"]


# ----------------------------------------------------------------------------- rule 5
def test_rule_5_canceled_deletes_and_completed_in_onfleet_records_the_reason(
    harness: Harness,
) -> None:
    harness.seed_striven(tasks=[striven_task(1), striven_task(2)])
    harness.poll()
    ids = {t: harness.task_view(t)["onfleet_task_id"] for t in (1, 2)}
    completed = harness.sandbox.post(
        f"/onfleet/api/v2/tasks/{ids[2]}/complete",
        json={"completionDetails": {"success": True}},
        auth=("sandbox-onfleet-key", ""),
    )
    assert completed.status_code == 200, completed.text
    harness.seed_striven(tasks=[{"id": 1, "status": "Canceled"}, {"id": 2, "status": "Canceled"}])
    harness.poll()
    remaining = harness.onfleet_tasks()
    assert 1 not in remaining and remaining[2]["state"] == 3
    assert harness.reasons("task 1")[-1] == ("deleted", "canceled_in_striven")
    assert harness.task_view(1)["sync_state"] == "deleted"
    assert harness.reasons("task 2")[-1] == ("skipped", "completed_in_onfleet")
    assert harness.task_view(2)["sync_state"] == "completed_in_onfleet"
    harness.clear_requests()
    harness.seed_striven(tasks=[{"id": 2, "title": "Still canceled"}])
    harness.poll()
    assert harness.onfleet_calls() == []  # completed: not tried again


# ----------------------------------------------------------------------------- rule 6
def test_rule_6_employees_become_drivers_matched_by_phone(harness: Harness) -> None:
    harness.seed_onfleet(
        teams=[{"id": "teamPreexisting00000000a", "name": "Elsewhere"}],
        workers=[
            {
                "id": "workerDeePark0000000000a",
                "name": "dee park",
                "phone": "+13125550111",
                "teams": ["teamPreexisting00000000a"],
            },
            {
                "id": "workerSomeoneElse00000a",
                "name": "Someone Else",
                "phone": "+13125550112",
                "teams": ["teamPreexisting00000000a"],
            },
        ],
    )
    harness.seed_striven(
        tasks=[
            striven_task(1, assignedTo=[7]),
            striven_task(2, assignedTo=[7]),
            striven_task(3, assignedTo=[11]),
            striven_task(4, assignedTo=[12]),
            striven_task(5, assignedTo=[12]),
            striven_task(6, assignedTo=[9]),
        ]
    )
    harness.poll()
    workers = {w["phone"]: w for w in harness.onfleet()["workers"]}
    assert workers["+13125550107"]["name"] == "Ann Lee"  # created once for two tasks
    posts = [c for c in harness.onfleet_calls() if c == "POST /workers"]
    assert len(posts) == 1
    assert harness.reasons("employee 7") == [("created", "no_worker_with_phone")]
    # same phone and name (case aside): linked, and it joined its Striven team
    assert harness.reasons("employee 11") == [("linked", "phone_and_name_match")]
    assert harness.onfleet_tasks()[3]["worker"] == "workerDeePark0000000000a"
    assert len(workers["+13125550111"]["teams"]) == 2
    # same phone, another name: no driver, the task fails, one email for both tasks
    assert workers["+13125550112"]["name"] == "Someone Else"
    assert {4, 5, 6}.isdisjoint(harness.onfleet_tasks())
    assert harness.reasons("task 4") == [("failed", "driver_name_conflict")]
    assert harness.task_view(5)["reason"] == "driver_name_conflict"
    assert "Someone Else" in harness.task_view(5)["last_error"]
    conflict = [s for s in email_subjects() if "Eve Moss" in s]
    assert conflict == ["[fleetbridge] Onfleet driver for Eve Moss could not be created"]
    # no phone of the selected type
    assert harness.reasons("task 6") == [("failed", "driver_no_phone_of_type")]
    assert harness.employee_view(12)["status"] == "failed"


def test_rule_6_one_worker_creates_a_new_driver_while_the_others_wait(harness: Harness) -> None:
    from fleetbridge.core.mappings import MappingRepository
    from fleetbridge.core.models import Mapping, iso

    seeded = harness.seed_onfleet(
        teams=[{"id": "teamNorth000000000000000", "name": "North"}],
        workers=[
            {
                "id": "workerAnnLee000000000000",
                "name": "Ann Lee",
                "phone": "+13125550107",
                "teams": ["teamNorth000000000000000"],
            }
        ],
    )
    assert seeded["workers"]
    mappings = MappingRepository(harness.connection_id)
    now = datetime.now(UTC)
    # employee 7: another worker claimed it a moment ago and links it while we wait
    creating = mappings.save(
        Mapping(
            connection_id=harness.connection_id,
            entity="employee",
            external_id="7",
            data={"status": "creating", "claimed_at": iso(now)},
        )
    )
    # employee 8: a claim taken 10 s ago by an invocation that has ended since (killed at its
    # timeout) is taken over at once: claims lapse with the invocation that took them
    lapsed = {"claimed_at": iso(now - timedelta(seconds=10)), "claim_expires_at": iso(now)}
    mappings.save(
        Mapping(
            connection_id=harness.connection_id,
            entity="employee",
            external_id="8",
            data={"status": "creating", **lapsed},
        )
    )

    def link_later() -> None:
        # link once Bob's driver is being created, i.e. after task 1 was put off: a fixed
        # delay raced the poll on a busy machine
        give_up = time.monotonic() + 30
        while "POST /workers" not in harness.onfleet_calls() and time.monotonic() < give_up:
            time.sleep(0.05)
        data = {"status": "created", "name": "Ann Lee", "phone": "+13125550107"}
        mappings.save(
            creating.model_copy(update={"other_id": "workerAnnLee000000000000", "data": data})
        )

    threading.Thread(target=link_later).start()
    harness.seed_striven(tasks=[striven_task(1, assignedTo=[7]), striven_task(2, assignedTo=[8])])
    harness.poll()
    tasks = harness.onfleet_tasks()
    assert tasks[1]["worker"] == "workerAnnLee000000000000"
    workers = {w["id"]: w["name"] for w in harness.onfleet()["workers"]}
    assert workers[tasks[2]["worker"]] == "Bob Stone"
    lookups = [
        c for c in harness.onfleet_calls() if c.startswith(("GET /workers", "POST /workers"))
    ]
    assert lookups == ["GET /workers", "POST /workers"]  # for Bob only: Ann's was awaited
    # task 1 was put off to the end of its chunk rather than waited for first
    created = [a["entity"] for a in reversed(harness.activity(action="created"))]
    assert [e for e in created if e.startswith("task")] == ["task 2", "task 1"]


# ----------------------------------------------------------------------------- rule 7
def test_rule_7_teams_are_created_and_membership_follows_striven(harness: Harness) -> None:
    harness.seed_striven(tasks=[striven_task(1, assignedTo=[7]), striven_task(2, assignedTo=[8])])
    harness.poll()
    teams = {t["name"]: t for t in harness.onfleet()["teams"]}
    assert set(teams) == {"North", "South"}  # the selected ones only
    workers = {w["name"]: w["id"] for w in harness.onfleet()["workers"]}
    assert set(teams["North"]["workers"]) == {workers["Ann Lee"], workers["Bob Stone"]}
    assert teams["South"]["workers"] == [workers["Bob Stone"]]
    harness.clear_requests()

    harness.poll()  # membership unchanged: not even a read
    assert harness.onfleet_calls() == []

    harness.seed_striven(teams=[{"id": 10, "memberIds": [8, 9]}, {"id": 20, "memberIds": [7, 8]}])
    harness.poll()
    teams = {t["name"]: t for t in harness.onfleet()["teams"]}
    assert teams["North"]["workers"] == [workers["Bob Stone"]]
    assert set(teams["South"]["workers"]) == {workers["Ann Lee"], workers["Bob Stone"]}
    assert harness.reasons("team 10")[-1] == ("updated", "membership_changed_in_striven")

    # the daily run creates a selected team that went missing in Onfleet
    harness.sandbox.delete(
        f"/onfleet/api/v2/teams/{teams['South']['id']}", auth=("sandbox-onfleet-key", "")
    ).raise_for_status()
    assert harness.daily() == {"queued": 1}
    teams = {t["name"]: t for t in harness.onfleet()["teams"]}
    assert set(teams["South"]["workers"]) == {workers["Ann Lee"], workers["Bob Stone"]}
    assert harness.reasons("team 20")[-1] == ("created", "selected_team_missing_in_onfleet")


# ----------------------------------------------------------------------------- rule 8
def test_rule_8_a_failure_is_emailed_once_and_again_when_its_update_fails(
    harness: Harness,
) -> None:
    harness.seed_striven(tasks=[striven_task(1, location=None)])
    harness.poll()
    assert harness.reasons("task 1") == [("failed", "no_location")]
    assert email_subjects() == ["[fleetbridge] Striven task 1 could not be synced to Onfleet"]
    text = str(getattr(emails()[0], "body", ""))
    assert "no_location" in text and NOTIFY in emails()[0].destinations["ToAddresses"]

    harness.poll()  # the same unchanged failure: not emailed again
    assert len(emails()) == 1

    harness.seed_striven(tasks=[{"id": 1, "title": "Still nowhere"}])
    harness.poll()  # the next update is tried again, fails again: a new email
    assert len(emails()) == 2
    assert harness.reasons("task 1")[-1] == ("failed", "no_location")

    harness.seed_striven(tasks=[{"id": 1, "location": LOCATION}])
    harness.poll()
    assert harness.task_view(1)["sync_state"] == "synced"
    assert len(emails()) == 2


def test_rule_8_a_driver_conflict_is_emailed_again_when_the_task_fails_after_its_update(
    harness: Harness,
) -> None:
    harness.seed_onfleet(
        teams=[{"id": "teamPreexisting00000000a", "name": "Elsewhere"}],
        workers=[
            {
                "id": "workerSomeoneElse00000a",
                "name": "Someone Else",
                "phone": "+13125550112",
                "teams": ["teamPreexisting00000000a"],
            }
        ],
    )
    harness.seed_striven(tasks=[striven_task(1, assignedTo=[12])])
    harness.poll()
    harness.poll()
    assert len(emails()) == 1
    harness.seed_striven(tasks=[{"id": 1, "title": "Again"}])
    harness.poll()
    assert email_subjects()[-1] == "[fleetbridge] Striven task 1 could not be synced to Onfleet"
    assert len(emails()) == 2


def test_rule_8_a_vendor_outage_dead_letters_and_emails_the_task(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEETBRIDGE_HTTP_MAX_RETRIES", "0")
    from fleetbridge.core.config import get_settings

    get_settings.cache_clear()
    harness.seed_striven(tasks=[striven_task(1)])
    harness.poll()  # teams and the first task: Onfleet is up
    harness.seed_striven(tasks=[striven_task(2)])
    harness.sandbox.post("/_sandbox/onfleet/faults", json={"status_5xx": 1.0}).raise_for_status()
    harness.poll()  # the poll needs only Striven; task 2's first attempt fails
    assert harness.task_view(1)["sync_state"] == "synced"
    time.sleep(1.5)  # the message's visibility timeout (scaled to 1 s in tests)
    harness.work(receive_count=5)  # the last attempt fails: dead letter
    harness.sandbox.post("/_sandbox/onfleet/faults", json={}).raise_for_status()
    get_settings.cache_clear()
    view = harness.task_view(2)
    assert (view["sync_state"], view["reason"]) == ("failed", "vendor_error")
    assert email_subjects() == ["[fleetbridge] Striven task 2 could not be synced to Onfleet"]


# ----------------------------------------------------------------------------- rule 9
def test_rule_9_views_of_tasks_and_employees(harness: Harness, other_api: Api) -> None:
    harness.seed_striven(tasks=[striven_task(1), striven_task(2), striven_task(3, assignedTo=[8])])
    harness.poll()
    ann = harness.employee_view(7)
    assert ann["phone"] == "+13125550107" and ann["status"] == "created"
    assert ann["onfleet_worker_id"] == harness.task_view(1)["onfleet_worker_id"]
    assert sorted(t["striven_task_id"] for t in ann["active_tasks"]) == ["1", "2"]
    assert {t["short_id"] for t in ann["active_tasks"]} == {
        harness.task_view(1)["short_id"],
        harness.task_view(2)["short_id"],
    }
    status, listing = harness.api("GET", f"/connections/{harness.connection_id}/employees")
    assert status == 200
    assert [e["striven_employee_id"] for e in listing["items"]] == ["7", "8"]
    status, body = harness.api("GET", f"/connections/{harness.connection_id}/tasks/999")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, _ = other_api("GET", f"/connections/{harness.connection_id}/tasks/1")
    assert status == 404  # another tenant's connection


# ----------------------------------------------------------------------------- rule 10
def test_rule_10_a_used_up_day_quota_pauses_polling_without_failing_tasks(
    harness: Harness,
) -> None:
    harness.seed_striven(tasks=[striven_task(1)])
    harness.poll()
    # a quota change forgets the counts: one call left today, the poll needs more
    harness.seed_striven(settings={"per_day": 1}, tasks=[{"id": 1, "title": "Changed"}])
    harness.poll()
    assert harness.reasons("task poll") == [("skipped", "striven_day_quota_exhausted")]
    assert harness.task_view(1)["sync_state"] == "synced"  # nothing failed
    assert emails() == []
    before = len(harness.striven_requests())
    harness.poll()  # paused: Striven is not called at all
    assert len(harness.striven_requests()) == before
    assert len(harness.reasons("task poll")) == 1  # said once


def test_rule_10_both_vendors_share_their_rate_limits(
    aws: dict[str, Any], sandbox: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every call to an account, from any client (any Lambda process), waits for the account's
    next slot: Onfleet's 20 requests/s and Striven's configured 500/min, with the margin."""
    from fleetbridge.core import ratelimit
    from fleetbridge.core.models import Connection
    from fleetbridge.core.ratelimit import SharedRateLimiter
    from fleetbridge.flows.striven_onfleet.context import striven_client
    from fleetbridge.vendors.onfleet import OnfleetClient

    connection = Connection(
        id="con_x",
        tenant_id="t",
        flow="striven-onfleet",
        name="x",
        settings={**SETTINGS, "striven_requests_per_minute": 500},
        secret_arn="arn",
        created_at="now",
        updated_at="now",
    )
    monkeypatch.setenv("FLEETBRIDGE_RATE_TIME_FACTOR", "1")  # the vendors' real limits
    onfleet = OnfleetClient.for_connection(connection, CREDENTIALS)
    striven = striven_client(connection, CREDENTIALS)  # the flow passes its plan's limit
    # twins: the same accounts as seen from another process (their own limiter objects)
    onfleet_twin = OnfleetClient.for_connection(connection, CREDENTIALS)
    striven_twin = striven_client(connection, CREDENTIALS)

    class Clock:
        """The limiter's clock: sleeping moves it on; records when each call may start."""

        now = 1_900_000_000.0
        starts: list[float] = []

        @classmethod
        def time(cls) -> float:
            return cls.now

        @classmethod
        def sleep(cls, seconds: float) -> None:
            cls.now += max(seconds, 0.0)

    acquire = SharedRateLimiter.acquire

    def recorded(limiter: SharedRateLimiter) -> None:
        acquire(limiter)
        Clock.starts.append(Clock.now)

    monkeypatch.setattr(ratelimit, "time", Clock)
    monkeypatch.setattr(SharedRateLimiter, "acquire", recorded)

    def gaps(calls: list[Any]) -> list[float]:
        Clock.starts = []
        for call in calls:
            call()
        starts = Clock.starts[1:]  # the first call starts inside the current slot
        return [later - earlier for earlier, later in pairwise(starts)]

    onfleet_gaps = gaps([onfleet.auth_test, onfleet_twin.auth_test] * 3)
    # (the clock counts seconds since 1970 in a float: equal to a few microseconds)
    assert onfleet_gaps == pytest.approx([1 / 19 * 1.02] * 4, abs=1e-5)
    striven_gaps = gaps([striven.task_types, striven_twin.task_types] * 3)
    assert len(striven_gaps) >= 4  # (and each twin's token request)
    assert striven_gaps == pytest.approx([60 / 499 * 1.02] * len(striven_gaps), abs=1e-5)
    for client in (onfleet, striven, onfleet_twin, striven_twin):
        client.close()


# ----------------------------------------------------------------------------- issue 12
def _poll_redelivering(harness: Harness, event_id: str) -> None:
    """A poll, then the worker over the queue, redelivering failed messages at once."""
    event = schedule_event("striven-onfleet-poll")
    event["id"] = event_id
    invoke("striven_onfleet_poll", event)
    url = harness.aws["queues"][QUEUE]
    for _ in range(20):
        messages = harness.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            break
        batch = sqs_event([json.loads(m["Body"]) for m in messages], queue=QUEUE)
        for record, message in zip(batch["Records"], messages, strict=True):
            record["messageId"] = message["MessageId"]
        failed = {
            f["itemIdentifier"]
            for f in invoke("striven_onfleet_worker", batch)["batchItemFailures"]
        }
        for message in messages:
            handle = message["ReceiptHandle"]
            if message["MessageId"] in failed:
                harness.sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0
                )
            else:
                harness.sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)


def test_issue12_a_task_deleted_in_onfleet_is_created_again_once_when_answers_are_lost(
    harness: Harness,
) -> None:
    """The Onfleet task was deleted by a dispatcher; the Striven task changes: the update's 404
    re-creates it like any create (intent first, a lost answer looked up), so Onfleet ends
    with one task for it even when every create answer is lost."""
    harness.seed_striven(tasks=[striven_task(1)])
    harness.poll()
    first = harness.task_view(1)["onfleet_task_id"]
    harness.sandbox.delete(
        f"/onfleet/api/v2/tasks/{first}", auth=("sandbox-onfleet-key", "")
    ).raise_for_status()
    harness.sandbox.post(
        "/_sandbox/onfleet/faults", json={"lost_response": 1.0, "methods": ["POST"], "seed": 1}
    ).raise_for_status()
    harness.seed_striven(tasks=[{"id": 1, "dueDate": local(6)}])
    _poll_redelivering(harness, "poll-recreate-lost")
    lost = [r for r in harness._onfleet_log() if r["fault"] == "lost_response"]
    assert lost, "the re-create's answer was never lost"
    tasks = [t for t in harness.onfleet()["tasks"] if t["id"] != first]
    assert len(tasks) == 1
    assert harness.task_view(1)["onfleet_task_id"] == tasks[0]["id"]
    assert harness.reasons("task 1")[-1] == ("created", "recreated_missing_in_onfleet")


def test_issue12_lost_create_answers_make_no_second_task_driver_or_team(harness: Harness) -> None:
    """Onfleet applies `POST`s (team, worker, task) and loses half the answers: the team is
    found by its name (409), the driver by its phone, the task by its `strivenTaskId` metadata
    among the driver's tasks created since the saved intent. One of each, none twice."""
    harness.sandbox.post(
        "/_sandbox/onfleet/faults", json={"lost_response": 0.5, "methods": ["POST"], "seed": 4}
    ).raise_for_status()
    harness.seed_striven(tasks=[striven_task(1), striven_task(2)])
    _poll_redelivering(harness, "poll-lost-answers")
    onfleet = harness.onfleet()
    lost = [r for r in harness._onfleet_log() if r["fault"] == "lost_response"]
    assert {r["path"].rsplit("/", 1)[-1] for r in lost} >= {"tasks"}
    per_task = Counter(
        m["value"] for t in onfleet["tasks"] for m in t["metadata"] if m["name"] == "strivenTaskId"
    )
    assert per_task == {1: 1, 2: 1}
    assert len(onfleet["workers"]) == 1
    assert len({t["name"] for t in onfleet["teams"]}) == len(onfleet["teams"])
