"""The Striven → Onfleet flow as the platform sees it: poll, worker, daily run, test, dead letters.

Striven has no webhooks: a one-minute schedule queues a `poll_due` message for each enabled
connection whose `poll_minutes` interval has come; the worker runs the poll (`poll.py`), which
queues the changed tasks a few per message (`work.py`), carried out by the same worker
(`sync.py`). The daily
schedule queues the reconciliation: the selected teams and their membership (`teams.py`).
Disabling the connection stops all of it at once (schedules and the worker skip it).

Vendor clients and httpx are imported where they are used: the API function loads this module
to validate settings and credentials.
"""

from __future__ import annotations

import json
from typing import Any

from fleetbridge.core import scheduler
from fleetbridge.core.errors import AuthError, InvalidInputError, UnauthorizedError
from fleetbridge.core.flow_context import accept_webhook
from fleetbridge.core.models import Connection, fingerprint
from fleetbridge.core.queue import WorkMessage
from fleetbridge.core.registry import (
    Flow,
    Plan,
    VendorCheck,
    WebhookReply,
    WebhookRequest,
    register,
)
from fleetbridge.core.scheduler import POLL_DUE
from fleetbridge.core.webhook_auth import verify_hmac_hex
from fleetbridge.flows.striven_onfleet import FLOW_ID
from fleetbridge.flows.striven_onfleet.settings import StrivenOnfleetSettings

TASK_EVENTS = frozenset({"task_changed", "window_recheck", "membership_recheck"})
ONFLEET_TASK = "onfleet_task"
SIGNATURE_HEADER = "x-onfleet-signature"


#: The poll schedule: each enabled connection's tasks are read every `poll_minutes`.
queue_polls = scheduler.settings_polls(FLOW_ID, StrivenOnfleetSettings)


def receive_webhook(
    connection: Connection, credentials: dict[str, Any], request: WebhookRequest
) -> WebhookReply:
    """Onfleet's task webhooks (issue 15 item 5, `onfleet_events.py`).

    `GET ?check=<token>` is Onfleet's URL validation when the webhook is registered: the token
    is answered as plain text. A POST must carry `X-Onfleet-Signature`, the hex HMAC-SHA512 of
    the raw body keyed with the connection's `onfleet_webhook_secret` hex-decoded; the watched
    triggers are queued, the others answered 200 and dropped.
    """
    from fleetbridge.flows.striven_onfleet.onfleet_events import WATCHED

    if request.method == "GET":
        token = str(request.query.get("check") or "")
        if not token:
            raise InvalidInputError("Onfleet's URL check carries ?check=<token>", field="check")
        return WebhookReply(status=200, body=token, content_type="text/plain")
    secret = str(credentials.get("onfleet_webhook_secret") or "")
    signature = request.headers.get(SIGNATURE_HEADER)
    if not verify_hmac_hex(request.body, signature, secret, algorithm="sha512", hex_key=True):
        raise UnauthorizedError("bad or missing X-Onfleet-Signature")
    try:
        delivery = json.loads(request.body)
        trigger = int(delivery["triggerId"])
        task_id = str(delivery.get("taskId") or "")
        at = int(delivery.get("time") or 0)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError("not an Onfleet webhook delivery", field="triggerId") from exc
    if trigger not in WATCHED or not task_id:
        return WebhookReply(status=200, body={"ignored": f"trigger {trigger}"})
    data = delivery.get("data") if isinstance(delivery.get("data"), dict) else {}
    return accept_webhook(
        connection,
        event_id=f"onfleet:{trigger}:{task_id}:{at}",
        event=ONFLEET_TASK,
        payload={
            "entity": f"onfleet task {task_id}",
            "trigger": trigger,
            "task_id": task_id,
            "worker_id": delivery.get("workerId"),
            "time": at,
            "task": data.get("task") if isinstance(data.get("task"), dict) else {},
        },
    )


