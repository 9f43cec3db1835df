"""The poll (safety net of the webhooks), the webhook work and the daily reconciliation.

- Poll: appointments `updatedAfter` the cursor (kept in the connection state; the filter is
  inclusive, so the last second is read again and costs nothing: fingerprints), the open En
  Route clock-ins we have not finished (also one a dead worker left half done), and the fences
  whose window closed (rule 7).
- ServiceTrade deliveries: every entity is fetched again (servicetrade.md), never trusted.
- Reconciliation: the appointments whose window starts from yesterday to `HORIZON` ahead.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from typing import Any

from fleetbridge.core.registry import Plan
from fleetbridge.flows.servicetrade_azuga import APPOINTMENT, EN_ROUTE
from fleetbridge.flows.servicetrade_azuga.claims import Busy
from fleetbridge.flows.servicetrade_azuga.clocks import en_route, en_route_finished
from fleetbridge.flows.servicetrade_azuga.context import FlowContext
from fleetbridge.flows.servicetrade_azuga.fences import remove_closed, sync_appointments
from fleetbridge.vendors.servicetrade_models import Appointment, ClockEvent

CURSOR = "updated_after"
#: The first poll reads the changes of the last day.
FIRST_POLL = timedelta(days=1)
#: How far ahead the reconciliation looks.
HORIZON = timedelta(days=14)


def poll(ctx: FlowContext, *, source: str) -> Plan:
    """One poll of the connection (see the module docstring)."""
    state = ctx.state().load()
    cursor = state.get(CURSOR) or int((ctx.clock() - FIRST_POLL).timestamp())
    found = {str(a.id): a for a in ctx.servicetrade.appointments(updated_after=cursor)}
    plan = sync_appointments(ctx, dict(found), source=source)
    stamps = [int(a.updated.timestamp()) for a in found.values() if a.updated]
    for event in ctx.servicetrade.clock_events(activity="enroute", clocked_in=True):
        if not en_route_finished(ctx.mappings.get(EN_ROUTE, str(event.id))):
            with suppress(Busy):  # another worker holds it: the next poll looks again
                en_route(ctx, event, source=source)
    plan.extend(remove_closed(ctx, source=source))
    if stamps and max(stamps) > cursor:
        ctx.state().update(**{CURSOR: max(stamps)})
    return plan


def handle_servicetrade(ctx: FlowContext, changes: list[dict[str, Any]], *, source: str) -> None:
    """A ServiceTrade delivery's changes, each entity fetched again."""
    appointments: dict[str, Appointment | None] = {}
    related: set[tuple[str, int]] = set()
    for change in changes:
        kind, key, action = change["type"], str(change["id"]), change.get("action")
        if kind == "appointment":
            appointments[key] = (
                None if action == "deleted" else ctx.servicetrade.appointment(int(key))
            )
        elif kind in ("job", "location"):
            related.add((f"{kind}_id", int(key)))
        elif kind == "clock":
            event = _clock_event(ctx, int(key), change.get("user_id"))
            if event is not None:
                en_route(ctx, event, source=source)
    if related:  # a job or location changed: the appointments we know of that use it
        for mapping in ctx.mappings.list(APPOINTMENT):
            if any(mapping.data.get(field) == value for field, value in related):
                key = mapping.external_id
                appointments.setdefault(key, ctx.servicetrade.appointment(int(key)))
    if appointments:
        sync_appointments(ctx, appointments, source=source)


def _clock_event(ctx: FlowContext, event_id: int, user_id: Any) -> ClockEvent | None:
    """A clock event fetched again (ServiceTrade lists them; there is no read by id)."""
    user = int(user_id) if user_id is not None else None
    return next((e for e in ctx.servicetrade.clock_events(user_id=user) if e.id == event_id), None)


def reconcile(ctx: FlowContext, *, dry_run: bool, source: str) -> Plan:
    """The fences of every appointment from yesterday to `HORIZON` ahead, and rule 7."""
    now = ctx.clock()
    found = {
        str(a.id): a
        for a in ctx.servicetrade.appointments(
            window_begins_after=now - timedelta(days=1), window_ends_before=now + HORIZON
        )
    }
    plan = sync_appointments(ctx, dict(found), source=source, dry_run=dry_run)
    return plan.extend(remove_closed(ctx, source=source, dry_run=dry_run))
