"""The Fleetio → Keycafe flow as the platform sees it: webhook, worker, reconciliation, test."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetbridge.core.errors import FleetbridgeError, InvalidInputError, UnauthorizedError
from fleetbridge.core.flow_context import accept_webhook, dead_letter_notice
from fleetbridge.core.models import Connection
from fleetbridge.core.notifier import EmailTemplate, register_template
from fleetbridge.core.payload import parse_json
from fleetbridge.core.queue import WorkMessage
from fleetbridge.core.registry import Flow, Plan, WebhookReply, WebhookRequest, register
from fleetbridge.core.webhook_auth import verify_hmac_hex
from fleetbridge.flows.fleetio_keycafe import FLOW_ID
from fleetbridge.flows.fleetio_keycafe.settings import FleetioKeycafeSettings

if TYPE_CHECKING:
    from fleetbridge.flows.fleetio_keycafe.context import FlowContext

# The webhook function loads this module on its first delivery and needs only the signature
# check: the orchestration, vendor clients and httpx are imported where they are used.
SIGNATURE_HEADER = "x-fleetio-webhook-signature"

register_template(
    "keycafe_prompt",
    EmailTemplate(
        subject="[fleetbridge] Create key access: $vehicle for $driver",
        text=(
            "Vehicle $vehicle is assigned to $driver ($driver_contact) from $start to $end "
            "($time_zone).\nIts key '$key' is set to Prompt: create the access in Keycafe:\n"
            "$create_link\n\nFleetio assignment $assignment_id."
        ),
        html=(
            "<p>Vehicle <b>$vehicle</b> is assigned to <b>$driver</b> ($driver_contact) "
            "from $start to $end ($time_zone).</p><p>Its key <b>$key</b> is set to Prompt: "
            '<a href="$create_link">create the access in Keycafe</a>.</p>'
            "<p>Fleetio assignment $assignment_id.</p>"
        ),
    ),
)


def context_for(connection: Connection, credentials: dict[str, Any] | None = None) -> FlowContext:
    """Clients and repositories for one connection (the clients are imported now, not with the
    flow: the webhook function never needs them)."""
    from fleetbridge.flows.fleetio_keycafe.context import FlowContext

    return FlowContext.for_connection(connection, credentials)


def receive_webhook(
    connection: Connection, credentials: dict[str, Any], request: WebhookRequest
) -> WebhookReply:
    """Check the signature first; then queue one message per assignment event."""
    signature = request.headers.get(SIGNATURE_HEADER)
    if not verify_hmac_hex(request.body, signature, credentials["fleetio_webhook_secret"]):
        raise UnauthorizedError("bad or missing X-Fleetio-Webhook-Signature")
    try:
        delivery = parse_json(request.body, what="delivery")
        assignment_id = int(delivery["payload"]["id"])
        event = str(delivery["event"])
        delivery_id = str(delivery.get("id") or f"{event}:{assignment_id}:{delivery['timestamp']}")
    except (FleetbridgeError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(
            "not a Fleetio vehicle assignment delivery", field="payload.id"
        ) from exc
    events = FleetioKeycafeSettings.model_validate(connection.settings).webhook_events
    if event not in (events.created, events.updated, events.deleted):
        return WebhookReply(status=200, body={"ignored": f"event {event}"})
    return accept_webhook(
        connection,
        event_id=delivery_id,
        event=event,
        payload={"assignment_id": assignment_id, "entity": f"assignment {assignment_id}"},
    )


def handle_message(connection: Connection, message: WorkMessage) -> None:
    """Act on the assignment's current state (re-fetched: deliveries repeat and reorder)."""
    from fleetbridge.flows.fleetio_keycafe.sync import sync_assignment

    assignment_id = int(message.payload["assignment_id"])
    with context_for(connection) as ctx:
        sync_assignment(ctx, assignment_id, source_event=message.event or message.kind)


def reconcile(connection: Connection, dry_run: bool) -> Plan:
    """Daily reconciliation and `POST /sync`: fix drift between Fleetio, Keycafe and us."""
    from fleetbridge.flows.fleetio_keycafe.reconcile import reconcile_assignments

    with context_for(connection) as ctx:
        return reconcile_assignments(ctx, dry_run=dry_run)


FLOW = register(
    Flow(
        id=FLOW_ID,
        title="Fleetio vehicle assignments → Keycafe key bookings",
        vendors=("fleetio", "keycafe"),
        extra_credential_fields=("fleetio_webhook_secret",),
        settings_model=FleetioKeycafeSettings,
        handle_message=handle_message,
        receive_webhook=receive_webhook,
        reconcile=reconcile,
        on_dead_letter=dead_letter_notice(what="delivery"),  # one email a delivery
        webhook_vendors=("fleetio",),
    )
)
