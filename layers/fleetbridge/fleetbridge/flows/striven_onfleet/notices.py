"""Rule 8's emails: a task or a driver that could not be synced, told once per distinct failure.

Every reason the flow can fail with has one sentence here saying what to fix (the emails and
`docs/striven-onfleet.md` use the same words).
"""

from __future__ import annotations

from fleetbridge.core.notifier import EmailTemplate, register_template
from fleetbridge.flows.striven_onfleet.context import FlowContext

TASK_FAILED = "striven_onfleet_task_failed"
DRIVER_FAILED = "striven_onfleet_driver_failed"

#: Failure reason → what to do about it.
FIXES: dict[str, str] = {
    "no_location": "Give the task a location with an address or coordinates in Striven.",
    "onfleet_rejected": "Onfleet refused the task: correct the field it names in Striven.",
    "vendor_error": "Onfleet or Striven kept failing; the task is in the dead-letter queue: "
    "replay it once the vendor is back (POST /connections/{id}/dead-letters/replay).",
    "driver_name_conflict": "An Onfleet driver already has this phone number under another "
    "name: correct the name on one side (or the phone in Striven).",
    "driver_no_phone_of_type": "Add a phone of the connection's phone type to the employee in "
    "Striven (or change settings.phone_type).",
    "driver_invalid_phone": "The employee's phone of the selected type is not a valid number: "
    "correct it in Striven.",
    "employee_not_found": "Striven has no such employee any more: reassign the task.",
}
RETRY = (
    "It is tried again on the task's next update in Striven; a failure that has not changed is "
    "not emailed again."
)

register_template(
    TASK_FAILED,
    EmailTemplate(
        subject="[fleetbridge] Striven task $task_id could not be synced to Onfleet",
        text="Striven task $task_id ($title) could not be synced to Onfleet.\n\n"
        "Reason: $reason\n$message\n\nWhat to do: $fix\n\n$retry\n",
        html="<p>Striven task <b>$task_id</b> ($title) could not be synced to Onfleet.</p>"
        "<p>Reason: <b>$reason</b><br>$message</p><p>What to do: $fix</p><p>$retry</p>",
    ),
)
register_template(
    DRIVER_FAILED,
    EmailTemplate(
        subject="[fleetbridge] Onfleet driver for $employee could not be created",
        text="The Onfleet driver for Striven employee $employee (id $employee_id) could not be "
        "created, so Striven task $task_id was not synced.\n\nReason: $reason\n$message\n\n"
        "What to do: $fix\n\n$retry\n",
        html="<p>The Onfleet driver for Striven employee <b>$employee</b> (id $employee_id) could "
        "not be created, so Striven task <b>$task_id</b> was not synced.</p>"
        "<p>Reason: <b>$reason</b><br>$message</p><p>What to do: $fix</p><p>$retry</p>",
    ),
)


def task_failed(
    ctx: FlowContext, task_id: int, title: str, reason: str, message: str, source_event: str
) -> None:
    """Email the notify recipients that a task failed (the caller checked `should_notify`)."""
    ctx.notifier.send(
        ctx.connection,
        ctx.settings.admin_emails,
        TASK_FAILED,
        {
            "task_id": task_id,
            "title": title or "untitled",
            "reason": reason,
            "message": message,
            "fix": FIXES.get(reason, FIXES["onfleet_rejected"]),
            "retry": RETRY,
        },
        entity=f"task {task_id}",
        source_event=source_event,
    )


def driver_failed(
    ctx: FlowContext,
    employee_id: int,
    employee: str,
    task_id: int,
    reason: str,
    message: str,
    source_event: str,
) -> None:
    """Email the notify recipients that an employee's driver could not be created (rule 6)."""
    ctx.notifier.send(
        ctx.connection,
        ctx.settings.admin_emails,
        DRIVER_FAILED,
        {
            "employee": employee,
            "employee_id": employee_id,
            "task_id": task_id,
            "reason": reason,
            "message": message,
            "fix": FIXES.get(reason, ""),
            "retry": RETRY,
        },
        entity=f"employee {employee_id}",
        source_event=source_event,
    )
