"""Carrying out one task's decision (rules 3-6, 8): Onfleet writes, the mapping, the activity.

`task_rules.decide` plans without I/O; here the plan meets Onfleet. One Onfleet call per synced task
(create, update or delete); the driver costs two more only the first time its employee syncs.
Onfleet's answers that change the plan:
- a 404 on update means the task was deleted in Onfleet: it is created again, once (its
  intent saved first and a lost answer looked up, as for any create);
- a 400 on update or delete is checked with `GET /tasks/{id}`: a completed task cannot change,
  its reason `completed_in_onfleet` is recorded (and nothing is tried again for it); anything
  else is the task's failure `onfleet_rejected`;
- a 404 on delete: already gone, the mapping is closed.
Vendor outages (429/5xx after the client's retries) and auth errors raise: SQS retries the
message and, at the last attempt, `flow.on_dead_letter` records and emails the failure.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fleetbridge.core.errors import (
    ConflictError,
    VendorConflict,
    VendorNotFound,
    VendorUnavailable,
)
from fleetbridge.core.errors import VendorValidationError as Rejected
from fleetbridge.core.models import Mapping, fingerprint
from fleetbridge.flows.striven_onfleet import RETRY, TASK, TASK_METADATA, task_rules, waiting
from fleetbridge.flows.striven_onfleet.context import FlowContext
from fleetbridge.flows.striven_onfleet.drivers import (
    DriverBusy,
    DriverFailed,
    ensure_driver,
    forget_driver,
)
from fleetbridge.flows.striven_onfleet.failure_rules import failure_fingerprint, should_notify
from fleetbridge.flows.striven_onfleet.notices import task_failed
from fleetbridge.flows.striven_onfleet.task_rules import (
    ONFLEET_COMPLETED,
    SyncedTask,
    TaskDecision,
    eligible_from,
    is_transient_failure,
    status_name,
    task_payload,
    task_version,
    update_payload,
)
from fleetbridge.flows.striven_onfleet.window import remember
from fleetbridge.flows.striven_onfleet.work import TaskWork, file_snapshot
from fleetbridge.vendors.onfleet import OnfleetTask

#: Decisions that say nothing new: no activity record (a re-read of an unchanged task).
QUIET = frozenset({"unchanged", "previously_failed", "stale_snapshot"})


def synced_from(mapping: Mapping | None) -> SyncedTask | None:
    """What we last did for a task, from its mapping."""
    if mapping is None:
        return None
    data = mapping.data
    return SyncedTask(
        onfleet_task_id=mapping.other_id,
        parts=data.get("parts"),
        status=data.get("status", "synced"),
        version=data.get("version"),
        failure=data.get("failure"),
        fingerprint=mapping.fingerprint,
        reason=data.get("reason"),
    )


def _older(version: str | None, than: str | None, tz: ZoneInfo | None = None) -> bool:
    """Whether task version `version` is older than `than` (lastUpdatedDate texts).

    Stamps in the tenant's repeated autumn hour (`tz`) cannot be ordered (01:10 CST comes after
    01:50 CDT): such a version is never called older.
    """
    if not version or not than:
        return False
    try:
        mine, theirs = datetime.fromisoformat(version), datetime.fromisoformat(than)
    except (TypeError, ValueError):
        return False
    if tz is not None and (_repeated(mine, tz) or _repeated(theirs, tz)):
        return False
    return mine < theirs


def _repeated(stamp: datetime, tz: ZoneInfo) -> bool:
    """A naive local time that happens twice in `tz` (the hour the clocks go back)."""
    if stamp.tzinfo is not None:
        return False
    first, second = stamp.replace(tzinfo=tz), stamp.replace(tzinfo=tz, fold=1)
    return first.utcoffset() != second.utcoffset()


def sync_tasks(ctx: FlowContext, works: list[TaskWork], *, source_event: str) -> list[TaskDecision]:
    """A queued chunk: the tasks' mappings in one read, then each task in turn.

    A vendor outage raises and the whole chunk is delivered again: the tasks already carried out
    are then `unchanged` (no Onfleet call).
    """
    mappings = ctx.mappings.get_many(TASK, (str(w.task.id) for w in works))
    done: list[TaskDecision] = []
    deferred: list[TaskWork] = []
    for work in works:
        mapping = mappings.get(str(work.task.id))
        try:
            done.append(
                sync_task(ctx, work, source_event=source_event, mapping=mapping, wait=False)
            )
        except DriverBusy:
            # Its driver is being created by another worker right now (a first sync): do the
            # rest of the chunk first rather than wait, then come back to it. Nothing was
            # written for it yet.
            deferred.append(work)
    for work in deferred:
        mapping = mappings.get(str(work.task.id))
        done.append(sync_task(ctx, work, source_event=source_event, mapping=mapping))
    return done


def sync_task(
    ctx: FlowContext,
    work: TaskWork,
    *,
    source_event: str,
    mapping: Mapping | None,
    wait: bool = True,
) -> TaskDecision:
    """Decide one task (its `mapping` read by the caller; None: never seen) and carry the
    decision out; returns what was done. `wait`: see `drivers.ensure_driver`."""
    task = work.task
    if mapping is not None and _older(
        task_version(task), mapping.data.get("version"), ctx.settings.zone
    ):
        return TaskDecision("skip", "stale_snapshot")  # a newer version was handled already
    decision = task_rules.decide(
        task,
        ctx.settings,
        work.team_members,
        ctx.clock(),
        synced_from(mapping),
        mapping.data.get("onfleet_state") if mapping else None,
    )
    if decision.action == "skip":
        return _skipped(ctx, work, mapping, decision, source_event)
    if decision.action == "fail":
        message = "the task's location has neither an address nor coordinates"
        return _failed(ctx, work, mapping, decision, message, source_event)
    if decision.action == "delete":
        return _delete(ctx, work, mapping, decision, source_event)
    if decision.action == "unassign":
        return _unassign(ctx, work, mapping, decision, source_event)
    return _write(ctx, work, mapping, decision, source_event, wait)


# ----------------------------------------------------------------------------- writes
def _write(
    ctx: FlowContext,
    work: TaskWork,
    mapping: Mapping | None,
    decision: TaskDecision,
    source_event: str,
    wait: bool = True,
    *,
    retry_driver: bool = True,
) -> TaskDecision:
    """Create, update or reassign (the driver first: rule 6)."""
    task, tz, region = work.task, ctx.settings.zone, ctx.settings.default_region
    employee_id = decision.assignee_id
    assert employee_id is not None
    try:
        worker_id = ensure_driver(ctx, work, employee_id, source_event=source_event, wait=wait)
    except DriverFailed as exc:
        failed = TaskDecision("fail", exc.reason, decision.assignee_id)
        notify = not exc.notified and _retried(mapping, task_version(task))
        return _failed(ctx, work, mapping, failed, exc.message, source_event, notify=notify)
    onfleet_id = mapping.other_id if mapping and decision.action != "create" else None
    try:
        if onfleet_id is None:
            created, mapping = _create_once(ctx, work, mapping, worker_id)
        else:
            body = update_payload(task, worker_id, tz, decision.changed, region)
            try:
                created = ctx.onfleet.update_task(onfleet_id, body)
            except VendorNotFound:
                # Deleted in Onfleet meanwhile: created again, once, like any create.
                created, mapping = _create_once(ctx, work, mapping, worker_id)
            if created.id != onfleet_id:
                decision = TaskDecision(
                    "create",
                    "recreated_missing_in_onfleet",
                    decision.assignee_id,
                    (),
                    decision.parts,
                    decision.fingerprint,
                )
    except (Rejected, VendorConflict) as exc:
        if onfleet_id is None:  # the create's intent was saved: decide on the mapping as it is
            mapping = ctx.mappings.get(TASK, str(task.id))
        if onfleet_id is not None and _completed(ctx, onfleet_id):
            return _completed_in_onfleet(ctx, work, mapping, source_event)
        if retry_driver and ctx.onfleet.get_worker(worker_id) is None:
            # item 3: the driver was deleted in Onfleet; drop the link, make it again, retry once
            work.drivers.pop(employee_id, None)
            forget_driver(ctx, employee_id, worker_id, source_event=source_event)
            return _write(ctx, work, mapping, decision, source_event, wait, retry_driver=False)
        failed = TaskDecision("fail", "onfleet_rejected", decision.assignee_id)
        return _failed(ctx, work, mapping, failed, exc.message, source_event)
    try:
        _store_synced(ctx, work, mapping, decision, created, worker_id)
    except ConflictError:
        # Another delivery of this task (a window re-check racing a change) wrote first. Undo a
        # create so Onfleet keeps one task (unless the winner stored this very task: it found
        # our lost answer); SQS delivers this message again and it is decided against the
        # mapping the other one stored.
        stored = ctx.mappings.get(TASK, str(task.id))
        if created.id != onfleet_id and (stored is None or stored.other_id != created.id):
            ctx.onfleet.delete_task(created.id)
        raise
    _record(ctx, work, decision, source_event, created.id, worker_id)
    return decision


#: How far around the intent's time a lost create is looked for (clocks differ; an invocation
#: lasts at most 15 minutes).
FIND_SLACK_MS = 10 * 60 * 1000
FIND_SPAN_MS = 15 * 60 * 1000
FIND_PAGE_LIMIT = 20


def _create_once(
    ctx: FlowContext, work: TaskWork, mapping: Mapping | None, worker_id: str
) -> tuple[OnfleetTask, Mapping]:
    """`POST /tasks` at most once per task (docs/reliability.md): the intent (our time, the
    driver) is saved first; a create whose answer was lost, now or in a worker that died before
    storing it, is found by its `strivenTaskId` metadata among the driver's tasks created
    around that time instead of being made again. Returns the task and the mapping as saved."""
    task, settings = work.task, ctx.settings
    pending = mapping.data.get("create_pending") if mapping is not None else None
    if mapping is not None and isinstance(pending, dict):
        found = _find_created(ctx, task.id, pending)
        if found is not None:
            return found, mapping
    intent = {"at": _now_ms(ctx), "worker_id": worker_id}
    old = mapping.data if mapping is not None else {}
    data = {**old, "status": old.get("status", "creating"), "create_pending": intent}
    base = mapping or Mapping(connection_id=ctx.connection.id, entity=TASK, external_id="")
    update = {"external_id": str(task.id), "other_id": None, "data": data}
    saved = ctx.mappings.save(base.model_copy(update=update))  # ConflictError: decided again
    payload = task_payload(task, worker_id, settings.zone, settings.default_region)
    try:
        return ctx.onfleet.create_task(payload), saved
    except VendorUnavailable:
        # A 5xx, a timeout or a dropped connection may follow an applied create.
        found = _find_created(ctx, task.id, intent)
        if found is None:
            raise
        return found, saved


def _find_created(ctx: FlowContext, task_id: int, intent: dict[str, Any]) -> OnfleetTask | None:
    """The Onfleet task we created for Striven task `task_id` under `intent`, if it exists."""
    at = int(intent.get("at") or 0)
    params = {
        "from": at - FIND_SLACK_MS,
        "to": at + FIND_SPAN_MS,
        "worker": intent.get("worker_id"),
    }
    for found in ctx.onfleet.iter_tasks_all(params, page_limit=FIND_PAGE_LIMIT):
        if str(found.meta(TASK_METADATA)) == str(task_id):
            return found
    return None


def _completed(ctx: FlowContext, onfleet_id: str) -> bool:
    """Whether Onfleet's task is completed (asked only after Onfleet refused a change)."""
    found = ctx.onfleet.get_task(onfleet_id)
    return found is not None and found.completed


