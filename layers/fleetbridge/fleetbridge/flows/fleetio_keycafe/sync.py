"""Carrying out the Fleetio → Keycafe decisions: read state, `decide`, apply steps, remember.

Everything that talks to a vendor or a table for this flow is here; the rules are in `rules`.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fleetbridge.core.budget import claim_expiry
from fleetbridge.core.errors import (
    AuthError,
    ConflictError,
    VendorConflict,
    VendorError,
    VendorNotFound,
    VendorUnavailable,
)
from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Mapping, iso
from fleetbridge.core.registry import PlanItem
from fleetbridge.flows.fleetio_keycafe import ASSIGNMENT, GUEST_USER, LINK
from fleetbridge.flows.fleetio_keycafe.bookings import find_booking, tail_page
from fleetbridge.flows.fleetio_keycafe.context import FlowContext
from fleetbridge.flows.fleetio_keycafe.keycafe_users import (
    find_keycafe_user,
    lookup_keycafe_user,
)
from fleetbridge.flows.fleetio_keycafe.notices import notify_failure, remind
from fleetbridge.flows.fleetio_keycafe.rules import (
    Applied,
    Assignment,
    Book,
    Cancel,
    ChangeDates,
    ClearFields,
    Decision,
    Driver,
    NotifyFailure,
    Remind,
    VehicleLink,
    Window,
    decide,
    identity,
    instructions_text,
)
from fleetbridge.vendors.fleetio import VehicleAssignment
from fleetbridge.vendors.keycafe import Access, AccessRequest

#: A claim older than this is considered abandoned (the worker died mid-way).
CLAIM_TIMEOUT = timedelta(minutes=5)
#: The access-code field of a driver booked as a Keycafe user (they have no one-time code).
PHONE_AND_PIN = "Keycafe account: phone number + PIN"


Drift = Literal["missing_booking", "wrong_dates"]
#: `str(AuthError)`: "<vendor> 401 ...", "<vendor> 403 ..." (core.errors.VendorError.__str__).
REFUSED_CREDENTIALS = re.compile(r"^\w+ 40[13]\b")


class AssignmentBusy(Exception):
    """Another worker is applying a decision for this assignment right now: retry later."""


# ----------------------------------------------------------------------------- reading
def parse_time(value: str | None) -> datetime | None:
    """Fleetio ISO 8601 → aware UTC datetime."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_link(mappings: MappingRepository, vehicle_id: int) -> VehicleLink | None:
    """The vehicle's key link, if any."""
    mapping = mappings.get(LINK, str(vehicle_id))
    if mapping is None or mapping.other_id is None:
        return None
    return VehicleLink(
        vehicle_id=vehicle_id,
        key_id=int(mapping.other_id),
        notification=mapping.data.get("notification", "automatic"),
        key_name=mapping.data.get("key_name", ""),
    )


def _applied(mapping: Mapping | None) -> Applied | None:
    if mapping is None or not mapping.data.get("status"):
        return None
    data = mapping.data
    if data["status"] == "failed" and REFUSED_CREDENTIALS.match(str(data.get("last_error") or "")):
        # Stored by an older version: a 401/403 is the connection's, not the assignment's.
        # Deciding as if nothing was applied heals it (it was `unchanged` for ever before).
        return None
    return Applied(
        status=data["status"],
        fingerprint=mapping.fingerprint or "",
        updated_at=data.get("updated_at"),
        access_id=data.get("access_id"),
        key_id=data.get("key_id"),
        vehicle_id=data.get("vehicle_id"),
        contact_id=data.get("contact_id"),
        identity=tuple(data["driver_identity"]) if data.get("driver_identity") else None,  # type: ignore[arg-type]
    )


