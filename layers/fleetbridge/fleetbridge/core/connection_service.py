"""Use cases behind the management API: configure, test, enable, sync and inspect connections.

Each function takes a tenant id and plain inputs and returns stored models; the API routes only
translate HTTP to these calls.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from fleetbridge.core import health, mass_removal
from fleetbridge.core.activity import ActivityLog
from fleetbridge.core.config import get_settings
from fleetbridge.core.connections import ConnectionRepository
from fleetbridge.core.errors import (
    ConflictError,
    InvalidInputError,
    MalformedInputError,
    VendorError,
    first_invalid_field,
)
from fleetbridge.core.flow_settings import RECIPIENTS, recipients
from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import ActivityRecord, Connection, iso, new_id, utcnow
from fleetbridge.core.queue import (
    DeadLetter,
    WorkMessage,
    list_dead_letters,
    publish,
    replay_dead_letters,
)
from fleetbridge.core.registry import Flow, Plan, VendorCheck, get_flow
from fleetbridge.core.secrets import (
    delete_credentials,
    load_credentials,
    mask_all,
    secret_name,
    settle_credentials,
    stage_credentials,
    store_credentials,
)


def _validate_credentials(flow: Flow, credentials: dict[str, Any], *, partial: bool) -> None:
    required, optional = flow.credentials()
    allowed = set(required) | set(optional)
    for key, value in credentials.items():
        if key not in allowed:
            raise InvalidInputError(
                f"unknown credential {key!r} for flow {flow.id} (expected: "
                f"{', '.join(sorted(allowed))})",
                field=f"credentials.{key}",
            )
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(
                f"credential {key!r} must be a non-empty string", field=f"credentials.{key}"
            )
    if not partial:
        for key in required:
            if key not in credentials:
                raise InvalidInputError(
                    f"credential {key!r} is required", field=f"credentials.{key}"
                )


def validate_settings(flow: Flow, settings: dict[str, Any]) -> dict[str, Any]:
    """The flow's settings model applied to `settings` (defaults filled in)."""
    try:
        model: BaseModel = flow.settings_model.model_validate(settings)
    except ValidationError as exc:
        field, message = first_invalid_field(exc, "settings")
        raise InvalidInputError(f"{field}: {message}", field=field) from exc
    clean = model.model_dump(mode="json")
    _check_base_urls(clean.get("base_urls") or {})
    return clean


def _check_base_urls(base_urls: dict[str, Any]) -> None:
    """Vendor URLs are deployment configuration: a connection may only pick an allowed host."""
    config = get_settings()
    for vendor, url in base_urls.items():
        if not config.url_allowed(vendor, url):
            hosts = ", ".join(config.allowed_hosts(vendor)) or "none"
            raise InvalidInputError(
                f"settings.base_urls.{vendor}: only https URLs on the vendor's hosts are "
                f"allowed ({hosts})",
                field=f"settings.base_urls.{vendor}",
            )


def _refuse_protected(flow: Flow, requested: dict[str, Any], current: dict[str, Any]) -> None:
    """Settings a flow changes only through its own endpoint (e.g. an opt-in with a check)."""
    if not flow.protected_settings:
        return  # nothing to guard (and `{}` may not validate: a flow may require settings)
    defaults = validate_settings(flow, {})
    for key in flow.protected_settings:
        if key in requested and requested[key] != current.get(key, defaults.get(key)):
            raise InvalidInputError(
                f"settings.{key} cannot be set here: use the flow's own endpoint",
                field=f"settings.{key}",
            )


def create_connection(
    tenant_id: str,
    *,
    flow_id: str,
    name: str,
    credentials: dict[str, Any],
    settings: dict[str, Any],
) -> Connection:
    """Validate, store credentials in Secrets Manager, then store the connection."""
    flow = get_flow(flow_id)
    _validate_credentials(flow, credentials, partial=False)
    _refuse_protected(flow, settings, {})
    clean_settings = validate_settings(flow, settings)
    connection_id = new_id("con")
    now = iso(utcnow())
    draft = Connection(
        id=connection_id,
        tenant_id=tenant_id,
        flow=flow.id,
        name=name,
        settings=clean_settings,
        secret_arn="pending",
        created_at=now,
        updated_at=now,
    )
    if flow.validate_on_save:
        _require_working_credentials(flow, draft, credentials)
    arn = store_credentials(secret_name(tenant_id, connection_id), credentials)
    return ConnectionRepository().create(draft.model_copy(update={"secret_arn": arn}))


def _require_working_credentials(
    flow: Flow, connection: Connection, credentials: dict[str, Any]
) -> None:
    for check in flow.test(connection, credentials):
        if not check.ok:
            raise InvalidInputError(
                f"{check.vendor} rejected the credentials: {check.error}",
                field=f"credentials.{check.vendor}",
            )


def get_connection(tenant_id: str, connection_id: str) -> Connection:
    """The tenant's connection (404 for anyone else's)."""
    return ConnectionRepository().get_for_tenant(tenant_id, connection_id)


def get_flow_connection(tenant_id: str, connection_id: str, flow_id: str) -> Connection:
    """The tenant's connection of `flow_id`, for a flow's own routes (404 for anyone else's;
    422 when it is another flow's)."""
    connection = get_connection(tenant_id, connection_id)
    if connection.flow != flow_id:
        raise InvalidInputError(f"connection {connection_id} is not a {flow_id} connection")
    return connection


def list_connections(tenant_id: str) -> list[Connection]:
    """All of the tenant's connections."""
    return ConnectionRepository().list_for_tenant(tenant_id)


def masked_credentials(connection: Connection) -> dict[str, str]:
    """The stored credentials, masked (first 2 and last 3 characters)."""
    return mask_all(load_credentials(connection.secret_arn))


