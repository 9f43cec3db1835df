"""Carrying out rules 4 and 5: an Azuga geofence alert → the paired tech's clock changes.

The fence name ends with the appointment id (`fence_rules.fence_name`). An entry clocks the ONE
tech Azuga pairs with the vehicle out of En Route and into On Site; each clock-in is looked up
first (`clock_events`: a lost answer or a crash after it) and the tech is marked `on_site` in
the appointment's record at once, so repeated entries change nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fleetbridge.flows.servicetrade_azuga import APPOINTMENT
from fleetbridge.flows.servicetrade_azuga.claims import Claim, claim
from fleetbridge.flows.servicetrade_azuga.clock_rules import (
    ARRIVED_OUTSIDE_WINDOW,
    EN_ROUTE,
    ON_SITE,
    ArrivalDecision,
    decide_arrival,
    decide_exit,
)
from fleetbridge.flows.servicetrade_azuga.context import FlowContext
from fleetbridge.flows.servicetrade_azuga.directory import Directory
from fleetbridge.vendors.servicetrade_models import Activity

ENTERED, EXITED = "ENTERED_GEOFENCE", "EXIT_GEOFENCE"
UNKNOWN_FENCE = "unknown_fence"


def handle_alert(ctx: FlowContext, alert: dict[str, Any], *, source: str) -> str:
    """One `ENTERED_GEOFENCE` / `EXIT_GEOFENCE` alert; returns the reason recorded."""
    name = str(alert.get("fenceName") or "")
    vehicle_id = str(alert.get("vehicleId") or "")
    key = name.rsplit(" | ", 1)[-1]
    ids: dict[str, Any] = {"vehicle_id": vehicle_id, "fence_name": name}
    mapping = ctx.mappings.get(APPOINTMENT, key) if key else None
    if mapping is None or mapping.data.get("fence_name") != name:
        ctx.record("skipped", f"fence {name}", UNKNOWN_FENCE, source=source, ids=ids)
        return UNKNOWN_FENCE
    ids["appointment_id"] = key
    entity = f"appointment {key}"
    data = mapping.data
    techs = [(int(t["id"]), t.get("email")) for t in data.get("techs", [])]
    email = Directory.load(ctx).vehicle_email(vehicle_id)
    stamp = alert.get("locationTime")
    at = datetime.fromtimestamp(stamp / 1000, UTC) if isinstance(stamp, int) else ctx.clock()
    start = data.get("window_start")
    decision: ArrivalDecision[int]
    if alert.get("eventType") == EXITED:
        decision = decide_exit(
            onsite_clock_out=ctx.settings.onsite_clock_out,
            vehicle_email=email,
            techs=techs,
            on_site=data.get("on_site", []),
            left=data.get("left", []),
        )
    else:
        decision = decide_arrival(
            at=at,
            window_start=datetime.fromisoformat(start) if start else None,
            window=timedelta(hours=ctx.settings.arrival_window_hours),
            vehicle_email=email,
            techs=techs,
            on_site=data.get("on_site", []),
        )
    if decision.tech is not None:
        ids["tech_id"] = decision.tech
    if decision.action == "skip" or decision.tech is None:
        if decision.reason == ARRIVED_OUTSIDE_WINDOW and decision.tech is not None:
            from fleetbridge.flows.servicetrade_azuga.report import note_outside_window

            note_outside_window(ctx, mapping, decision.tech, at)  # for the activity report
        ctx.record("skipped", entity, decision.reason, source=source, ids=ids)
        return decision.reason
    held = claim(ctx, APPOINTMENT, key, mapping)
    try:
        if alert.get("eventType") == EXITED:
            _leave(ctx, held, decision.tech, at)
        else:
            _arrive(ctx, held, decision.tech, at)
    finally:
        held.release(ctx)
    ctx.record("updated", entity, decision.reason, source=source, ids=ids)
    return decision.reason


def _arrive(ctx: FlowContext, held: Claim, tech: int, at: datetime) -> None:
    """En Route out (if open), On Site in (unless one exists already), then mark the tech."""
    job_id, appointment_id = _close_open_events(ctx, held, tech, EN_ROUTE, at)
    st = ctx.servicetrade
    window = timedelta(hours=ctx.settings.arrival_window_hours)
    start = datetime.fromisoformat(held.data["window_start"])
    existing = [
        e
        for e in st.clock_events(user_id=tech, job_id=job_id, activity=ON_SITE)
        if e.appointment_id == appointment_id
        or (e.clock_in is not None and e.clock_in >= start - window)
    ]
    if not existing:
        st.clock_in(job_id, tech, ON_SITE, appointment_id, at=at)
    on_site = sorted({*held.data.get("on_site", []), tech})
    held.save(ctx, {"on_site": on_site, f"arrived_{tech}": at.isoformat()})


def _leave(ctx: FlowContext, held: Claim, tech: int, at: datetime) -> None:
    """On Site out (if open), then mark the tech as left."""
    _close_open_events(ctx, held, tech, ON_SITE, at)
    held.save(ctx, {"left": sorted({*held.data.get("left", []), tech})})


def _close_open_events(
    ctx: FlowContext, held: Claim, tech: int, activity: Activity, at: datetime
) -> tuple[int, int]:
    """Clock the tech out of every open `activity` event on the appointment's job (looked up,
    so a repeat finds none), never before the event began; returns (job id, appointment id)."""
    job_id, appointment_id = int(held.data["job_id"]), int(held.mapping.external_id)
    st = ctx.servicetrade
    for event in st.clock_events(user_id=tech, job_id=job_id, activity=activity, clocked_in=True):
        out = max(at, event.clock_in) if event.clock_in else at
        st.clock_out(job_id, tech, activity, appointment_id, at=out)
    return job_id, appointment_id
