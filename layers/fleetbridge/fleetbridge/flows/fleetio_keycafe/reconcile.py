"""Daily reconciliation: current and future assignments of linked vehicles vs our mappings and
Keycafe's bookings. Fixes missing bookings, wrong dates and orphan bookings of ours."""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import datetime
from zoneinfo import ZoneInfo

from fleetbridge.core.errors import VendorConflict, VendorNotFound
from fleetbridge.core.models import Mapping
from fleetbridge.core.registry import Plan, PlanItem
from fleetbridge.flows.fleetio_keycafe import ASSIGNMENT, LINK
from fleetbridge.flows.fleetio_keycafe.context import FlowContext
from fleetbridge.flows.fleetio_keycafe.sync import Drift, parse_time, sync_assignment
from fleetbridge.vendors.keycafe import Access

#: Our bookings are named `Fleetio · <vehicle> · assignment <id>` (Keycafe has no external ref).
OUR_BOOKING = re.compile(r"^Fleetio · .* · assignment (\d+)$")
ACTIVE = "ACTIVE"


def _drift(mapping: Mapping | None, accesses: dict[int, Access], time_zone: str) -> Drift | None:
    if mapping is None or mapping.data.get("status") != "booked":
        return None
    access = accesses.get(int(mapping.data.get("access_id") or 0))
    if access is None or (access.status or ACTIVE).upper() != ACTIVE:
        return "missing_booking"
    start, end = (
        parse_time(mapping.data.get("window_start")),
        parse_time(mapping.data.get("window_end")),
    )
    if (
        start
        and end
        and (
            _local(access.access_start_date, access.access_start_time, time_zone),
            _local(access.access_end_date, access.access_end_time, time_zone),
        )
        != (
            start.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M"),
            end.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M"),
        )
    ):
        return "wrong_dates"
    return None


def _local(date: str | None, time: str | None, _: str) -> str:
    return f"{date} {time}"


def reconcile_assignments(ctx: FlowContext, *, dry_run: bool) -> Plan:
    """Decide (and unless `dry_run`, apply) for every assignment that matters."""
    now: datetime = ctx.clock()
    accesses = {a.id: a for a in ctx.keycafe.iter_accesses() if OUR_BOOKING.match(a.name or "")}
    linked = {m.external_id for m in ctx.mappings.list(LINK)}
    states = {m.external_id: m for m in ctx.mappings.list(ASSIGNMENT)}
    items: list[PlanItem] = []
    seen: set[str] = set()
    for record in ctx.fleetio.iter_assignments():
        key = str(record.id)
        seen.add(key)
        mapping = states.get(key)
        ended = parse_time(record.ended_at)
        booked = mapping is not None and mapping.data.get("status") == "booked"
        if not booked and (str(record.vehicle_id) not in linked or (ended and ended <= now)):
            continue  # nothing of ours, and nothing to book
        drift = _drift(mapping, accesses, ctx.settings.time_zone)
        item = sync_assignment(
            ctx, record.id, source_event="reconcile", dry_run=dry_run, record=record, drift=drift
        )
        if drift or item.action != "skipped":
            items.append(item)
    # Our bookings whose assignment is gone from Fleetio.
    for key, mapping in states.items():
        if key not in seen and mapping.data.get("status") == "booked":
            items.append(sync_assignment(ctx, int(key), source_event="reconcile", dry_run=dry_run))
    # Bookings named as ours that no mapping knows (e.g. written before a mapping was lost).
    known = {int(m.data["access_id"]) for m in states.values() if m.data.get("access_id")}
    for access in accesses.values():
        if access.id in known or (access.status or ACTIVE).upper() != ACTIVE:
            continue
        match = OUR_BOOKING.match(access.name or "")
        assignment_id = match.group(1) if match else "?"
        item = PlanItem(
            entity=f"assignment {assignment_id}",
            action="deleted",
            reason="orphan_booking",
            vendor_ids={"keycafe_access_id": access.id},
        )
        if not dry_run:
            with suppress(VendorNotFound, VendorConflict):
                ctx.keycafe.cancel_access(access.id)
            ctx.activity.record(
                ctx.connection,
                action="deleted",
                entity=item.entity,
                source_event="reconcile",
                reason=item.reason,
                vendor_ids=item.vendor_ids,
            )
        items.append(item)
    return Plan(dry_run=dry_run, items=items)
