"""Rule 6: a task's employee becomes an Onfleet driver (worker) when the task syncs.

Matching is by the employee's phone of the selected type in E.164 (`driver_rules.decide`): same
phone and name links, a free phone creates the driver in the Onfleet teams of the employee's
selected Striven teams, the same phone under another name is a conflict (nothing created, the
notify recipients are emailed). A linked employee costs no call at all (the poll passes its
worker id); a new one costs two Onfleet calls (`GET /workers?phones=`, `POST /workers`).

Two tasks of one new employee may be handled at once by two workers: the second `POST /workers`
then answers 409 (phones are unique) and the phone is looked up again, which links the driver
the first one created.
"""

from __future__ import annotations

import time
from contextlib import suppress
from datetime import datetime, timedelta

from fleetbridge.core import budget
from fleetbridge.core.errors import ConflictError, VendorConflict
from fleetbridge.core.models import Mapping, fingerprint, iso
from fleetbridge.flows.striven_onfleet import EMPLOYEE, EMPLOYEE_METADATA, LINKED, driver_rules
from fleetbridge.flows.striven_onfleet.context import FlowContext
from fleetbridge.flows.striven_onfleet.driver_rules import DriverMatch, employee_phone
from fleetbridge.flows.striven_onfleet.failure_rules import failure_fingerprint, should_notify
from fleetbridge.flows.striven_onfleet.notices import driver_failed
from fleetbridge.flows.striven_onfleet.teams import ensure_team
from fleetbridge.flows.striven_onfleet.work import TaskWork
from fleetbridge.vendors.onfleet import OnfleetWorker
from fleetbridge.vendors.striven_models import StrivenEmployee

#: `driver_rules.decide` reasons → the reason a task fails with.
TASK_REASONS = {
    "name_mismatch": "driver_name_conflict",
    "no_phone_of_type": "driver_no_phone_of_type",
    "invalid_phone": "driver_invalid_phone",
}


class DriverFailed(Exception):
    """The employee has no driver and none could be made; `notified`: an email went out now."""

    def __init__(self, reason: str, message: str, *, notified: bool) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.notified = notified


def ensure_driver(
    ctx: FlowContext, work: TaskWork, employee_id: int, *, source_event: str, wait: bool = True
) -> str:
    """The Onfleet worker id of `employee_id`, linking or creating the driver when needed.

    A driver the poll saw linked costs nothing (its worker id is in the message). When another
    worker is creating it, this waits for its link, or raises `DriverBusy` when `wait` is off.
    """
    if employee_id in work.drivers:
        return work.drivers[employee_id]
    key = (ctx.connection.id, employee_id)
    if key in _LINKS:
        return _LINKS[key]
    mapping = ctx.mappings.get(EMPLOYEE, str(employee_id))
    if mapping is not None and mapping.other_id and mapping.data.get("status") in LINKED:
        return _remember(key, mapping.other_id)
    claimed = _claim(ctx, employee_id, mapping)
    if claimed is None:  # another worker is creating this driver right now
        if not wait:
            raise DriverBusy(employee_id)
        return _wait_for(ctx, work, employee_id, source_event)
    try:
        return _remember(key, _make(ctx, work, employee_id, claimed, source_event))
    except DriverFailed:
        raise
    except Exception:
        _release(ctx, claimed, mapping)
        raise


def _make(
    ctx: FlowContext, work: TaskWork, employee_id: int, claimed: Mapping, source_event: str
) -> str:
    """Match, then link or create (we hold the claim on the employee)."""
    employee = work.employees.get(employee_id) or ctx.striven.get_employee(employee_id)
    if employee is None:
        failed = DriverMatch("fail", "employee_not_found", name=f"Employee {employee_id}")
        raise _failed(ctx, claimed, employee_id, failed, work.task.id, source_event)
    match, workers = _match(ctx, employee)
    if match.action == "create":
        match, workers = _create(ctx, work, employee, match, source_event)
    if match.action == "link" and match.phone is not None:
        _join_teams(ctx, work, employee_id, workers[match.phone], source_event)
    if match.action in ("link", "create"):
        assert match.worker_id is not None
        return _linked(ctx, claimed, employee, match, source_event)
    raise _failed(ctx, claimed, employee.id, match, work.task.id, source_event)


# ----------------------------------------------------------------------------- one creator
#: Links learned by this process (links never change once made): later tasks of the employee
#: skip the mapping read.
_LINKS: dict[tuple[str, int], str] = {}
CLAIM_SECONDS = 60.0  # a claim older than this was abandoned (its worker died): take it over
WAIT_SECONDS = 20.0
WAIT_STEP = 0.2