def _driver(ctx: FlowContext, record: VehicleAssignment) -> Driver | None:
    """The assignment's contact: the embedded summary when it has the contact details, else
    one Fleetio read."""
    if record.contact_id is None:
        return None
    embedded = record.contact
    if embedded is not None and "email" in embedded.model_fields_set:
        name, email, mobile = embedded.name, embedded.email, embedded.mobile_phone_number
    else:
        contact = ctx.fleetio.get_contact(record.contact_id)
        name, email, mobile = contact.display_name, contact.email, contact.mobile_phone_number
    return Driver(
        contact_id=record.contact_id,
        name=name or f"contact {record.contact_id}",
        email=email or None,
        mobile=mobile or None,
    )


def _assignment(record: VehicleAssignment) -> Assignment:
    return Assignment(
        id=record.id,
        vehicle_id=record.vehicle_id,
        vehicle_name=(
            record.vehicle.name
            if record.vehicle and record.vehicle.name
            else f"vehicle {record.vehicle_id}"
        ),
        contact_id=record.contact_id,
        started_at=parse_time(record.started_at),
        ended_at=parse_time(record.ended_at),
        updated_at=record.updated_at,
    )


def _gone(assignment_id: int, mapping: Mapping | None) -> Assignment:
    vehicle_id = int(mapping.data.get("vehicle_id", 0)) if mapping else 0
    return Assignment(
        id=assignment_id,
        vehicle_id=vehicle_id,
        vehicle_name="",
        contact_id=None,
        started_at=None,
        ended_at=None,
        exists=False,
    )


# ----------------------------------------------------------------------------- one assignment
def sync_assignment(
    ctx: FlowContext,
    assignment_id: int,
    *,
    source_event: str,
    dry_run: bool = False,
    record: VehicleAssignment | None = None,
    drift: Drift | None = None,
) -> PlanItem:
    """Re-read the assignment, decide, and (unless dry run) apply and record the decision.

    `record`: the assignment as just listed (reconciliation), saving a fetch. `drift`: what the
    reconciliation found wrong in Keycafe; the decision is then taken as if nothing was booked
    (`missing_booking`) or as if the dates had changed (`wrong_dates`).
    """
    mapping = ctx.mappings.get(ASSIGNMENT, str(assignment_id))
    if record is None:
        try:
            record = ctx.fleetio.get_assignment(assignment_id)
        except VendorNotFound:
            record = None
    if record is None:
        assignment, link, driver = _gone(assignment_id, mapping), None, None
    else:
        assignment = _assignment(record)
        link = read_link(ctx.mappings, assignment.vehicle_id)
        driver = _driver(ctx, record)
    applied = _applied(mapping)
    if drift == "missing_booking":
        applied = None
    elif drift == "wrong_dates" and applied is not None:
        applied = replace(applied, fingerprint="")
    decision = decide(
        assignment,
        link,
        driver,
        applied,
        now=ctx.clock(),
        default_hours=ctx.settings.default_booking_hours,
        marker=ctx.connection.id,
    )
    if drift:
        decision = replace(decision, reason=f"{drift}:{decision.reason}")
    entity = f"assignment {assignment_id}"
    item = PlanItem(
        entity=entity,
        action=decision.action,
        reason=decision.reason,
        vendor_ids=_ids(assignment_id, mapping, link),
    )
    if dry_run:
        return item
    if decision.status is None:  # nothing to do and nothing to remember (stale, unchanged)
        ctx.record(
            decision.action, entity, decision.reason, source=source_event, ids=item.vendor_ids
        )
        return item
    return _apply(ctx, assignment, link, driver, mapping, decision, source_event, item)


def _ids(assignment_id: int, mapping: Mapping | None, link: VehicleLink | None) -> dict[str, Any]:
    ids: dict[str, Any] = {"fleetio_assignment_id": assignment_id}
    if link:
        ids["keycafe_key_id"] = link.key_id
    if mapping and mapping.other_id:
        ids["keycafe_access_id"] = int(mapping.other_id)
    return ids


