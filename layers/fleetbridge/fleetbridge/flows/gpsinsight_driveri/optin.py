"""Driver Sync opt-in: only the portal account's Master User may turn it on."""

from __future__ import annotations

from fleetbridge.core.activity import ActivityLog
from fleetbridge.core.connection_service import get_connection, update_connection
from fleetbridge.core.errors import ForbiddenError, InvalidInputError
from fleetbridge.core.models import Connection, new_id
from fleetbridge.core.queue import WorkMessage, publish
from fleetbridge.core.secrets import load_credentials
from fleetbridge.flows.gpsinsight_driveri import FLOW_ID


def set_driver_sync(
    tenant_id: str, connection_id: str, *, enabled: bool, portal_user: str | None
) -> tuple[Connection, str | None]:
    """Turn Driver Sync on (Master User checked against the portal) or off.

    Turning it on queues a reconciliation (the initial sync, or the catch-up after a pause);
    returns the connection and that message id. Turning it off stops everything at once: the
    push, the poll and queued work all check the setting.
    """
    connection = get_connection(tenant_id, connection_id)
    if connection.flow != FLOW_ID:
        raise InvalidInputError(f"connection {connection_id} is not a {FLOW_ID} connection")
    if not enabled:
        updated = update_connection(
            tenant_id, connection_id, settings={"driver_sync_enabled": False}, allow_protected=True
        )
        _record(updated, "driver_sync_off", portal_user)
        return updated, None
    if not portal_user or not portal_user.strip():
        raise InvalidInputError(
            "portal_user is required to turn Driver Sync on", field="portal_user"
        )
    if not _is_master_user(connection, portal_user.strip()):
        raise ForbiddenError(
            f"portal user {portal_user.strip()!r} is not the GPS Insight account's Master User: "
            "only the Master User can turn on Driver Sync",
            field="portal_user",
        )
    updated = update_connection(
        tenant_id,
        connection_id,
        settings={"driver_sync_enabled": True, "master_user": portal_user.strip()},
        allow_protected=True,
    )
    _record(updated, "driver_sync_on", portal_user)
    message_id = publish(
        WorkMessage(
            flow=FLOW_ID,
            connection_id=connection_id,
            kind="reconcile",
            event_id=new_id("optin"),
            event="initial_sync",
        )
    )
    return updated, message_id


def _is_master_user(connection: Connection, username: str) -> bool:
    from fleetbridge.vendors.gpsinsight import GpsInsightClient

    client = GpsInsightClient.for_connection(connection, load_credentials(connection.secret_arn))
    try:
        return client.is_master_user(username)
    finally:
        client.close()


def _record(connection: Connection, reason: str, portal_user: str | None) -> None:
    ActivityLog().record(
        connection,
        action="updated",
        entity="driver sync",
        source_event="api",
        reason=reason,
        vendor_ids={"portal_user": portal_user} if portal_user else {},
    )
