"""Driver Sync opt-in: only the portal account's Master User may turn it on, and must prove it.

Proof: the Master User's own portal username and password, checked against GPS Insight at that
moment (`GET /userauth/login` with them, then `user/list` in that session says `is_master`).
The password is used for that one login and dropped: never stored, logged or returned.
"""

from __future__ import annotations

from fleetbridge.core.activity import ActivityLog
from fleetbridge.core.connection_service import get_connection, update_connection
from fleetbridge.core.errors import ForbiddenError, InvalidInputError
from fleetbridge.core.models import Connection, new_id
from fleetbridge.core.queue import WorkMessage, publish
from fleetbridge.flows.gpsinsight_driveri import FLOW_ID


def set_driver_sync(
    tenant_id: str,
    connection_id: str,
    *,
    enabled: bool,
    portal_user: str | None,
    portal_password: str | None = None,
) -> tuple[Connection, str | None]:
    """Turn Driver Sync on (the Master User's own credentials checked by the portal) or off.

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
    if not portal_password:
        raise InvalidInputError(
            "portal_password (the Master User's own portal password) is required to turn "
            "Driver Sync on",
            field="portal_password",
        )
    if not _is_master_user(connection, portal_user.strip(), portal_password):
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


def _is_master_user(connection: Connection, username: str, password: str) -> bool:
    """Log in to the portal as `username` with `password` and ask, in that session, whether
    `username` is the Master User. A refused login is a 403 (never a 5xx, never the password)."""
    from fleetbridge.core.errors import AuthError
    from fleetbridge.vendors.base import account_limiter, base_url
    from fleetbridge.vendors.gpsinsight import RATE_LIMIT, GpsInsightClient

    client = GpsInsightClient(
        base_url("gpsinsight", connection),
        username=username,
        password=password,
        rate_limiter=account_limiter("gpsinsight", username, RATE_LIMIT),
    )
    try:
        return client.is_master_user(username)
    except AuthError as exc:
        raise ForbiddenError(
            f"GPS Insight did not accept the portal credentials of {username!r}: {exc.message}",
            field="portal_password",
        ) from None
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