class Claim:
    """The assignment's mapping while we hold its claim, as last saved (every save moves its
    version). Progress (a booking made) is saved as it happens, so giving the claim up never
    forgets a vendor object."""

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping

    def save(self, ctx: FlowContext, data: dict[str, Any], **update: Any) -> None:
        """Save `data` (and `update`: other_id, fingerprint), keeping the claim."""
        claim = {k: self.mapping.data[k] for k in CLAIM_KEYS if k in self.mapping.data}
        self.mapping = ctx.mappings.save(
            self.mapping.model_copy(update={"data": {**data, **claim}, **update})
        )


#: The mapping keys of a claim.
CLAIM_KEYS = ("claimed_at", "claim_expires_at")


def _claim(ctx: FlowContext, assignment_id: int, mapping: Mapping | None) -> Claim:
    """Mark the assignment as being worked on, so a concurrent delivery cannot book twice.

    The claim lapses with this invocation (`core.budget`): a worker killed at its timeout
    leaves nothing that blocks the redelivery. Claims without an expiry (older ones) last
    `CLAIM_TIMEOUT`."""
    now = ctx.clock()
    if mapping and mapping.data.get("claimed_at"):
        claimed = parse_time(mapping.data["claimed_at"])
        expires = parse_time(mapping.data.get("claim_expires_at")) or (
            claimed + CLAIM_TIMEOUT if claimed else None
        )
        if expires and now < expires:
            raise AssignmentBusy(f"assignment {assignment_id} is being processed")
    claim = {"claimed_at": iso(now), "claim_expires_at": iso(claim_expiry(now, CLAIM_TIMEOUT))}
    held = ctx.mappings.claim(ASSIGNMENT, str(assignment_id), mapping, claim)
    if held is None:
        raise AssignmentBusy(f"assignment {assignment_id} changed concurrently")
    return Claim(held)


def _unclaimed(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in CLAIM_KEYS}


def _release(ctx: FlowContext, claim: Claim) -> None:
    """Give the claim up, keeping what was saved meanwhile (a booking made stays known)."""
    ctx.mappings.release(claim.mapping, keys=CLAIM_KEYS)


def _apply(
    ctx: FlowContext,
    assignment: Assignment,
    link: VehicleLink | None,
    driver: Driver | None,
    mapping: Mapping | None,
    decision: Decision,
    source_event: str,
    item: PlanItem,
) -> PlanItem:
    claim = _claim(ctx, assignment.id, mapping)
    data = _unclaimed(claim.mapping.data)
    try:
        for step in decision.steps:
            _run_step(ctx, step, assignment, link, data, claim)
    except VendorError as exc:
        # A refused credential is the connection's problem, not this assignment's: the worker
        # pauses the connection and this assignment waits (core.health), nothing is stored.
        if exc.retryable or isinstance(exc, AuthError):
            _release(ctx, claim)
            raise
        # The vendor refused this content: record it, tell the admins, retry only on change.
        reason = f"vendor_rejected: {exc}"
        ctx.mappings.save(
            claim.mapping.model_copy(
                update={
                    "fingerprint": decision.fingerprint,
                    "data": {
                        **_unclaimed(claim.mapping.data),
                        **data,
                        "status": "failed",
                        "last_error": str(exc),
                        "updated_at": assignment.updated_at,
                    },
                }
            )
        )
        notify_failure(ctx, assignment, str(exc), source_event)
        ctx.record("failed", item.entity, reason, source=source_event, ids=item.vendor_ids)
        return item.model_copy(update={"action": "failed", "reason": reason})
    except Exception:
        _release(ctx, claim)
        raise
    data.update(
        status=decision.status,
        updated_at=assignment.updated_at,
        last_error=None,
        vehicle_id=assignment.vehicle_id,
        contact_id=assignment.contact_id,
        key_id=link.key_id if link else data.get("key_id"),
    )
    access_id = data.get("access_id")
    ctx.mappings.save(
        claim.mapping.model_copy(
            update={
                "other_id": str(access_id) if access_id else None,
                "fingerprint": decision.fingerprint,
                "data": data,
            }
        )
    )
    vendor_ids = {k: v for k, v in item.vendor_ids.items() if k != "keycafe_access_id"}
    if access_id:
        vendor_ids["keycafe_access_id"] = int(access_id)
    ctx.record(decision.action, item.entity, decision.reason, source=source_event, ids=vendor_ids)
    return item.model_copy(update={"vendor_ids": vendor_ids})


