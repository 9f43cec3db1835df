"""Daily reconciliation: what can still matter, compared between Fleetio, our mappings and
Keycafe. Fixes missing bookings, wrong dates and orphan bookings of this connection.

It reads only what can still matter, so its cost stays flat as the accounts' history grows:

- Fleetio: the current and the future assignments (`filter[current|future][eq]=true`), plus
  each assignment we still hold a booking for that is in neither list (ended or deleted: one
  read each, then cancelled);
- Keycafe (no filter on accesses): the access pages from the first page that held an unfinished
  booking of this connection at the last run (kept in a mapping) to the end; a booking of ours
  not on those pages is read by id. Keycafe lists accesses oldest first, and cancelled or
  finished ones stay listed, so the pages before that one hold nothing that can still matter.

A run that would outlast its invocation (each assignment costs a few reads and writes; the
worker's timeout is 60 s) hands over before its time runs out (`core.budget`): it saves the
last assignment it went through (assignments are taken in id order, current and future ones
first, then the ended ones we still hold a booking for) and queues a continuation, which reads
both sides again and carries on after it. Only the last part cancels orphan bookings and moves
the access-scan hint, so those see the whole picture.
"""

from __future__ import annotations

import time
from contextlib import suppress
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fleetbridge.core import budget, mass_removal
from fleetbridge.core.errors import VendorConflict, VendorNotFound
from fleetbridge.core.mappings import ConnectionState
from fleetbridge.core.models import Mapping, iso
from fleetbridge.core.queue import queue_continuation
from fleetbridge.core.registry import Plan, PlanItem
from fleetbridge.flows.fleetio_keycafe import ASSIGNMENT, FLOW_ID, LINK
from fleetbridge.flows.fleetio_keycafe.bookings import (
    ACTIVE,
    our_accesses,
    ours,
    remember_scan,
    scan_state,
)
from fleetbridge.flows.fleetio_keycafe.context import FlowContext
from fleetbridge.flows.fleetio_keycafe.sync import Drift, parse_time, sync_assignment
from fleetbridge.vendors.fleetio import VehicleAssignment
from fleetbridge.vendors.keycafe import Access


def _drift(mapping: Mapping | None, access: Access | None, time_zone: str) -> Drift | None:
    if mapping is None or mapping.data.get("status") != "booked":
        return None
    if access is None or (access.status or ACTIVE).upper() != ACTIVE:
        return "missing_booking"
    start, end = (
        parse_time(mapping.data.get("window_start")),
        parse_time(mapping.data.get("window_end")),
    )
    zone = ZoneInfo(time_zone)
    if (
        start
        and end
        and (
            f"{access.access_start_date} {access.access_start_time}",
            f"{access.access_end_date} {access.access_end_time}",
        )
        != (
            start.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            end.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        )
    ):
        return "wrong_dates"
    return None


def _scan_accesses(ctx: FlowContext, now: datetime) -> tuple[dict[int, Access], int]:
    """This connection's accesses on the pages that can still matter, and the first page the
    next run must read (the first one holding an unfinished booking of ours, else the last)."""
    first_page = int(scan_state(ctx).data.get("first_page", 1))
    accesses, last = our_accesses(ctx, first_page)
    found: dict[int, Access] = {}
    next_first: int | None = None
    for page, access in accesses:
        found[access.id] = access
        if next_first is None and _unfinished(access, now, ctx.settings.time_zone):
            next_first = page
    return found, next_first or last


def _unfinished(access: Access, now: datetime, time_zone: str) -> bool:
    if (access.status or ACTIVE).upper() != ACTIVE:
        return False
    try:
        end = datetime.fromisoformat(f"{access.access_end_date}T{access.access_end_time}")
    except (TypeError, ValueError):
        return True
    return end.replace(tzinfo=ZoneInfo(time_zone)) > now


def _save_scan_state(ctx: FlowContext, first_page: int) -> None:
    remember_scan(ctx, scan_state(ctx), first_page=first_page)


def _current_and_future(ctx: FlowContext) -> dict[int, VehicleAssignment]:
    records: dict[int, VehicleAssignment] = {}
    for where in ("current", "future"):
        for record in ctx.fleetio.iter_assignments(where=where):
            records[record.id] = record
    return records


#: The mapping (entity, id) holding where a run that handed over stopped.
PROGRESS = ("reconcile_progress", "assignments")
#: A stop saved longer ago than this is ignored (its continuation was lost): start afresh.
RESUME_WITHIN = timedelta(hours=1)
#: The order a run goes through assignments: (0, id) current or future, (1, id) ended.
Step = tuple[int, int]


def _resume_after(progress: ConnectionState, now: datetime) -> Step | None:
    """The last step of the part that handed over, if it did so lately."""
    saved = progress.load()
    after, saved_at = saved.get("after"), parse_time(saved.get("saved_at"))
    if not after or saved_at is None or now - saved_at > RESUME_WITHIN:
        return None
    return int(after[0]), int(after[1])


