"""The poll → worker contract: one queued message per chunk of a streamed page of Striven tasks.

The worker must not read Striven per task (5,000 tasks would spend the whole day quota), so a
message holds the tasks as the poll read them, the selected teams their assignees belong to
(rule 1, rule 7), the Onfleet worker of each assignee already linked to a driver and the Striven
record of any other assignee (rule 6): the worker reads neither Striven nor the employee
mappings.

Why chunks of up to `TASKS_PER_MESSAGE` (default 10) rather than one task per message: each
message costs the worker an idempotency record, a connection read and a mapping read before any
Onfleet call; a chunk pays them once and reads its tasks' mappings in one batch, which leaves
about three DynamoDB calls per task (rate-limit slot, mapping, activity). Chunks still spread
over many workers, so the Onfleet limit (20/s) is what bounds a first sync (measured in
`bench/striven_onfleet.py`; docs/striven-onfleet.md has the figures). A chunk also stays well
under SQS's 256 KB per batch of ten messages (`MAX_CHUNK_BYTES`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fleetbridge.core.errors import ConflictError
from fleetbridge.core.models import Mapping as Stored
from fleetbridge.core.models import fingerprint
from fleetbridge.core.queue import WorkMessage
from fleetbridge.flows.striven_onfleet import FLOW_ID
from fleetbridge.flows.striven_onfleet.task_rules import NOTES_LIMIT, task_version
from fleetbridge.vendors.striven_models import StrivenEmployee, StrivenTask, StrivenTeam

if TYPE_CHECKING:
    from fleetbridge.flows.striven_onfleet.context import FlowContext

TASK_CHANGED = "task_changed"
WINDOW_RECHECK = "window_recheck"
MEMBERSHIP_RECHECK = "membership_recheck"
#: Tasks per queued message (1 = one message per task).
TASKS_PER_MESSAGE = int(os.environ.get("TASKS_PER_MESSAGE", "10"))
#: Serialized tasks per message at most: ten messages (one SQS batch) stay under 256 KB.
MAX_CHUNK_BYTES = 22_000


@dataclass(frozen=True)
class TaskWork:
    """One task to decide, with the team and employee facts the poll knew."""

    task: StrivenTask
    team_members: dict[int, set[int]]
    team_names: dict[int, str]
    employees: dict[int, StrivenEmployee]
    drivers: dict[int, str]  # assignees already linked to an Onfleet worker (as the poll knew)

    def employee_teams(self, employee_id: int) -> list[int]:
        """The selected teams `employee_id` belongs to (in team id order)."""
        return sorted(t for t, members in self.team_members.items() if employee_id in members)


def snapshot(task: StrivenTask) -> dict[str, Any]:
    """The task as JSON, its description cut to what Onfleet keeps."""
    data = task.model_dump(mode="json")
    if data.get("description"):
        data["description"] = data["description"][:NOTES_LIMIT]
    return data


def file_snapshot(
    ctx: FlowContext, entity: str, task: StrivenTask, *, refile: bool = False, **facts: Any
) -> None:
    """File `task`'s snapshot (and `facts`) under `entity` / its id, to be queued again later
    (window, waiting and outage re-checks). One of the same version filed already is kept, unless
    `refile`: written again, so that a poll that queued the old entry meanwhile does not delete
    it (its delete is conditional on the entry it read)."""
    data = {**facts, "version": task_version(task), "task": snapshot(task)}
    existing = ctx.mappings.get(entity, str(task.id))
    if existing is not None and existing.data.get("version") == data["version"] and not refile:
        return
    base = existing or Stored(connection_id=ctx.connection.id, entity=entity, external_id="")
    with suppress(ConflictError):  # filed by a concurrent delivery of the same task
        ctx.mappings.save(base.model_copy(update={"external_id": str(task.id), "data": data}))


def assignee_ids(tasks: Iterable[StrivenTask]) -> set[int]:
    """Every employee assigned to any of `tasks`."""
    return {a.id for task in tasks for a in task.assigned_to if a.id is not None}


def chunks(tasks: Iterable[StrivenTask], size: int | None = None) -> Iterator[list[StrivenTask]]:
    """`tasks` in lists of at most `size` tasks and `MAX_CHUNK_BYTES` (streamed)."""
    size = size or TASKS_PER_MESSAGE
    chunk: list[StrivenTask] = []
    weight = 0
    for task in tasks:
        cost = len(task.model_dump_json())
        if chunk and (len(chunk) >= size or weight + cost > MAX_CHUNK_BYTES):
            yield chunk
            chunk, weight = [], 0
        chunk.append(task)
        weight += cost
    if chunk:
        yield chunk


def tasks_message(
    connection_id: str,
    tasks: list[StrivenTask],
    teams: Iterable[StrivenTeam],
    employees: Mapping[int, StrivenEmployee],
    drivers: Mapping[int, str] | None = None,
    *,
    event: str = TASK_CHANGED,
    poll_id: str = "",
    prefix: str | None = None,
) -> WorkMessage:
    """The message for a chunk: `teams` are the selected teams, `employees` the records of
    unlinked assignees, `drivers` the Onfleet workers of linked ones (employee id → worker id).

    The event id names the tasks' versions: a chunk read twice (the poll overlap) is one message.
    `prefix` tells re-checks of the same versions apart (e.g. one per membership change).
    """
    assignees = assignee_ids(tasks)
    members = {
        str(team.id): {"name": team.name, "members": sorted(assignees & set(team.member_ids))}
        for team in teams
        if assignees & set(team.member_ids)
    }
    records = {
        str(e): employees[e].model_dump(mode="json") for e in sorted(assignees) if e in employees
    }
    linked = {str(e): w for e, w in (drivers or {}).items() if e in assignees}
    prefix = prefix or ("window" if event == WINDOW_RECHECK else "task")
    versions = [(t.id, task_version(t)) for t in tasks]
    if len(tasks) == 1:
        event_id = f"{prefix}:{tasks[0].id}:{versions[0][1] or 'none'}"
        entity = f"task {tasks[0].id}"
    else:
        event_id = f"{prefix}s:{tasks[0].id}-{tasks[-1].id}:{fingerprint(versions)[:16]}"
        entity = f"tasks {', '.join(str(t.id) for t in tasks)}"
    return WorkMessage(
        flow=FLOW_ID,
        connection_id=connection_id,
        kind="poll",
        event_id=event_id,
        event=event,
        payload={
            "entity": entity,
            "tasks": [snapshot(t) for t in tasks],
            "teams": members,
            "employees": records,
            "drivers": linked,
            "poll_id": poll_id,
        },
    )


def parse_work(payload: Mapping[str, Any]) -> list[TaskWork]:
    """The worker's view of a message: one `TaskWork` per task, sharing the chunk's facts."""
    teams = payload.get("teams") or {}
    members = {int(t): set(v.get("members") or []) for t, v in teams.items()}
    names = {int(t): str(v.get("name") or f"Team {t}") for t, v in teams.items()}
    employees = {
        int(e): StrivenEmployee.model_validate(record)
        for e, record in (payload.get("employees") or {}).items()
    }
    drivers = {int(e): str(w) for e, w in (payload.get("drivers") or {}).items()}
    raw = payload.get("tasks") or ([payload["task"]] if "task" in payload else [])
    return [
        TaskWork(StrivenTask.model_validate(t), members, names, employees, drivers) for t in raw
    ]