# ----------------------------------------------------------------------------- steps
def _run_step(
    ctx: FlowContext,
    step: Any,
    assignment: Assignment,
    link: VehicleLink | None,
    data: dict[str, Any],
    claim: Claim,
) -> None:
    """Carry out one step, keeping `data` (the mapping's record of the booking) in step."""
    keys = ctx.settings.custom_fields
    if isinstance(step, Cancel):
        # Already cancelled or gone in Keycafe: the goal is reached either way.
        with suppress(VendorNotFound, VendorConflict):
            ctx.keycafe.cancel_access(step.access_id)
        data.update(access_id=None)
        return
    if isinstance(step, ClearFields):
        ctx.fleetio.update_custom_fields(
            assignment.id, {keys.instructions: "", keys.link: "", keys.code: ""}
        )
        data.update(booking_code=None, checkin_link=None)
        return
    if isinstance(step, Book):
        _book(ctx, step, assignment, link, data, claim)
        return
    if isinstance(step, ChangeDates):
        ctx.keycafe.update_access(
            step.access_id, _dates(step.window, ctx.settings.time_zone) | {"name": step.name}
        )
        data.update(window_start=iso(step.window.start), window_end=iso(step.window.end))
        _write_fields(ctx, assignment, link, data, step.window)
        return
    if isinstance(step, Remind):
        remind(ctx, assignment, link, step)
        return
    if isinstance(step, NotifyFailure):
        notify_failure(ctx, assignment, step.reason, "rules")
        return
    raise TypeError(f"unknown step {step!r}")


def _scan_from(pending: dict[str, Any]) -> int:
    """Where the lookup of a pending booking starts (intents saved before `scan_from` existed
    read from the first page)."""
    return int(pending.get("scan_from", 1))


def _book(
    ctx: FlowContext,
    step: Book,
    assignment: Assignment,
    link: VehicleLink | None,
    data: dict[str, Any],
    claim: Claim,
) -> None:
    """Book once (docs/reliability.md): the intent is saved before `POST /access` and the
    booking the moment Keycafe answers, before the write-back; a booking whose answer was lost
    (or whose worker died before remembering it) is found by its name instead of made again."""
    intent = {"key_id": step.key_id, "identity": list(identity(step.driver))}
    pending = data.get("booking_pending")
    access = find_booking(ctx, assignment.id, _scan_from(pending)) if pending else None
    changed = pending and {k: pending.get(k) for k in intent} != intent
    if access is not None and (changed or (access.key or {}).get("id") != step.key_id):
        # Made for another key or driver before the assignment changed: not this booking.
        with suppress(VendorNotFound, VendorConflict):
            ctx.keycafe.cancel_access(access.id)
        access = None
    request = _access_request(ctx, step)
    if access is None:
        scan_from = tail_page(ctx)  # the booking made now will be on this page or a later one
        data.update(booking_pending=intent | {"scan_from": scan_from})
        claim.save(ctx, data, other_id=None)
        try:
            access = ctx.keycafe.create_access(request)
        except VendorUnavailable:
            # A 5xx, a timeout or a dropped connection may follow an applied booking.
            access = find_booking(ctx, assignment.id, scan_from)
            if access is None:
                raise
        _remember_guest(ctx, request, access)
    elif _access_dates(access) != _dates(step.window, ctx.settings.time_zone):
        access = ctx.keycafe.update_access(
            access.id, _dates(step.window, ctx.settings.time_zone) | {"name": step.name}
        )
    data.pop("booking_pending", None)
    data.update(
        driver_identity=list(identity(step.driver)),
        keycafe_user_id=request.user.get("id"),
        access_id=access.id,
        booking_code=access.booking_code,
        checkin_link=access.checkin_link,
        window_start=iso(step.window.start),
        window_end=iso(step.window.end),
    )
    # Remembered now, as booked but not yet written back (empty fingerprint): a redelivery after
    # a failed write-back changes this booking's dates and writes back, it does not book again.
    booked = {
        "status": "booked",
        "updated_at": assignment.updated_at,
        "vehicle_id": assignment.vehicle_id,
        "contact_id": assignment.contact_id,
        "key_id": step.key_id,
    }
    claim.save(ctx, {**data, **booked}, other_id=str(access.id), fingerprint="")
    _write_fields(ctx, assignment, link, data, step.window)