def handle_message(connection: Connection, message: WorkMessage) -> None:
    """A poll, one task read by a poll (changed, entering its 24-hour window, or its assignee
    joined a selected team), or an Onfleet task event."""
    from fleetbridge.flows.striven_onfleet.context import context_for

    known = {POLL_DUE, ONFLEET_TASK, *TASK_EVENTS}
    if message.event not in known:
        raise InvalidInputError(f"unknown {FLOW_ID} message {message.event!r}", field="event")
    with context_for(connection) as ctx:
        if message.event == ONFLEET_TASK:
            from fleetbridge.flows.striven_onfleet.onfleet_events import apply_onfleet_event

            apply_onfleet_event(ctx, message.payload, f"webhook:{ONFLEET_TASK}")
            return
        if message.event == POLL_DUE:
            from fleetbridge.flows.striven_onfleet.poll import poll_tasks

            poll_tasks(ctx, poll_id=message.event_id)
            return
        from fleetbridge.flows.striven_onfleet.sync import sync_tasks
        from fleetbridge.flows.striven_onfleet.work import parse_work

        source = f"{message.kind}:{message.event}"
        sync_tasks(ctx, parse_work(message.payload), source_event=source)


def reconcile(connection: Connection, dry_run: bool) -> Plan:
    """Daily (and `POST /sync`): the selected teams exist in Onfleet and follow Striven; tasks
    and drivers orphaned by deletions the poll cannot see are fixed (`reconcile.py`)."""
    from fleetbridge.flows.striven_onfleet.context import context_for
    from fleetbridge.flows.striven_onfleet.reconcile import reconcile_drivers, reconcile_tasks
    from fleetbridge.flows.striven_onfleet.teams import reconcile_teams

    with context_for(connection) as ctx:
        plan, gone = reconcile_drivers(ctx, dry_run=dry_run, source_event="reconcile")
        plan.extend(reconcile_teams(ctx, dry_run=dry_run, source_event="reconcile", gone=gone))
        plan.extend(reconcile_tasks(ctx, gone, dry_run=dry_run, source_event="reconcile"))
        return plan


def test_connection(connection: Connection, credentials: dict[str, Any]) -> list[VendorCheck]:
    """Onfleet `GET /auth/test` with the API key; a Striven token with the client credentials."""
    from fleetbridge.core.vendor_checks import check_vendors
    from fleetbridge.flows.striven_onfleet.context import striven_client
    from fleetbridge.vendors.onfleet import OnfleetClient

    return check_vendors(
        connection,
        credentials,
        [
            ("onfleet", OnfleetClient.for_connection, None),  # `check()`: GET /auth/test
            ("striven", striven_client, lambda c: c.authenticate()),
        ],
    )


def on_dead_letter(connection: Connection, message: WorkMessage, error: Exception) -> None:
    """The last attempt failed: the task's failure is recorded and emailed (rule 8).

    Credentials rejected (every task would fail alike) and failed polls are told once a day for
    the connection instead of once per task.
    """
    from fleetbridge.flows.striven_onfleet.context import context_for
    from fleetbridge.flows.striven_onfleet.sync import fail_unfinished
    from fleetbridge.flows.striven_onfleet.work import parse_work

    with context_for(connection) as ctx:
        connection_wide = isinstance(error, AuthError) or message.event not in TASK_EVENTS
        if message.event in TASK_EVENTS:
            works = parse_work(message.payload)
            notify = not connection_wide
            fail_unfinished(ctx, works, "vendor_error", str(error), "dead_letter", notify=notify)
        if connection_wide:
            _tell_once_a_day(ctx, message, error)


def _tell_once_a_day(ctx: Any, message: WorkMessage, error: Exception) -> None:

    kind = "credentials" if isinstance(error, AuthError) else message.event or message.kind
    day = ctx.clock().date().isoformat()
    current = fingerprint({"kind": kind, "error": type(error).__name__, "day": day})
    if ctx.state().load().get("connection_failure") == current:
        return
    ctx.notifier.send(
        ctx.connection,
        ctx.settings.admin_emails,
        "failure",
        {
            "entity": f"Striven → Onfleet {kind}",
            "reason": str(error),
            "details": "Check the connection (POST /connections/{id}/test), then replay the "
            "dead letters (POST /connections/{id}/dead-letters/replay).",
        },
        entity="connection",
        source_event="dead_letter",
    )
    ctx.state().update(connection_failure=current)


FLOW = register(
    Flow(
        id=FLOW_ID,
        title="Striven tasks, employees and teams → Onfleet tasks, drivers and teams",
        vendors=("striven", "onfleet"),
        optional_credential_fields=("onfleet_webhook_secret",),
        settings_model=StrivenOnfleetSettings,
        test_connection=test_connection,
        handle_message=handle_message,
        reconcile=reconcile,
        on_dead_letter=on_dead_letter,
        receive_webhook=receive_webhook,
        webhook_vendors=("onfleet",),
    )
)
