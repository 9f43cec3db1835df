"""The poll → worker messages of the Striven → Onfleet flow: chunks that survive JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fleetbridge.flows.striven_onfleet.task_rules import NOTES_LIMIT, task_fingerprint
from fleetbridge.flows.striven_onfleet.window import hour_of
from fleetbridge.flows.striven_onfleet.work import (
    MAX_CHUNK_BYTES,
    WINDOW_RECHECK,
    chunks,
    parse_work,
    tasks_message,
)
from fleetbridge.vendors.striven_models import StrivenEmployee, StrivenTask, StrivenTeam

TASK = {
    "id": 100,
    "title": "Fix boiler",
    "description": "x" * (NOTES_LIMIT + 50),
    "status": {"id": 1, "name": "Open"},
    "type": {"id": 1, "name": "Service"},
    "customer": {"id": 9, "name": "Acme", "phone": "(555) 201-0000"},
    "assignments": [{"employee": {"id": 7, "name": "Ann Lee"}}, 8],
    "startDate": "2024-05-01T09:00:00",
    "dueDate": "2024-05-01T17:00:00.250",
    "dateCreated": "2024-04-01T08:00:00",
    "lastUpdatedDate": "2024-04-30T10:00:00.123",
    "location": {
        "name": "HQ",
        "address": {"address1": "1 Main St", "city": "Springfield", "postalCode": "62701"},
        "lat": "39.8",
        "lng": -89.6,
    },
}
EMPLOYEE = {
    "id": 7,
    "firstName": "Ann",
    "lastName": "Lee",
    "phones": [{"phoneType": {"id": 1, "name": "Mobile"}, "number": "555 201 0107"}],
}
TEAMS = [
    StrivenTeam(id=10, name="North", memberIds=[7, 9]),
    StrivenTeam(id=20, name="South", memberIds=[8]),
    StrivenTeam(id=30, name="West", memberIds=[1]),
]


def small(task_id: int, assignee: int = 7) -> StrivenTask:
    return StrivenTask.model_validate(
        TASK | {"id": task_id, "description": "short", "assignments": [assignee]}
    )


def test_a_message_round_trips_through_json() -> None:
    task = StrivenTask.model_validate(TASK)
    employee = StrivenEmployee.model_validate(EMPLOYEE)
    message = tasks_message("con_1", [task], TEAMS, {7: employee}, {8: "W8", 9: "W9"})
    assert message.event_id == "task:100:2024-04-30T10:00:00.123000"
    [work] = parse_work(json.loads(message.model_dump_json())["payload"])
    assert work.task.model_dump(exclude={"description"}) == task.model_dump(exclude={"description"})
    assert len(work.task.description or "") == NOTES_LIMIT  # what Onfleet would keep anyway
    assert task_fingerprint(work.task, 7, "America/Chicago") == task_fingerprint(
        task, 7, "America/Chicago"
    )
    # only the selected teams its assignees are in, and only those assignees
    assert work.team_members == {10: {7}, 20: {8}}
    assert work.team_names == {10: "North", 20: "South"}
    assert work.employees == {7: employee}
    assert work.drivers == {8: "W8"}  # linked drivers of these assignees only
    assert work.employee_teams(7) == [10] and work.employee_teams(8) == [20]


def test_a_chunk_shares_its_facts_and_names_every_version() -> None:
    tasks = [small(1, 7), small(2, 8), small(3, 7)]
    message = tasks_message("con_1", tasks, TEAMS, {}, {7: "W7", 8: "W8"})
    assert message.event_id.startswith("tasks:1-3:")
    assert message.payload["entity"] == "tasks 1, 2, 3"
    works = parse_work(json.loads(message.model_dump_json())["payload"])
    assert [w.task.id for w in works] == [1, 2, 3]
    assert works[0].drivers == {7: "W7", 8: "W8"} and works[0].team_members == {10: {7}, 20: {8}}
    same = tasks_message("con_1", [small(1, 7), small(2, 8), small(3, 7)], TEAMS, {})
    assert same.event_id == message.event_id  # read again unchanged: the same message
    moved = small(2, 8).model_copy(
        update={"last_updated_date": datetime(2024, 5, 2, 8, 0)}  # a new version
    )
    assert tasks_message("con_1", [tasks[0], moved, tasks[2]], TEAMS, {}).event_id != (
        message.event_id
    )


def test_chunks_are_bounded_by_count_and_size() -> None:
    assert [len(c) for c in chunks((small(i) for i in range(1, 26)), 10)] == [10, 10, 5]
    big = [StrivenTask.model_validate(TASK | {"id": i}) for i in range(1, 6)]
    sizes = [len(c) for c in chunks(big, 10)]
    assert sum(sizes) == 5 and max(sizes) < 5  # ~10 KB each: two per chunk
    for chunk in chunks(big, 10):
        assert sum(len(t.model_dump_json()) for t in chunk) <= MAX_CHUNK_BYTES


def test_a_window_recheck_has_its_own_event_id() -> None:
    task = StrivenTask.model_validate(TASK)
    message = tasks_message("con_1", [task], TEAMS, {}, event=WINDOW_RECHECK)
    assert message.event == WINDOW_RECHECK
    assert message.event_id.startswith("window:100:")


def test_window_buckets_are_utc_hours() -> None:
    assert hour_of(datetime(2026, 11, 23, 6, 59, tzinfo=UTC)) == "2026-11-23T06"
