"""The ServiceTrade ↔ Azuga flow as the platform sees it: two webhooks, poll, worker, daily run.

Both webhooks carry the connection's own secret (`servicetrade_azuga_webhook_secret`):
ServiceTrade signs nothing, so it is in the URL we register (`?secret=`); Azuga's alert
webhook sends it in the `x-api-key` header (authorizationType KEY). It is checked first, in
constant time; then the delivery is queued. The worker fetches every ServiceTrade entity again.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fleetbridge.core import scheduler
from fleetbridge.core.errors import FleetbridgeError, InvalidInputError, UnauthorizedError
from fleetbridge.core.flow_context import accept_webhook, dead_letter_notice
from fleetbridge.core.models import Connection
from fleetbridge.core.payload import parse_json
from fleetbridge.core.queue import WorkMessage
from fleetbridge.core.registry import Flow, Plan, WebhookReply, WebhookRequest, register
from fleetbridge.core.scheduler import POLL_DUE
from fleetbridge.core.webhook_auth import verify_token
from fleetbridge.flows.servicetrade_azuga import FLOW_ID
from fleetbridge.flows.servicetrade_azuga.settings import ServiceTradeAzugaSettings

WEBHOOK_SECRET = "servicetrade_azuga_webhook_secret"
#: The query parameter of our ServiceTrade webhook URL and Azuga's alert header.
SECRET_QUERY = "secret"
AZUGA_HEADER = "x-api-key"
ALERTS = {"ENTERED_GEOFENCE", "EXIT_GEOFENCE"}


#: The safety-net poll: each connection reads ServiceTrade's changes every `poll_minutes`.
queue_polls = scheduler.settings_polls(FLOW_ID, ServiceTradeAzugaSettings)


def receive_webhook(
    connection: Connection, credentials: dict[str, Any], request: WebhookRequest
) -> WebhookReply:
    """Check the secret (first), then queue the ServiceTrade changes or the Azuga alerts."""
    secret = str(credentials.get(WEBHOOK_SECRET) or "")
    presented = (
        request.query.get(SECRET_QUERY)
        if request.vendor == "servicetrade"
        else request.headers.get(AZUGA_HEADER)
    )
    if not verify_token(presented, secret):
        raise UnauthorizedError(f"bad or missing {request.vendor} webhook secret")
    if request.vendor == "servicetrade":
        return _servicetrade(connection, request.body)
    return _azuga(connection, request.body)


def _servicetrade(connection: Connection, body: bytes) -> WebhookReply:
    from fleetbridge.vendors.servicetrade_models import WebhookPayload

    try:
        delivery = WebhookPayload.model_validate(parse_json(body, what="delivery"))
    except (FleetbridgeError, ValueError) as exc:
        raise InvalidInputError("not a ServiceTrade webhook delivery", field="data") from exc
    changes = [
        {"type": c.entity.type, "id": c.entity.id, "action": c.action, "user_id": c.user_id}
        for c in delivery.data
        if c.entity.type in ("appointment", "job", "location", "clock")
        and str(c.entity.id).isdigit()  # ServiceTrade ids are numbers: anything else is noise
    ]
    if not changes:
        return WebhookReply(status=200, body={"ignored": "no entity this flow reads"})
    event = ",".join(sorted({f"{c['type']}.{c['action']}" for c in changes}))
    return accept_webhook(
        connection,
        event_id=f"servicetrade:{delivery.message_id}",
        event=event,
        payload={"vendor": "servicetrade", "entity": "servicetrade delivery", "changes": changes},
    )


def _azuga(connection: Connection, body: bytes) -> WebhookReply:
    try:
        parsed = parse_json(body, what="alert")
    except (FleetbridgeError, ValueError) as exc:
        raise InvalidInputError("not an Azuga alert", field="body") from exc
    items = parsed if isinstance(parsed, list) else [parsed]
    alerts = [a for a in items if isinstance(a, dict) and a.get("fenceName")]
    alerts = [a for a in alerts if a.get("eventType", "ENTERED_GEOFENCE") in ALERTS]
    if not alerts:
        return WebhookReply(status=200, body={"ignored": "no geofence alert"})
    digest = hashlib.sha256(body).hexdigest()[:32]  # Azuga sends no delivery id
    return accept_webhook(
        connection,
        event_id=f"azuga:{digest}",
        event=str(alerts[0].get("eventType", "ENTERED_GEOFENCE")),
        payload={"vendor": "azuga", "entity": "azuga alert", "alerts": alerts},
    )


def handle_message(connection: Connection, message: WorkMessage) -> None:
    """A poll, a ServiceTrade delivery or Azuga alerts."""
    from fleetbridge.flows.servicetrade_azuga.context import context_for

    source = f"{message.kind}:{message.event}"
    with context_for(connection) as ctx:
        if message.event == POLL_DUE:
            from fleetbridge.flows.servicetrade_azuga.poll import poll

            poll(ctx, source=source)
        elif message.payload.get("vendor") == "azuga":
            from fleetbridge.flows.servicetrade_azuga.arrivals import handle_alert

            for alert in message.payload.get("alerts", []):
                handle_alert(ctx, alert, source=source)
        else:
            from fleetbridge.flows.servicetrade_azuga.poll import handle_servicetrade

            handle_servicetrade(ctx, list(message.payload.get("changes", [])), source=source)


def reconcile(connection: Connection, dry_run: bool) -> Plan:
    """Daily reconciliation and `POST /sync` (dry run: the plan, nothing written)."""
    from fleetbridge.flows.servicetrade_azuga.context import context_for
    from fleetbridge.flows.servicetrade_azuga.poll import reconcile as reconcile_fences

    with context_for(connection) as ctx:
        plan = reconcile_fences(ctx, dry_run=dry_run, source="reconcile")
        if not dry_run:  # rule 6: yesterday's activity report, emailed once a day
            from fleetbridge.flows.servicetrade_azuga.report_email import send_due_report

            send_due_report(ctx)
        return plan


FLOW = register(
    Flow(
        id=FLOW_ID,
        title="ServiceTrade appointments ↔ Azuga geofences, tracking links and clock events",
        vendors=("servicetrade", "azuga"),
        extra_credential_fields=(WEBHOOK_SECRET,),
        settings_model=ServiceTradeAzugaSettings,
        handle_message=handle_message,
        receive_webhook=receive_webhook,
        reconcile=reconcile,
        on_dead_letter=dead_letter_notice(entity="servicetrade-azuga"),
        webhook_vendors=("servicetrade", "azuga"),
    )
)