class DriverBusy(Exception):
    """Another worker is creating this driver (raised instead of waiting, see `ensure_driver`)."""


class DriverPending(Exception):
    """Another worker is still creating the driver: the chunk is retried later by SQS."""


def forget_driver(ctx: FlowContext, employee_id: int, worker_id: str, *, source_event: str) -> bool:
    """Issue 15 item 3: the employee's driver was deleted in Onfleet. The link is dropped (here
    and in this process's cache), so the employee's next task matches or creates a driver
    again; returns whether a link was dropped (another worker may have done it already)."""
    _LINKS.pop((ctx.connection.id, employee_id), None)
    mapping = ctx.mappings.get(EMPLOYEE, str(employee_id))
    if mapping is None or mapping.other_id != worker_id:
        return False
    try:
        ctx.mappings.delete(mapping)
    except ConflictError:
        return False
    ctx.record(
        "deleted",
        f"employee {employee_id}",
        "driver_deleted_in_onfleet",
        source=source_event,
        ids={"striven_employee_id": employee_id, "onfleet_worker_id": worker_id},
    )
    return True


def _remember(key: tuple[str, int], worker_id: str) -> str:
    if len(_LINKS) > 50_000:
        _LINKS.clear()
    _LINKS[key] = worker_id
    return worker_id


def _claim(ctx: FlowContext, employee_id: int, mapping: Mapping | None) -> Mapping | None:
    """Mark the employee as being made a driver by us (conditional write); None if taken.

    Concurrent chunks of a first sync hold tasks of the same new employee: one worker creates
    the driver, the others wait for the link, so each driver costs two Onfleet calls, not a
    `POST /workers` that answers 409 per worker.
    """
    now = ctx.clock()
    data = dict(mapping.data) if mapping else {}
    if data.get("status") == "creating":
        claimed_at = datetime.fromisoformat(str(data.get("claimed_at")).replace("Z", "+00:00"))
        expires = data.get("claim_expires_at")
        lapses = (
            datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
            if expires
            else claimed_at + timedelta(seconds=CLAIM_SECONDS)
        )
        if now < lapses:
            return None
    # The claim lapses with this invocation (core.budget): a worker killed at its timeout
    # leaves nothing that makes the redelivery wait.
    lapse = budget.claim_expiry(now, timedelta(seconds=CLAIM_SECONDS))
    update = {"status": "creating", "claimed_at": iso(now), "claim_expires_at": iso(lapse)}
    return ctx.mappings.claim(EMPLOYEE, str(employee_id), mapping, update)


def _release(ctx: FlowContext, claimed: Mapping, previous: Mapping | None) -> None:
    """Give the claim up after an unexpected error (the next delivery claims again)."""
    ctx.mappings.release(claimed, previous)


def _wait_for(ctx: FlowContext, work: TaskWork, employee_id: int, source_event: str) -> str:
    """Wait for the worker holding the claim: its link, or its failure (never past what is left
    of this invocation: then the chunk is retried by SQS, `DriverPending`)."""
    wait = WAIT_SECONDS
    current = budget.current()
    if current is not None:
        wait = min(wait, max(0.0, current.remaining() - current.margin))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(WAIT_STEP)
        mapping = ctx.mappings.get(EMPLOYEE, str(employee_id))
        status = mapping.data.get("status") if mapping else None
        if mapping is not None and mapping.other_id and status in LINKED:
            return _remember((ctx.connection.id, employee_id), mapping.other_id)
        if mapping is not None and status == "failed":
            data = mapping.data
            raise DriverFailed(str(data.get("reason")), str(data.get("last_error")), notified=False)
        if status != "creating":  # released: try it ourselves
            return ensure_driver(ctx, work, employee_id, source_event=source_event)
    raise DriverPending(f"the driver of employee {employee_id} is still being created")


Workers = dict[str, OnfleetWorker]


def _match(ctx: FlowContext, employee: StrivenEmployee) -> tuple[DriverMatch, Workers]:
    """The match, and the Onfleet workers with the employee's phone (at most one)."""
    phone, _ = employee_phone(employee, ctx.settings.phone_type, ctx.settings.default_region)
    workers: Workers = {}
    if phone is not None:
        found = ctx.onfleet.list_workers(phones=[phone], filter=["name", "phone", "teams"])
        workers = {w.phone: w for w in found if w.phone}
    match = driver_rules.decide(
        employee, ctx.settings.phone_type, workers, ctx.settings.default_region
    )
    return match, workers


