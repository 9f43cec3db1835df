"""Carrying out rules 3 to 5: an En Route clock-in's TrackMe link and Service Link, and the
clock changes a vehicle's fence entry (or exit) causes, each exactly once.

- TrackMe link and Service Link: the clock event's mapping (`EN_ROUTE`, its id) marks each the
  moment it answers; a Service Link is never sent again once marked (also not after an answer
  that may have been lost: `message_pending` stays, reason `service_link_unknown`).
- Clock events: before a clock-in, `clock_events(...)` is asked whether it exists already (a
  lost answer); the appointment's mapping marks the tech `on_site` (or `left`) at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fleetbridge.core.errors import AuthError, RateLimited, VendorValidationError
from fleetbridge.core.models import Mapping, iso
from fleetbridge.flows.servicetrade_azuga import APPOINTMENT, EN_ROUTE
from fleetbridge.flows.servicetrade_azuga.claims import Claim, claim
from fleetbridge.flows.servicetrade_azuga.clock_rules import (
    NOT_EN_ROUTE_CLOCK_IN,
    TRACKING,
    decide_en_route,
)
from fleetbridge.flows.servicetrade_azuga.context import FlowContext
from fleetbridge.flows.servicetrade_azuga.directory import Directory
from fleetbridge.flows.servicetrade_azuga.fence_rules import window_closes
from fleetbridge.vendors.servicetrade_models import ClockEvent

ENROUTE = "enroute"
NO_APPOINTMENT = "no_appointment"
SERVICE_LINK_UNKNOWN = "service_link_unknown"
#: Errors after which the message certainly was not sent (it may be sent on a retry).
NOT_SENT = (RateLimited, AuthError, VendorValidationError)


def _appointment_for(ctx: FlowContext, event: ClockEvent) -> Mapping | None:
    """The appointment of a clock event: its `appointmentId`, else ours for that job and tech
    whose window starts nearest the clock-in."""
    if event.appointment_id is not None:
        return ctx.mappings.get(APPOINTMENT, str(event.appointment_id))
    candidates = [
        m
        for m in ctx.mappings.list(APPOINTMENT)
        if m.data.get("job_id") == event.job_id
        and any(t.get("id") == event.user_id for t in m.data.get("techs", []))
        and m.data.get("window_start")
    ]
    at = event.clock_in or ctx.clock()
    return min(
        candidates,
        key=lambda m: abs(datetime.fromisoformat(m.data["window_start"]) - at),
        default=None,
    )


def en_route_finished(mapping: Mapping | None) -> bool:
    """Whether a clock-in's work is over: skipped with a reason, or its Service Link sent,
    pending or decided. A record without any of them was left by a worker that died (say
    after the TrackMe link answered): the poll carries it on."""
    data = mapping.data if mapping is not None else {}
    return any(data.get(k) for k in ("reason", "message_reason", "message_id", "message_pending"))


def en_route(ctx: FlowContext, event: ClockEvent, *, source: str) -> str:
    """Rule 3 for one clock event; returns the reason recorded."""
    entity = f"clock {event.id}"
    ids: dict[str, Any] = {"clock_event_id": event.id, "tech_id": event.user_id}
    if event.activity != ENROUTE or not event.open:
        ctx.record("skipped", entity, NOT_EN_ROUTE_CLOCK_IN, source=source, ids=ids)
        return NOT_EN_ROUTE_CLOCK_IN
    found = _appointment_for(ctx, event)
    key = found.external_id if found else event.appointment_id
    appointment = ctx.servicetrade.appointment(int(key)) if key else None
    if appointment is None or appointment.job is None:
        return _skip(ctx, event, NO_APPOINTMENT, source=source, ids=ids)
    ids["appointment_id"] = appointment.id
    email = next((t.email for t in appointment.techs if t.id == event.user_id), None)
    pairing = Directory.load(ctx).pairing(email)
    mapping = ctx.mappings.get(EN_ROUTE, str(event.id))
    done = mapping.data if mapping else {}
    decision = decide_en_route(
        activity=event.activity,
        clocked_in=event.open,
        pairing=pairing,
        location=appointment.location,
        send_service_link=ctx.settings.send_service_link,
        have_link=bool(done.get("tracking_url")),
        message_sent=bool(done.get("message_id") or done.get("message_pending")),
    )
    if decision.link == "skip":
        return _skip(ctx, event, decision.reason, source=source, ids=ids, mapping=mapping)
    held = claim(ctx, EN_ROUTE, str(event.id), mapping)
    try:
        if decision.link == "create":
            window = timedelta(hours=ctx.settings.arrival_window_hours)
            start = appointment.window_start or ctx.clock()
            ttl = window_closes(start, appointment.window_end, window) - ctx.clock()
            link = ctx.azuga.tracking_link(
                str(pairing.vehicle_id),
                pairing.driver_id,
                max(60, int(ttl.total_seconds() // 60)),
                name=f"appointment {appointment.id}",
            )
            linked = {"tracking_url": link.url, "vehicle_id": pairing.vehicle_id}
            held.save(ctx, {**linked, "appointment_id": appointment.id, "token": link.token})
            ctx.record(
                "created",
                f"tracking link {event.id}",
                TRACKING,
                source=source,
                ids={**ids, **linked},
            )
        reason = decision.message_reason
        if decision.message == "send":
            _send(ctx, held, appointment.job.id, appointment.id, decision.to, ids, source)
        else:
            if decision.message == "done" and not done.get("message_id"):
                reason = SERVICE_LINK_UNKNOWN
            held.save(ctx, {"message_reason": reason})
            ctx.record("skipped", f"service link {event.id}", reason, source=source, ids=ids)
    finally:
        held.release(ctx)
    return decision.reason


def _skip(
    ctx: FlowContext,
    event: ClockEvent,
    reason: str,
    *,
    source: str,
    ids: dict[str, Any],
    mapping: Mapping | None = None,
) -> str:
    """Record why nothing was done, and mark the clock-in handled (the poll skips it)."""
    ctx.mappings.claim(EN_ROUTE, str(event.id), mapping, {"reason": reason})
    ctx.record("skipped", f"clock {event.id}", reason, source=source, ids=ids)
    return reason


def _send(
    ctx: FlowContext,
    held: Claim,
    job_id: int,
    appointment_id: int,
    to: tuple[str, ...],
    ids: dict[str, Any],
    source: str,
) -> None:
    """The Service Link, at most once: marked pending before the call, its id saved at once."""
    held.save(ctx, {"message_pending": iso(ctx.clock())})
    try:
        message_id = ctx.servicetrade.send_service_link(
            job_id=job_id,
            appointment_id=appointment_id,
            tracking_url=held.data["tracking_url"],
            emails=to,
            reply_to=ctx.settings.reply_to,
        )
    except NOT_SENT:
        held.save(ctx, {"message_pending": None})
        raise
    held.save(ctx, {"message_id": message_id, "message_to": list(to)})
    ids = {**ids, "message_id": message_id, "to": list(to)}
    ctx.record(
        "notified", f"service link {ids['clock_event_id']}", TRACKING, source=source, ids=ids
    )
