"""Carrying out rule 2 (and 7): appointments' fences in Azuga, exactly once.

Per batch of appointments: unchanged ones (same fingerprint) cost nothing; the others are
decided (`fence_rules.decide_fence`); new fences are looked up by their exact name in ONE
`geofences()` listing (a create whose answer was lost, or a worker that died after it, left
it there) and the rest created in bulk uploads; each fence id is saved the moment its upload
answers. The decisions are carried out in chunks of one upload each, so the records of one
chunk are written while Azuga's one-a-minute limit waits for the next upload. Archived (canceled, deleted) and removed (window closed) fences are deleted in Azuga;
our record keeps them for the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from fleetbridge.core.errors import VendorConflict, VendorNotFound, VendorValidationError
from fleetbridge.core.models import Mapping, iso
from fleetbridge.core.registry import Plan, PlanItem
from fleetbridge.flows.servicetrade_azuga import APPOINTMENT
from fleetbridge.flows.servicetrade_azuga.claims import Claim, claim
from fleetbridge.flows.servicetrade_azuga.context import FlowContext
from fleetbridge.flows.servicetrade_azuga.fence_rules import (
    UNCHANGED,
    WINDOW_CLOSED,
    Fence,
    FenceDecision,
    Live,
    Stored,
    appointment_fingerprint,
    decide_fence,
    fences_to_remove,
)
from fleetbridge.vendors.azuga import GEOFENCE_BATCH
from fleetbridge.vendors.azuga_models import NewGeofence
from fleetbridge.vendors.servicetrade_models import Appointment

#: A fence Azuga refused (its message in the record and the activity).
VENDOR_API_ERROR = "vendor_api_error"
#: The decisions that write to Azuga (under a claim).
WRITES = ("create", "replace", "archive")
ACTIONS = {"create": "created", "replace": "updated", "update": "updated", "archive": "deleted"}


def stored_of(mapping: Mapping | None) -> Stored | None:
    """The rules' view of our record of an appointment's fence."""
    if mapping is None:
        return None
    data = mapping.data
    place = data.get("place")
    start = data.get("window_start")
    return Stored(
        fence_id=mapping.other_id,
        place=(place[0], place[1], place[2], place[3]) if place else None,
        window_start=datetime.fromisoformat(start) if start else None,
        archived=bool(data.get("fence_archived")),
    )


def describe(appointment: Appointment) -> dict[str, Any]:
    """What the record keeps of an appointment (report, arrival, En Route)."""
    job, location = appointment.job, appointment.location
    return {
        "status": appointment.status,
        "window_start": iso(appointment.window_start) if appointment.window_start else None,
        "window_end": iso(appointment.window_end) if appointment.window_end else None,
        "job_id": job.id if job else None,
        "job_number": job.number if job else None,
        "location_id": location.id if location else None,
        "location_name": location.name if location else None,
        "techs": [t.model_dump() for t in appointment.techs],
    }


def sync_appointments(
    ctx: FlowContext,
    appointments: dict[str, Appointment | None],
    *,
    source: str,
    dry_run: bool = False,
) -> Plan:
    """Decide and apply the fences of `appointments` (id → appointment, None: deleted)."""
    radius = ctx.settings.geofence_radius_m
    now, window = ctx.clock(), timedelta(hours=ctx.settings.arrival_window_hours)
    mappings = ctx.mappings.get_many(APPOINTMENT, appointments)
    plan = Plan(dry_run=dry_run)
    todo: list[tuple[str, Appointment | None, FenceDecision, str]] = []
    for key, appointment in appointments.items():
        mapping = mappings.get(key)
        fp = appointment_fingerprint(appointment, radius) if appointment else "deleted"
        if mapping is not None and mapping.fingerprint == fp:
            plan.items.append(_item(key, "skipped", UNCHANGED, mapping))
            continue
        decision = decide_fence(
            appointment, stored_of(mapping), radius, now=now, arrival_window=window
        )
        todo.append((key, appointment, decision, fp))
    if dry_run:
        plan.items += [_item(k, ACTIONS.get(d.action, "skipped"), d.reason) for k, _, d, _ in todo]
        return plan
    existing = _FencesByName(ctx)
    done: dict[str, PlanItem] = {}
    for chunk in _chunks(todo):  # each chunk's outcome is saved before the next upload waits
        done.update(_apply(ctx, chunk, mappings, existing, source=source))
    plan.items += [done[key] for key, *_ in todo]
    return plan


Todo = tuple[str, Appointment | None, FenceDecision, str]


def _chunks(todo: list[Todo]) -> Iterator[list[Todo]]:
    """`todo` in runs holding at most one bulk upload of new fences each (`GEOFENCE_BATCH`), so
    the work around an upload happens while Azuga's limiter waits for the next one."""
    chunk: list[Todo] = []
    fences = 0
    for entry in todo:
        chunk.append(entry)
        fences += entry[2].fence is not None and entry[2].action in WRITES
        if fences == GEOFENCE_BATCH:
            yield chunk
            chunk, fences = [], 0
    if chunk:
        yield chunk