def update_connection(
    tenant_id: str,
    connection_id: str,
    *,
    name: str | None = None,
    credentials: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    expected_version: int | None = None,
    allow_protected: bool = False,
) -> Connection:
    """Change name, settings (merged over the current ones) and/or credentials (merged).

    A flow's `protected_settings` change only with `allow_protected` (its own endpoint).
    """
    repository = ConnectionRepository()
    connection = repository.get_for_tenant(tenant_id, connection_id)
    if expected_version is not None and expected_version != connection.version:
        raise ConflictError(
            f"connection is at version {connection.version}, not {expected_version}",
            field="version",
        )
    flow = get_flow(connection.flow)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if settings is not None:
        if not allow_protected:
            _refuse_protected(flow, settings, connection.settings)
        changes["settings"] = validate_settings(flow, {**connection.settings, **settings})
    if credentials:
        _validate_credentials(flow, credentials, partial=True)
        merged = {**load_credentials(connection.secret_arn), **credentials}
        if flow.validate_on_save:
            _require_working_credentials(flow, connection, merged)
        # Staged, not current: only if this update wins the conditional save below does its
        # version become the one in use (a 409 leaves the credentials as they were).
        changes["secret_version"] = stage_credentials(connection.secret_arn, merged)
    saved = repository.save(connection.model_copy(update=changes))
    if credentials:
        settle_credentials(
            saved.secret_arn,
            lambda: repository.get(connection_id, consistent=True).secret_version,
        )
        health.resume(saved)  # new credentials: what waited for them is queued again
    return saved


def set_enabled(tenant_id: str, connection_id: str, enabled: bool) -> Connection:
    """Enable or disable every part of the connection at once."""
    repository = ConnectionRepository()
    connection = repository.get_for_tenant(tenant_id, connection_id)
    if connection.enabled == enabled:
        return connection
    return repository.save(connection.model_copy(update={"enabled": enabled}))


def delete_connection(tenant_id: str, connection_id: str) -> None:
    """Remove the connection, its mappings and its secret (activity expires by itself)."""
    repository = ConnectionRepository()
    connection = repository.get_for_tenant(tenant_id, connection_id)
    MappingRepository(connection.id).delete_all()
    repository.delete(connection)
    delete_credentials(connection.secret_arn)


def test_connection(tenant_id: str, connection_id: str) -> list[VendorCheck]:
    """Call each vendor with the stored credentials; one check per vendor."""
    connection = get_connection(tenant_id, connection_id)
    flow = get_flow(connection.flow)
    credentials = load_credentials(connection.secret_arn)
    try:
        checks = flow.test(connection, credentials)
    except VendorError as exc:
        return [VendorCheck(vendor=exc.vendor, ok=False, error=str(exc))]
    if checks and all(check.ok for check in checks):
        health.resume(connection)  # fixed at the vendor: what waited is queued again
    return checks


def connection_health(connection: Connection) -> dict[str, Any]:
    """The connection's `status` (ok / credentials_invalid, see core.health) and `warnings`."""
    return {
        **health.connection_status(connection),
        "warnings": health.warnings_for({RECIPIENTS: recipients(connection.settings)}, RECIPIENTS),
    }


def list_activity(
    tenant_id: str, connection_id: str, **filters: Any
) -> tuple[list[ActivityRecord], str | None]:
    """The connection's activity, newest first, with a cursor for the next page.

    `since` must be an ISO 8601 timestamp (422 naming `since`); a cursor we did not issue is 400.
    """
    connection = get_connection(tenant_id, connection_id)
    if filters.get("since"):
        filters["since"] = _timestamp(filters["since"], "since")
    try:
        return ActivityLog().list(connection.id, **filters)
    except ValueError as exc:
        raise MalformedInputError(str(exc), field="cursor") from exc


def _timestamp(value: str, field: str) -> str:
    """An ISO 8601 timestamp (a zone-less one is UTC) in the stored form, sortable as text."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError(
            f"{field}: not an ISO 8601 timestamp (e.g. 2026-01-31T08:00:00Z)", field=field
        ) from exc
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def dead_letters(tenant_id: str, connection_id: str) -> list[DeadLetter]:
    """Messages of this connection that failed past their retries."""
    connection = get_connection(tenant_id, connection_id)
    return list_dead_letters(connection.flow, connection.id)


def replay(tenant_id: str, connection_id: str, message_ids: list[str] | None) -> list[str]:
    """Send the connection's dead letters (all, or the given ids) back to the work queue."""
    connection = get_connection(tenant_id, connection_id)
    return replay_dead_letters(
        connection.flow, connection.id, set(message_ids) if message_ids else None
    )


def sync(
    tenant_id: str, connection_id: str, *, dry_run: bool, confirm_mass_removal: bool = False
) -> Plan | str:
    """Dry run: the reconciliation plan, computed now, nothing written.

    Otherwise the reconciliation is queued for the worker (it may take longer than an API call
    may) and the message id is returned. `confirm_mass_removal`: the admins mean the removals
    the threshold held (core.mass_removal); the queued reconciliation applies them.
    """
    connection = get_connection(tenant_id, connection_id)
    flow = get_flow(connection.flow)
    if flow.reconcile is None:
        raise InvalidInputError(f"flow {flow.id} has no reconciliation", field="flow")
    if dry_run:
        return flow.reconcile(connection, True)
    if not connection.enabled:
        raise ConflictError("connection is disabled: enable it before syncing", field="enabled")
    if confirm_mass_removal:
        mass_removal.confirm(connection.id)
    return publish(
        WorkMessage(
            flow=connection.flow,
            connection_id=connection.id,
            kind="reconcile",
            event_id=new_id("sync"),
            event="manual_sync",
        )
    )