def _team_ids(ctx: FlowContext, work: TaskWork, employee_id: int, source_event: str) -> list[str]:
    return [
        ensure_team(ctx, team_id, work.team_names[team_id], source_event=source_event)
        for team_id in work.employee_teams(employee_id)
    ]


def _create(
    ctx: FlowContext,
    work: TaskWork,
    employee: StrivenEmployee,
    match: DriverMatch,
    source_event: str,
) -> tuple[DriverMatch, Workers]:
    """`POST /workers` into the employee's teams; on 409 the phone is matched again."""
    assert match.phone is not None
    body = {
        "name": match.name,
        "phone": match.phone,
        "teams": _team_ids(ctx, work, employee.id, source_event),
        "metadata": [
            {
                "name": EMPLOYEE_METADATA,
                "type": "number",
                "value": employee.id,
                "visibility": ["api"],
            }
        ],
    }
    try:
        worker = ctx.onfleet.create_worker(body)
    except VendorConflict:
        again, workers = _match(ctx, employee)
        if again.action == "create":  # still free: the 409 was something else
            raise
        return again, workers
    created = DriverMatch("create", match.reason, match.phone, match.name, worker.id, worker.name)
    return created, {}


def _join_teams(
    ctx: FlowContext, work: TaskWork, employee_id: int, worker: OnfleetWorker, source_event: str
) -> None:
    """A linked driver joins the selected teams it is not in yet (its other teams stay)."""
    wanted = _team_ids(ctx, work, employee_id, source_event)
    if set(wanted) - set(worker.teams):
        teams = list(worker.teams) + [t for t in wanted if t not in worker.teams]
        ctx.onfleet.update_worker(worker.id, {"teams": teams})


def _linked(
    ctx: FlowContext,
    mapping: Mapping,
    employee: StrivenEmployee,
    match: DriverMatch,
    source_event: str,
) -> str:
    assert match.worker_id is not None
    status = "created" if match.action == "create" else "linked"
    data = {"status": status, "reason": match.reason, "name": match.name, "phone": match.phone}
    try:
        ctx.mappings.save(mapping.model_copy(update={"other_id": match.worker_id, "data": data}))
    except ConflictError:  # our claim was taken over (we were slower than CLAIM_SECONDS)
        stored = ctx.mappings.get(EMPLOYEE, str(employee.id))
        if stored is not None and stored.other_id and stored.data.get("status") in LINKED:
            return stored.other_id
        raise
    ctx.record(
        match.activity,
        f"employee {employee.id}",
        match.reason,
        source=source_event,
        ids={
            "striven_employee_id": employee.id,
            "onfleet_worker_id": match.worker_id,
            "phone": match.phone,
        },
    )
    return match.worker_id


def _failed(
    ctx: FlowContext,
    mapping: Mapping,
    employee_id: int,
    match: DriverMatch,
    task_id: int,
    source_event: str,
) -> DriverFailed:
    """Record the driver failure; email it unless this very failure was emailed before."""
    reason = TASK_REASONS.get(match.reason, match.reason)
    if match.action == "conflict":
        message = (
            f"Onfleet driver {match.worker_id} has phone {match.phone} under the name "
            f"{match.onfleet_name!r}, not {match.name!r}"
        )
    elif reason == "driver_invalid_phone":
        message = f"the {ctx.settings.phone_type} phone of {match.name} is not a valid number"
    elif reason == "employee_not_found":
        message = f"Striven has no employee {employee_id}"
    else:
        message = f"{match.name} has no {ctx.settings.phone_type} phone in Striven"
    version = fingerprint({"phone": match.phone, "name": match.name, "other": match.onfleet_name})
    current = failure_fingerprint(f"employee:{employee_id}", reason, version)
    notify = should_notify(mapping.data.get("failure"), current)
    if notify:
        driver_failed(ctx, employee_id, match.name, task_id, reason, message, source_event)
    data = {
        "status": "failed",
        "reason": reason,
        "name": match.name,
        "phone": match.phone,
        "failure": current,
        "last_error": message,
    }
    with suppress(ConflictError):  # our claim: only a stale-claim takeover could race us
        ctx.mappings.save(mapping.model_copy(update={"other_id": None, "data": data}))
    if notify or mapping.data.get("last_error") != message:
        ctx.record(
            "failed",
            f"employee {employee_id}",
            reason,
            source=source_event,
            ids={
                "striven_employee_id": employee_id,
                "phone": match.phone,
                "onfleet_worker_id": match.worker_id,
                "message": message,
            },
        )
    return DriverFailed(reason, message, notified=notify)
