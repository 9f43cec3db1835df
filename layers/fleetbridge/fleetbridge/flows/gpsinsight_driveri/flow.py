"""The GPS Insight → Driveri flow as the platform sees it: push, poll, worker, daily run, test.

Driver Sync is opt-in (`settings.driver_sync_enabled`, turned on by the portal's Master User
through `POST /connections/{id}/driver-sync`): while it is off, pushes answer 200 and do
nothing, polls are not queued and queued work is skipped.
"""

from __future__ import annotations

from typing import Any

from fleetbridge.core import scheduler
from fleetbridge.core.activity import ActivityLog
from fleetbridge.core.errors import FleetbridgeError, InvalidInputError, UnauthorizedError
from fleetbridge.core.flow_context import accept_webhook, dead_letter_notice
from fleetbridge.core.models import Connection
from fleetbridge.core.payload import parse_json
from fleetbridge.core.queue import WorkMessage
from fleetbridge.core.registry import Flow, Plan, WebhookReply, WebhookRequest, register
from fleetbridge.core.scheduler import POLL_DUE
from fleetbridge.core.webhook_auth import verify_hmac_hex
from fleetbridge.flows.gpsinsight_driveri import FLOW_ID
from fleetbridge.flows.gpsinsight_driveri.settings import GpsInsightDriveriSettings

# The push function loads this module on its first delivery and needs only the signature
# check: vendor clients and httpx are imported where they are used.
SIGNATURE_HEADER = "x-gpsinsight-signature"
PUSH_SECRET = "gpsinsight_push_secret"
PUSH_EVENTS = {"driver_created", "driver_updated", "driver_deleted"}


def _enabled(connection: Connection) -> bool:
    return GpsInsightDriveriSettings.model_validate(connection.settings).driver_sync_enabled


#: The poll schedule: every `poll_minutes` a connection's portal is read, never while Driver
#: Sync is off.
queue_polls = scheduler.settings_polls(
    FLOW_ID, GpsInsightDriveriSettings, switch="driver_sync_enabled"
)


def receive_webhook(
    connection: Connection, credentials: dict[str, Any], request: WebhookRequest
) -> WebhookReply:
    """Verify `X-GPSInsight-Signature`, then queue the pushed driver change."""
    secret = credentials.get(PUSH_SECRET)
    if not secret:
        raise UnauthorizedError(f"push is not configured: set credentials.{PUSH_SECRET}")
    if not verify_hmac_hex(request.body, request.headers.get(SIGNATURE_HEADER), secret):
        raise UnauthorizedError("bad or missing X-GPSInsight-Signature")
    try:
        delivery = parse_json(request.body, what="delivery")
        event = str(delivery["event"])
        driver = dict(delivery["driver"])
        portal_id = str(driver["driver_id"])
    except (FleetbridgeError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError("not a GPS Insight driver push", field="driver.driver_id") from exc
    if event not in PUSH_EVENTS:
        return WebhookReply(status=200, body={"ignored": f"event {event}"})
    if not _enabled(connection):
        return WebhookReply(status=200, body={"ignored": "driver sync is off"})
    stamp = driver.get("updated_at") or delivery.get("timestamp") or ""
    payload: dict[str, Any] = {"entity": f"driver {portal_id}", "portal_driver_id": portal_id}
    if event == "driver_deleted":
        payload["deleted"] = True
    else:
        payload["portal_record"] = driver
    return accept_webhook(
        connection, event_id=f"push:{portal_id}:{event}:{stamp}", event=event, payload=payload
    )


def handle_message(connection: Connection, message: WorkMessage) -> None:
    """Poll fan-out, or one driver's change (from the push or the poll)."""
    from fleetbridge.flows.gpsinsight_driveri.context import context_for

    if not _enabled(connection):
        ActivityLog().record(
            connection,
            action="skipped",
            entity=str(message.payload.get("entity", "driver sync")),
            source_event=message.event or message.kind,
            reason="driver_sync_off",
        )
        return
    with context_for(connection) as ctx:
        if message.event == POLL_DUE:
            from fleetbridge.flows.gpsinsight_driveri.poll import poll_portal

            poll_portal(ctx, poll_id=message.event_id)
            return
        _sync_one(ctx, message)


def _sync_one(ctx: Any, message: WorkMessage) -> None:
    from fleetbridge.flows.gpsinsight_driveri.sync import removed, sync_driver, to_portal
    from fleetbridge.vendors.gpsinsight import PortalDriver, portal_driver

    payload = message.payload
    source = f"{message.kind}:{message.event}"
    if payload.get("deleted"):
        sync_driver(ctx, removed(str(payload["portal_driver_id"])), source_event=source)
        return
    if "portal_record" in payload:  # pushed: the portal's own record shape
        driver = portal_driver(payload["portal_record"], ctx.settings.driver_id_field)
    else:  # polled: already parsed
        driver = PortalDriver.model_validate(payload["portal_driver"])
    sync_driver(ctx, to_portal(driver), source_event=source, updated_at=driver.updated_at)


def reconcile(connection: Connection, dry_run: bool) -> Plan:
    """Daily reconciliation, initial sync and `POST /sync` (dry run works with sync off)."""
    from fleetbridge.flows.gpsinsight_driveri.context import context_for
    from fleetbridge.flows.gpsinsight_driveri.reconcile import reconcile_drivers

    if not dry_run and not _enabled(connection):
        ActivityLog().record(
            connection,
            action="skipped",
            entity="reconciliation",
            source_event="reconcile",
            reason="driver_sync_off",
        )
        return Plan(dry_run=False)
    with context_for(connection) as ctx:
        return reconcile_drivers(ctx, dry_run=dry_run, source_event="reconcile")


FLOW = register(
    Flow(
        id=FLOW_ID,
        title="GPS Insight portal drivers → Netradyne Driveri (Driver Sync)",
        vendors=("gpsinsight", "driveri"),
        optional_credential_fields=(PUSH_SECRET,),  # the push key; login or app token: the client
        settings_model=GpsInsightDriveriSettings,
        handle_message=handle_message,
        receive_webhook=receive_webhook,
        reconcile=reconcile,
        # the last retry failed (issue 12 item 5): the admins are told once per dead letter
        on_dead_letter=dead_letter_notice(entity="driver sync"),
        webhook_vendors=("gpsinsight",),
        protected_settings=("driver_sync_enabled", "master_user"),
    )
)