class _FencesByName:
    """The account's fence ids by name, listed once per sync (at its first create)."""

    def __init__(self, ctx: FlowContext) -> None:
        self._ctx = ctx
        self._names: dict[str, str] | None = None

    def get(self) -> dict[str, str]:
        if self._names is None:
            self._names = {g.name: g.id for g in self._ctx.azuga.geofences()}
        return self._names


def _apply(
    ctx: FlowContext,
    chunk: list[Todo],
    mappings: dict[str, Mapping],
    existing: _FencesByName,
    *,
    source: str,
) -> dict[str, PlanItem]:
    """Carry out one chunk's decisions under claims: deletes, creates, then the records."""
    writes = [t for t in chunk if t[2].action in WRITES]
    claims: dict[str, Claim] = {}
    done: dict[str, PlanItem] = {}
    try:
        for key, *_ in writes:
            claims[key] = claim(ctx, APPOINTMENT, key, mappings.get(key))
        _delete_old(ctx, [(claims[k], d) for k, _, d, _ in writes if d.action != "create"])
        refused = _create(
            ctx,
            [(k, claims[k], d.fence) for k, _, d, _ in writes if d.fence is not None],
            existing,
        )
        for key, appointment, decision, fp in chunk:
            held = claims.get(key)
            if key in refused:  # retried when the appointment changes (fingerprint stored)
                decision = FenceDecision("skip", VENDOR_API_ERROR, decision.fence)
                assert held is not None
                held.save(ctx, {"fence_error": refused[key]})
            item = _store(ctx, key, appointment, decision, fp, held, mappings.get(key))
            if key in refused:
                item.action = "failed"
                item.vendor_ids["message"] = refused[key]
            ctx.record(
                item.action, f"appointment {key}", item.reason, source=source, ids=item.vendor_ids
            )
            done[key] = item
    finally:
        for held in claims.values():
            held.release(ctx)
    return done


def _delete_old(ctx: FlowContext, items: list[tuple[Claim, FenceDecision]]) -> None:
    """Delete the fences being archived or replaced (already gone: done)."""
    for held, _ in items:
        fence_id = held.mapping.other_id
        if fence_id and not held.data.get("fence_archived"):
            with suppress(VendorNotFound):  # already gone: done
                ctx.azuga.delete_geofence(fence_id)
            held.save(ctx, {"fence_archived": True, "archived_at": iso(ctx.clock())})


