"""Rule 6, the activity report of one day (in the connection's time zone): its rows, streamed.

The day's appointments are read from ServiceTrade page by page and handled in batches of
`BATCH` (one BatchGetItem of their records, one `GET /clock` per appointment with techs), so
memory stays flat however many appointments the day has. Azuga's drivers and vehicles come from
the flow's cached lists (`Directory`): the report costs Azuga at most those two calls a day.
Renderers: `report_render.py`; the daily email: `report_email.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from itertools import batched
from zoneinfo import ZoneInfo

from fleetbridge.core.errors import VendorError
from fleetbridge.core.models import Mapping
from fleetbridge.flows.servicetrade_azuga import APPOINTMENT
from fleetbridge.flows.servicetrade_azuga.context import FlowContext
from fleetbridge.flows.servicetrade_azuga.directory import Directory
from fleetbridge.flows.servicetrade_azuga.pairing import Pairing, pair_tech
from fleetbridge.flows.servicetrade_azuga.report_rows import (
    OUTSIDE_KEY,
    Facts,
    ReportRow,
    build_row,
    en_route_event,
    quick_link,
)
from fleetbridge.vendors.base import base_url
from fleetbridge.vendors.servicetrade_models import Appointment, ClockEvent, Tech

BATCH = 100


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    """The day's first moment and the next day's, in `zone` (aware)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(), tz)
    return start, datetime.combine(day + timedelta(days=1), time(), tz)


def appointments_of_day(ctx: FlowContext, day: date) -> Iterator[Appointment]:
    """The appointments whose window starts on `day` (connection's zone), page by page."""
    start, end = day_bounds(day, ctx.settings.time_zone)
    # ServiceTrade filters on the window's end too: allow windows that run past midnight
    listed = ctx.servicetrade.appointments(
        window_begins_after=start, window_ends_before=end + timedelta(days=1)
    )
    for appointment in listed:
        if appointment.window_start is not None and start <= appointment.window_start < end:
            yield appointment


def _directory(ctx: FlowContext) -> Directory | str:
    """The cached Azuga lists, or the vendor error's message (every row then says it)."""
    try:
        return Directory.load(ctx)
    except VendorError as exc:
        return str(exc)


def _clock_events(ctx: FlowContext, appointment: Appointment) -> list[ClockEvent] | str:
    """The job's En Route clock events (none asked for without a job or techs)."""
    if appointment.job is None or not appointment.techs:
        return []
    try:
        return ctx.servicetrade.clock_events(job_id=appointment.job.id, activity="enroute")
    except VendorError as exc:
        return str(exc)


def activity_rows(ctx: FlowContext, day: date) -> Iterator[ReportRow]:
    """Every row of `day`'s report, in ServiceTrade's order (a generator)."""
    directory = _directory(ctx)
    link_base = base_url("servicetrade", ctx.connection)
    now, window = ctx.clock(), timedelta(hours=ctx.settings.arrival_window_hours)
    for batch in batched(appointments_of_day(ctx, day), BATCH):
        records = ctx.mappings.get_many(APPOINTMENT, [str(a.id) for a in batch])
        for appointment in batch:
            record: Mapping | None = records.get(str(appointment.id))
            events = _clock_events(ctx, appointment)
            techs: list[Tech | None] = [*appointment.techs] or [None]
            for tech in techs:
                pairing: Pairing | str | None = None
                event: ClockEvent | str | None = events if isinstance(events, str) else None
                if tech is not None:
                    pairing = (
                        directory
                        if isinstance(directory, str)
                        else pair_tech(tech.email, directory.drivers, directory.vehicles)
                    )
                    if not isinstance(events, str):
                        event = en_route_event(events, tech.id, appointment)
                yield build_row(
                    Facts(
                        appointment=appointment,
                        tech=tech,
                        link=quick_link(link_base, appointment.id),
                        record=record.data if record else None,
                        fence_id=record.other_id if record else None,
                        pairing=pairing,
                        en_route=event,
                        now=now,
                        arrival_window=window,
                        radius_m=ctx.settings.geofence_radius_m,
                    )
                )


def note_outside_window(ctx: FlowContext, mapping: Mapping, tech: int, at: datetime) -> None:
    """Arrival hook: keep on the appointment's record that `tech`'s vehicle arrived outside the
    window (the report's `arrived_outside_window`). Best effort: a record another worker holds
    or changed meanwhile is left alone (the activity log still has the decision)."""
    expires = mapping.data.get("claim_expires_at")
    if expires and ctx.clock() < datetime.fromisoformat(expires):
        return
    key = OUTSIDE_KEY.format(tech=tech)
    if key not in mapping.data:
        ctx.mappings.claim(APPOINTMENT, mapping.external_id, mapping, {key: at.isoformat()})