def reconcile_assignments(
    ctx: FlowContext, *, dry_run: bool, time_budget: float | None = None
) -> Plan:
    """Decide (and unless `dry_run`, apply) for every assignment that can still matter.

    `time_budget`: seconds of applying before handing over to a continuation (None: only the
    invocation's remaining time bounds the run). A dry run always goes through everything.
    """
    started = time.monotonic()
    now: datetime = ctx.clock()
    accesses, first_page = _scan_accesses(ctx, now)
    linked = {m.external_id for m in ctx.mappings.list(LINK)}
    states = {m.external_id: m for m in ctx.mappings.list(ASSIGNMENT)}
    current = _current_and_future(ctx)
    # Our bookings whose assignment is no longer current or future (ended, deleted) come last.
    ended = [
        int(key)
        for key, mapping in states.items()
        if int(key) not in current and mapping.data.get("status") == "booked"
    ]
    steps: list[Step] = [(0, key) for key in sorted(current)] + [(1, key) for key in sorted(ended)]
    progress = ConnectionState(ctx.mappings, *PROGRESS)
    last = None if dry_run else _resume_after(progress, now)
    items: list[PlanItem] = []
    moved_on = False
    for step in steps:
        if last is not None and step <= last:
            continue  # done by an earlier part of this run
        if not dry_run and budget.time_to_hand_over(started, time_budget, progressed=moved_on):
            if last is not None:
                progress.update(after=list(last), saved_at=iso(now))
            queue_continuation(FLOW_ID, ctx.connection.id, "reconcile")
            return Plan(dry_run=False, items=items)
        if step[0] == 0:
            item = _reconcile_current(ctx, current[step[1]], states, linked, accesses, dry_run)
        else:
            item = sync_assignment(ctx, step[1], source_event="reconcile", dry_run=dry_run)
        if item is not None:
            items.append(item)
        last, moved_on = step, True
    # Bookings of this connection that no mapping knows (e.g. the worker stopped between
    # booking and remembering it). Other connections' bookings are never touched.
    known = {int(m.data["access_id"]) for m in states.values() if m.data.get("access_id")}
    active = [a for a in accesses.values() if (a.status or ACTIVE).upper() == ACTIVE]
    orphans = [a for a in active if a.id not in known]
    held = _held(ctx, orphans, len(active), dry_run=dry_run)
    for access in orphans:
        match = ours(access, ctx.connection.id)
        assignment_id = match.group(1) if match else "?"
        item = PlanItem(
            entity=f"assignment {assignment_id}",
            action="skipped" if held else "deleted",
            reason=mass_removal.HELD_REASON if held else "orphan_booking",
            vendor_ids={"keycafe_access_id": access.id},
        )
        if not dry_run and not held:
            with suppress(VendorNotFound, VendorConflict):
                ctx.keycafe.cancel_access(access.id)
            ctx.record("deleted", item.entity, item.reason, source="reconcile", ids=item.vendor_ids)
        items.append(item)
    if not dry_run:
        _save_scan_state(ctx, first_page)
        progress.update(after=None, saved_at=None)
    return Plan(dry_run=dry_run, items=items)


def _reconcile_current(
    ctx: FlowContext,
    record: VehicleAssignment,
    states: dict[str, Mapping],
    linked: set[str],
    accesses: dict[int, Access],
    dry_run: bool,
) -> PlanItem | None:
    """One current or future assignment: its plan item, None when nothing is to be said."""
    mapping = states.get(str(record.id))
    ended = parse_time(record.ended_at)
    booked = mapping is not None and mapping.data.get("status") == "booked"
    if not booked and (str(record.vehicle_id) not in linked or (ended and ended <= ctx.clock())):
        return None  # nothing of ours, and nothing to book
    drift = _drift(mapping, _booking(ctx, mapping, accesses), ctx.settings.time_zone)
    item = sync_assignment(
        ctx, record.id, source_event="reconcile", dry_run=dry_run, record=record, drift=drift
    )
    return item if drift or item.action != "skipped" else None


def _held(ctx: FlowContext, orphans: list[Access], active: int, *, dry_run: bool) -> bool:
    """Whether cancelling the `orphans` (bookings of ours no mapping knows) must wait for an
    admin's confirmation (core.mass_removal: e.g. the mappings were lost); emailed once."""
    return mass_removal.gate(
        ctx.connection,
        ctx.settings,
        [str(a.id) for a in orphans],
        active,
        dry_run=dry_run,
        what="Keycafe bookings",
        source="our records",
        source_event="reconcile",
    )


def _booking(
    ctx: FlowContext, mapping: Mapping | None, scanned: dict[int, Access]
) -> Access | None:
    """The Keycafe booking a mapping says we hold: from the scanned pages, else read by id."""
    if mapping is None or mapping.data.get("status") != "booked":
        return None
    access_id = int(mapping.data.get("access_id") or 0)
    if access_id in scanned:
        return scanned[access_id]
    try:
        return ctx.keycafe.get_access(access_id)
    except VendorNotFound:
        return None