def _access_dates(access: Access) -> dict[str, str | None]:
    return {
        "accessStartDate": access.access_start_date,
        "accessStartTime": access.access_start_time,
        "accessEndDate": access.access_end_date,
        "accessEndTime": access.access_end_time,
    }


def _remember_guest(ctx: FlowContext, request: AccessRequest, access: Access) -> None:
    guest_id = (access.user or {}).get("id")
    if "id" not in request.user and guest_id is not None:
        # Keycafe made (or reused) a guest user: remember it is no account holder.
        with suppress(ConflictError):  # already known
            ctx.mappings.save(
                Mapping(
                    connection_id=ctx.connection.id,
                    entity=GUEST_USER,
                    external_id=str(guest_id),
                )
            )


def _dates(window: Window, time_zone: str) -> dict[str, str]:
    zone = ZoneInfo(time_zone)
    start, end = window.start.astimezone(zone), window.end.astimezone(zone)
    return {
        "accessStartDate": start.strftime("%Y-%m-%d"),
        "accessStartTime": start.strftime("%H:%M"),
        "accessEndDate": end.strftime("%Y-%m-%d"),
        "accessEndTime": end.strftime("%H:%M"),
    }


def _access_request(ctx: FlowContext, step: Book) -> AccessRequest:
    # A miss in the cached directory may be a user created in Keycafe minutes ago: ask Keycafe
    # before booking as a guest.
    user = find_keycafe_user(ctx, step.driver) or lookup_keycafe_user(ctx, step.driver)
    if user is not None and ctx.mappings.get(GUEST_USER, str(user.id)) is not None:
        user = None  # a guest our own earlier booking created: still a guest (one-time code)
    if user is not None:
        who: dict[str, Any] = {"id": user.id}
    elif step.driver.email:
        who = {"email": step.driver.email}
    else:
        who = {"mobile": step.driver.mobile}
    dates = _dates(step.window, ctx.settings.time_zone)
    return AccessRequest(
        user=who,
        key={"id": step.key_id},
        access_start_date=dates["accessStartDate"],
        access_start_time=dates["accessStartTime"],
        access_end_date=dates["accessEndDate"],
        access_end_time=dates["accessEndTime"],
        time_zone=ctx.settings.time_zone,
        name=step.name,
        suppress_guest_notifications=False,  # Keycafe sends the driver the instructions
    )


def _write_fields(
    ctx: FlowContext,
    assignment: Assignment,
    link: VehicleLink | None,
    data: dict[str, Any],
    window: Window,
) -> None:
    keys = ctx.settings.custom_fields
    mapping = ctx.mappings.get(LINK, str(assignment.vehicle_id))
    location = mapping.data.get("key_location") if mapping else None
    text = instructions_text(
        key_name=link.key_name if link else "",
        location=location,
        code=data.get("booking_code"),
        link=data.get("checkin_link"),
        window=window,
        time_zone=ctx.settings.time_zone,
        keycafe_account=bool(data.get("keycafe_user_id")),
    )
    # A Keycafe account holder opens with phone + PIN: the code field says so instead of a
    # one-time code they would not use.
    code = PHONE_AND_PIN if data.get("keycafe_user_id") else data.get("booking_code") or ""
    ctx.fleetio.update_custom_fields(
        assignment.id,
        {keys.instructions: text, keys.link: data.get("checkin_link") or "", keys.code: code},
    )
