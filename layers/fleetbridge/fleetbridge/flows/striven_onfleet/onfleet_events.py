"""Issue 15 item 5: what Onfleet tells us about our tasks (its signed task webhooks).

`POST /hooks/onfleet/{connection_id}` (`flow.receive_webhook`) checks `X-Onfleet-Signature`
(hex HMAC-SHA512 of the raw body, keyed with the connection's `onfleet_webhook_secret`
hex-decoded) and queues the triggers that change what the views show:

| trigger | what we record |
|---|---|
| 0 taskStarted | `onfleet_state` 2: the driver is on it |
| 3 taskCompleted | `onfleet_state` 3 and `completed_at`: nothing will change the task any more |
| 9 taskAssigned | the Onfleet worker (and its name) that really has the task |
| 10 taskUnassigned | no worker |

Nothing is written to Onfleet or Striven (Striven's public API has no task update we could
rely on): Striven stays the source of truth, and an assignment changed by a dispatcher in
Onfleet is kept until the task's assignment changes in Striven (its next reassignment moves
it). Deliveries repeat and arrive out of order: an event older than the last one applied, or
than our own last write of the task, is ignored; so are tasks that are not ours (no
`strivenTaskId` metadata, or another Onfleet id than our mapping's).
"""

from __future__ import annotations

from typing import Any

from fleetbridge.core.models import Mapping
from fleetbridge.flows.striven_onfleet import EMPLOYEE, LINKED, TASK, TASK_METADATA
from fleetbridge.flows.striven_onfleet.context import FlowContext
from fleetbridge.flows.striven_onfleet.task_rules import ONFLEET_COMPLETED

TASK_STARTED, TASK_COMPLETED, TASK_ASSIGNED, TASK_UNASSIGNED = 0, 3, 9, 10
#: The triggers the receiver queues (the others are answered 200 and dropped).
WATCHED = frozenset({TASK_STARTED, TASK_COMPLETED, TASK_ASSIGNED, TASK_UNASSIGNED})
ONFLEET_ACTIVE = 2


def striven_task_id(task: dict[str, Any] | None) -> str | None:
    """The Striven task id in an Onfleet task's metadata (None: not one of ours)."""
    for item in (task or {}).get("metadata") or []:
        if isinstance(item, dict) and item.get("name") == TASK_METADATA:
            return str(item.get("value"))
    return None


def apply_onfleet_event(ctx: FlowContext, payload: dict[str, Any], source_event: str) -> str:
    """Record one queued Onfleet task event; returns what was done (for logs and tests)."""
    task = payload.get("task") or {}
    external = striven_task_id(task)
    mapping = ctx.mappings.get(TASK, external) if external else None
    if mapping is None or mapping.other_id != payload.get("task_id"):
        return "not_ours"
    at = int(payload.get("time") or 0)
    if at and at < max(int(mapping.data.get("onfleet_event_at") or 0), _written(mapping)):
        return "stale"
    trigger = int(payload["trigger"])
    data = dict(mapping.data)
    if at:
        data["onfleet_event_at"] = at
    reason = None
    if trigger == TASK_COMPLETED and data.get("onfleet_state") != ONFLEET_COMPLETED:
        data.update(onfleet_state=ONFLEET_COMPLETED, completed_at=at or None)
        reason = "completed_in_onfleet"
    elif trigger == TASK_STARTED and data.get("onfleet_state") not in (2, ONFLEET_COMPLETED):
        data["onfleet_state"] = ONFLEET_ACTIVE
        reason = "started_in_onfleet"
    elif trigger == TASK_ASSIGNED:
        worker = payload.get("worker_id") or task.get("worker")
        if worker and worker != data.get("worker_id"):
            employee, name = _worker(ctx, str(worker))
            data.update(
                worker_id=worker, worker_name=name, employee_id=employee, assigned_in_onfleet=True
            )
            reason = "assigned_in_onfleet"
    elif trigger == TASK_UNASSIGNED and data.get("worker_id"):
        data.update(worker_id=None, worker_name=None, employee_id=None, assigned_in_onfleet=True)
        reason = "unassigned_in_onfleet"
    if data == mapping.data:
        return "unchanged"
    ctx.mappings.save(mapping.model_copy(update={"data": data}))
    if reason is None:
        return "unchanged"
    ctx.record(
        "updated",
        f"task {mapping.external_id}",
        reason,
        source=source_event,
        ids={
            "striven_task_id": int(mapping.external_id),
            "onfleet_task_id": mapping.other_id,
            **({"onfleet_worker_id": data["worker_id"]} if data.get("worker_id") else {}),
        },
    )
    return reason


def _written(mapping: Mapping) -> int:
    return int(mapping.data.get("written_at") or 0)


def _worker(ctx: FlowContext, worker_id: str) -> tuple[int | None, str | None]:
    """The employee linked to an Onfleet worker, and the worker's name (our link's, else
    Onfleet's: one `GET /workers/{id}` for a worker we did not make)."""
    for mapping in ctx.mappings.list(EMPLOYEE):
        if mapping.other_id == worker_id and mapping.data.get("status") in LINKED:
            return int(mapping.external_id), mapping.data.get("name")
    found = ctx.onfleet.get_worker(worker_id)
    return None, found.name if found is not None else None