def _refused(
    ctx: FlowContext, work: TaskWork, mapping: Mapping, message: str, source_event: str
) -> TaskDecision:
    """Onfleet refused to change its task: completed there (nothing may change it), else the
    task's failure `onfleet_rejected`."""
    assert mapping.other_id
    if _completed(ctx, mapping.other_id):
        return _completed_in_onfleet(ctx, work, mapping, source_event)
    failed = TaskDecision("fail", "onfleet_rejected")
    return _failed(ctx, work, mapping, failed, message, source_event)


def _delete(
    ctx: FlowContext,
    work: TaskWork,
    mapping: Mapping | None,
    decision: TaskDecision,
    source_event: str,
) -> TaskDecision:
    """Rule 5: canceled in Striven → deleted from Onfleet, the mapping closed."""
    assert mapping is not None and mapping.other_id
    try:
        ctx.onfleet.delete_task(mapping.other_id)
    except VendorNotFound:
        pass  # deleted in Onfleet already: closing the mapping is all that is left
    except Rejected as exc:
        return _refused(ctx, work, mapping, exc.message, source_event)
    data = {
        **mapping.data,
        "status": "deleted",
        "striven_status": status_name(work.task),
        "reason": decision.reason,
        "version": task_version(work.task),
        "failure": None,
        "last_error": None,
    }
    return _settle(ctx, work, mapping, decision, data, source_event)