def _create(
    ctx: FlowContext, items: list[tuple[str, Claim, Fence]], existing: _FencesByName
) -> dict[str, str]:
    """New fences: found by exact name (an earlier create's lost answer) or made in bulk, one
    upload per `GEOFENCE_BATCH` whose ids are saved as it answers. Returns the appointments
    whose batch Azuga refused (a batch is all or nothing), with Azuga's message."""
    if not items:
        return {}
    names = existing.get()
    missing = [(key, held, fence) for key, held, fence in items if fence.name not in names]
    for _, held, fence in items:
        if fence.name in names:
            held.save(ctx, _created(fence, found=True), other_id=names[fence.name])
    refused: dict[str, str] = {}
    for start in range(0, len(missing), GEOFENCE_BATCH):
        batch = missing[start : start + GEOFENCE_BATCH]
        try:
            created = ctx.azuga.create_geofences(_new(fence) for _, _, fence in batch)
        except (VendorValidationError, VendorConflict) as exc:
            refused.update({key: exc.message for key, _, _ in batch})
            continue
        by_name = {g.name: g.id for g in created}
        for _, held, fence in batch:  # saved the moment the upload answers
            held.save(ctx, _created(fence, found=False), other_id=by_name.get(fence.name))
    return refused


def _new(fence: Fence) -> NewGeofence:
    return NewGeofence(
        name=fence.name,
        latitude=fence.latitude,
        longitude=fence.longitude,
        radius_meters=fence.radius_m,
        address=fence.address,
    )


def _created(fence: Fence, *, found: bool) -> dict[str, Any]:
    return {
        "place": list(fence.place()),
        "fence_name": fence.name,
        "fence_archived": False,
        "fence_found_existing": found,
    }


def _store(
    ctx: FlowContext,
    key: str,
    appointment: Appointment | None,
    decision: FenceDecision,
    fp: str,
    held: Claim | None,
    mapping: Mapping | None,
) -> PlanItem:
    """Save the decision's outcome with the fingerprint (the next identical read is free)."""
    data = {"fence_reason": decision.reason}
    if appointment is not None:
        data.update(describe(appointment))
    elif mapping is not None:
        data["status"] = "deleted"
    current = held.mapping if held else mapping
    if held is not None:
        held.save(ctx, data, fingerprint=fp)
        current = held.mapping
    else:
        base = mapping or Mapping(
            connection_id=ctx.connection.id, entity=APPOINTMENT, external_id=key
        )
        current = ctx.mappings.save(
            base.model_copy(update={"data": {**base.data, **data}, "fingerprint": fp})
        )
    action = ACTIONS.get(decision.action, "skipped")
    if decision.action == "update":
        action = "updated"
    return _item(key, action, decision.reason, current)


def _item(key: str, action: Any, reason: str, mapping: Mapping | None = None) -> PlanItem:
    ids: dict[str, Any] = {"appointment_id": key}
    if mapping is not None and mapping.other_id:
        ids["geofence_id"] = mapping.other_id
    return PlanItem(entity=f"appointment {key}", action=action, reason=reason, vendor_ids=ids)


def remove_closed(ctx: FlowContext, *, source: str, dry_run: bool = False) -> Plan:
    """Rule 7: delete from Azuga the fences whose window has closed; the record keeps them."""
    window = timedelta(hours=ctx.settings.arrival_window_hours)
    live = []
    for mapping in ctx.mappings.list(APPOINTMENT):
        data = mapping.data
        if mapping.other_id and not data.get("fence_archived") and data.get("window_start"):
            end = data.get("window_end")
            live.append(
                Live(
                    mapping.external_id,
                    mapping.other_id,
                    datetime.fromisoformat(data["window_start"]),
                    datetime.fromisoformat(end) if end else None,
                )
            )
    plan = Plan(dry_run=dry_run)
    for fence in fences_to_remove(live, ctx.clock(), window):
        item = _item(fence.appointment_id, "deleted", WINDOW_CLOSED)
        item.vendor_ids["geofence_id"] = fence.fence_id
        plan.items.append(item)
        if dry_run:
            continue
        held = claim(
            ctx,
            APPOINTMENT,
            fence.appointment_id,
            ctx.mappings.get(APPOINTMENT, fence.appointment_id),
        )
        try:
            _delete_old(ctx, [(held, FenceDecision("archive", WINDOW_CLOSED))])
            held.save(ctx, {"fence_removed": True})
        finally:
            held.release(ctx)
        ctx.record("deleted", item.entity, WINDOW_CLOSED, source=source, ids=item.vendor_ids)
    return plan
