"""Rule 8's data: the day's appointments with coordinates (ServiceTrade; the fence radius the
flow recorded, else the setting) and the vehicles' last positions (`azuga.vehicles()`)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fleetbridge.core.errors import VendorError
from fleetbridge.flows.servicetrade_azuga import APPOINTMENT
from fleetbridge.flows.servicetrade_azuga.context import FlowContext
from fleetbridge.flows.servicetrade_azuga.map_page import Spot, Van, render_map
from fleetbridge.flows.servicetrade_azuga.report import appointments_of_day


def spots(ctx: FlowContext, day: date) -> list[Spot]:
    """The day's appointments that have coordinates."""
    found = [a for a in appointments_of_day(ctx, day) if a.location and a.location.lat is not None]
    records = ctx.mappings.get_many(APPOINTMENT, [str(a.id) for a in found])
    out = []
    for a in found:
        location = a.location
        if location is None or location.lat is None or location.lon is None:
            continue
        record = records.get(str(a.id))
        place = record.data.get("place") if record else None
        radius = float(place[3]) if place else float(ctx.settings.geofence_radius_m)
        out.append(
            Spot(
                appointment_id=str(a.id),
                status=a.status,
                techs=", ".join(t.name or t.email or str(t.id) for t in a.techs),
                lat=location.lat,
                lon=location.lon,
                radius_m=radius,
                place=location.name or "",
            )
        )
    return out


def vans(ctx: FlowContext) -> list[Van]:
    """Every vehicle with a last known position."""
    out = []
    for v in ctx.azuga.vehicles():
        where = v.last_location
        if where is None:
            continue
        seen = (
            datetime.fromtimestamp(where.location_time / 1000, UTC).isoformat(timespec="seconds")
            if where.location_time
            else ""
        )
        out.append(Van(v.id, v.name or v.id, where.latitude, where.longitude, seen))
    return out


def map_page(ctx: FlowContext, day: date) -> str:
    """The page; an Azuga error leaves the vehicles out and says so."""
    note = ""
    try:
        vehicles = vans(ctx)
    except VendorError as exc:
        vehicles, note = [], f"Vehicles unavailable: {exc}"
    title = f"{ctx.connection.name}: appointments and vehicles on {day.isoformat()}"
    return render_map(title, spots(ctx, day), vehicles, note)