def _unassign(
    ctx: FlowContext,
    work: TaskWork,
    mapping: Mapping | None,
    decision: TaskDecision,
    source_event: str,
) -> TaskDecision:
    """Issue 15 item 2: Striven no longer has the assignment (on hold, nobody, or someone outside
    the selected teams): the Onfleet task goes back to the organization's unassigned tasks and
    is kept for when the task is assigned again (then it is reassigned, not re-created)."""
    assert mapping is not None and mapping.other_id
    try:
        ctx.onfleet.update_task(mapping.other_id, {"container": {"type": "ORGANIZATION"}})
    except VendorNotFound:
        pass  # deleted in Onfleet: created again if the task comes back
    except (Rejected, VendorConflict) as exc:
        return _refused(ctx, work, mapping, exc.message, source_event)
    parts = {**(mapping.data.get("parts") or {}), "assignment": None}
    data = {
        **mapping.data,
        "status": "unassigned",
        "reason": decision.reason,
        "version": task_version(work.task),
        "parts": parts,
        "worker_id": None,
        "employee_id": None,
        "striven_status": status_name(work.task),
        "failure": None,
        "last_error": None,
        "written_at": _now_ms(ctx),
        "assigned_in_onfleet": False,
        "worker_name": None,
    }
    _settle(ctx, work, mapping, decision, data, source_event, fingerprint(parts))
    if decision.reason == "assignee_not_in_selected_team":
        waiting.remember(ctx, work.task)  # item 4: assigned again when the assignee joins
    return decision


