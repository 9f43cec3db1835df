"""The flow's emails to the connection's admins: Prompt reminders and failure notices."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fleetbridge.flows.fleetio_keycafe.context import FlowContext
from fleetbridge.flows.fleetio_keycafe.rules import Assignment, Remind, VehicleLink


def remind(
    ctx: FlowContext, assignment: Assignment, link: VehicleLink | None, step: Remind
) -> None:
    zone = ZoneInfo(ctx.settings.time_zone)
    ctx.notifier.send(
        ctx.connection,
        ctx.settings.admin_emails,
        "keycafe_prompt",
        {
            "vehicle": assignment.vehicle_name,
            "driver": step.driver.name,
            "driver_contact": step.driver.email or step.driver.mobile or "",
            "start": step.window.start.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "end": step.window.end.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "time_zone": ctx.settings.time_zone,
            "key": link.key_name if link else str(step.key_id),
            "create_link": f"{ctx.settings.keycafe_dashboard_url}/keys/{step.key_id}",
            "assignment_id": assignment.id,
        },
        entity=f"assignment {assignment.id}",
        source_event="prompt_reminder",
    )


def notify_failure(
    ctx: FlowContext, assignment: Assignment, reason: str, source_event: str
) -> None:
    ctx.notifier.send(
        ctx.connection,
        ctx.settings.admin_emails,
        "failure",
        {
            "entity": f"Fleetio assignment {assignment.id} ({assignment.vehicle_name})",
            "reason": reason,
            "details": "The vendor refused this assignment's content. Fix it in Fleetio (or the "
            "key in Keycafe): the next change of the assignment is tried again.",
        },
        entity=f"assignment {assignment.id}",
        source_event=source_event,
    )