def _completed_in_onfleet(
    ctx: FlowContext, work: TaskWork, mapping: Mapping | None, source_event: str
) -> TaskDecision:
    """Onfleet has the task completed: nothing may change it; say so once."""
    assert mapping is not None
    decision = TaskDecision("skip", "completed_in_onfleet")
    data = {
        **mapping.data,
        "onfleet_state": ONFLEET_COMPLETED,
        "reason": decision.reason,
        "version": task_version(work.task),
    }
    return _settle(ctx, work, mapping, decision, data, source_event)


# ----------------------------------------------------------------------------- skip and fail
def _skipped(
    ctx: FlowContext,
    work: TaskWork,
    mapping: Mapping | None,
    decision: TaskDecision,
    source_event: str,
) -> TaskDecision:
    """Rule 1's skips (and the quiet ones): stored and recorded only when something is new."""
    task, version = work.task, task_version(work.task)
    if decision.reason in QUIET:
        if mapping is not None and decision.reason == "unchanged":
            _note_status(ctx, work, mapping)
        return decision
    live = mapping is not None and bool(mapping.other_id)
    if decision.reason == "not_in_window" and not live:
        opens_at = eligible_from(task, ctx.settings.zone)
        if opens_at is not None:
            remember(ctx, task, opens_at)  # rule 2: re-checked when its window opens
    if decision.reason == "assignee_not_in_selected_team":
        waiting.remember(ctx, task)  # item 4: re-checked when the membership changes
    old = mapping.data if mapping else {}
    status = old.get("status", "synced") if live else "skipped"
    if old.get("reason") == decision.reason and old.get("version") == version:
        return decision  # the same skip of the same version: already said
    data = {**old, "status": status, "reason": decision.reason, "version": version}
    if decision.reason == "completed_in_onfleet":
        data["onfleet_state"] = ONFLEET_COMPLETED
    other = mapping.other_id if mapping else None
    _save(ctx, mapping, task.id, other, mapping.fingerprint if mapping else None, data)
    _record(ctx, work, decision, source_event, other, old.get("worker_id"))
    return decision


def _note_status(ctx: FlowContext, work: TaskWork, mapping: Mapping) -> None:
    """Keep the Striven status the views show (Open / In Progress) without an Onfleet call."""
    status = status_name(work.task)
    if mapping.data.get("striven_status", status) == status:
        return
    data = {**mapping.data, "striven_status": status, "version": task_version(work.task)}
    with suppress(ConflictError):  # another delivery wrote it: it knows the status too
        _save(ctx, mapping, work.task.id, mapping.other_id, mapping.fingerprint, data)


def _retried(mapping: Mapping | None, version: str | None) -> bool:
    """The task failed before with an older version: this is the retry on its next update."""
    if mapping is None or mapping.data.get("status") != "failed":
        return False
    return mapping.data.get("version") != version


def _failed(
    ctx: FlowContext,
    work: TaskWork,
    mapping: Mapping | None,
    decision: TaskDecision,
    message: str,
    source_event: str,
    *,
    notify: bool = True,
) -> TaskDecision:
    """Rule 8: record the failure; email it unless this very failure was emailed before."""
    task, version = work.task, task_version(work.task)
    current = failure_fingerprint(f"task:{task.id}", decision.reason, version)
    old = mapping.data if mapping else {}
    if notify and should_notify(old.get("failure"), current):
        task_failed(ctx, task.id, task.title, decision.reason, message, source_event)
    data = {
        **old,
        "status": "failed",
        "reason": decision.reason,
        "version": version,
        "failure": current,
        "last_error": message,
        "employee_id": old.get("employee_id") or decision.assignee_id,
    }
    other = mapping.other_id if mapping else None
    if data != old:
        _save(ctx, mapping, task.id, other, mapping.fingerprint if mapping else None, data)
        _record(ctx, work, decision, source_event, other, old.get("worker_id"), message)
    return decision


def fail_unfinished(
    ctx: FlowContext,
    works: list[TaskWork],
    reason: str,
    message: str,
    source_event: str,
    *,
    notify: bool = True,
) -> int:
    """A chunk's last attempt failed: record (and email) the failure of each task it did not
    carry out (those whose mapping is not at this version); returns how many failed."""
    mappings = ctx.mappings.get_many(TASK, (str(w.task.id) for w in works))
    failed = 0
    for work in works:
        mapping = mappings.get(str(work.task.id))
        if mapping is not None and mapping.data.get("version") == task_version(work.task):
            continue  # decided at this version before the chunk failed
        decision = TaskDecision("fail", reason)
        _failed(ctx, work, mapping, decision, message, source_event, notify=notify)
        if is_transient_failure(reason):
            retry_later(ctx, work)  # the next poll queues it again: nobody edits a record
        failed += 1
    return failed


def retry_later(ctx: FlowContext, work: TaskWork) -> None:
    """File the task for the next poll (a vendor outage, not the task, made it fail)."""
    file_snapshot(ctx, RETRY, work.task, refile=True)


# ----------------------------------------------------------------------------- storage
def _save(
    ctx: FlowContext,
    mapping: Mapping | None,
    task_id: int,
    other_id: str | None,
    fp: str | None,
    data: dict[str, Any],
) -> None:
    """Write the task's mapping (ConflictError when another delivery of it wrote first)."""
    base = mapping or Mapping(connection_id=ctx.connection.id, entity=TASK, external_id="")
    update = {"external_id": str(task_id), "other_id": other_id, "fingerprint": fp, "data": data}
    ctx.mappings.save(base.model_copy(update=update))


def _settle(
    ctx: FlowContext,
    work: TaskWork,
    mapping: Mapping,
    decision: TaskDecision,
    data: dict[str, Any],
    source_event: str,
    fp: str | None = None,
) -> TaskDecision:
    """The task keeps its Onfleet task: store `data` on its mapping (with `fp`, else the stored
    fingerprint) and record `decision`."""
    _save(ctx, mapping, work.task.id, mapping.other_id, fp or mapping.fingerprint, data)
    _record(ctx, work, decision, source_event, mapping.other_id, mapping.data.get("worker_id"))
    return decision


def _store_synced(
    ctx: FlowContext,
    work: TaskWork,
    mapping: Mapping | None,
    decision: TaskDecision,
    created: OnfleetTask,
    worker_id: str,
) -> None:
    data = {
        "status": "synced",
        "reason": decision.reason,
        "version": task_version(work.task),
        "parts": decision.parts,
        "short_id": created.short_id,
        "tracking_url": created.tracking_url,
        "worker_id": worker_id,
        "employee_id": decision.assignee_id,
        "striven_status": status_name(work.task),
        "written_at": _now_ms(ctx),
    }
    old = mapping.data if mapping is not None else {}
    if decision.action == "update" and old.get("assigned_in_onfleet"):
        # item 5: a dispatcher's assignment in Onfleet stands until Striven's assignment changes
        data.update({k: old.get(k) for k in ("worker_id", "employee_id", "worker_name")})
        data["assigned_in_onfleet"] = True
    if mapping is not None and created.id == mapping.other_id:  # the same Onfleet task
        data.update({k: old[k] for k in ("onfleet_state", "onfleet_event_at") if k in old})
    _save(ctx, mapping, work.task.id, created.id, decision.fingerprint, data)


def _now_ms(ctx: FlowContext) -> int:
    """Our clock in Onfleet's unit (epoch ms): Onfleet events older than our write are stale."""
    return int(ctx.clock().timestamp() * 1000)


def _record(
    ctx: FlowContext,
    work: TaskWork,
    decision: TaskDecision,
    source_event: str,
    onfleet_id: str | None,
    worker_id: str | None,
    message: str | None = None,
) -> None:
    ids: dict[str, Any] = {"striven_task_id": work.task.id}
    if onfleet_id:
        ids["onfleet_task_id"] = onfleet_id
    if worker_id:
        ids["onfleet_worker_id"] = worker_id
    if decision.assignee_id is not None:
        ids["striven_employee_id"] = decision.assignee_id
    if decision.changed:
        ids["changed"] = list(decision.changed)
    if message:
        ids["message"] = message
    ctx.record(
        decision.activity, f"task {work.task.id}", decision.reason, source=source_event, ids=ids
    )
