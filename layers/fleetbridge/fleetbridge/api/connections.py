"""`/connections` routes: configure, test, enable/disable, sync, activity and dead letters."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from fleetbridge.api.models import (
    ActivityPage,
    ConnectionCreate,
    ConnectionList,
    ConnectionOut,
    ConnectionPatch,
    DeadLetterList,
    ReplayRequest,
    ReplayResult,
    SyncPlan,
    SyncQueued,
    TestResult,
)
from fleetbridge.core import connection_service as service
from fleetbridge.core.models import Action, Connection, Tenant
from fleetbridge.core.registry import Plan, get_flow

router = APIGatewayHttpRouter()


def _tenant_id() -> str:
    tenant: Tenant = router.context["tenant"]
    return tenant.id


def _out(connection: Connection) -> ConnectionOut:
    return ConnectionOut.build(
        connection,
        service.masked_credentials(connection),
        get_flow(connection.flow).webhook_vendors,
        router.context.get("base_url", ""),
        service.connection_health(connection),
    )


def _known_vendor_urls() -> None:
    """Every client's default URL registered before `settings.base_urls` is checked."""
    import fleetbridge.vendors.catalogue  # noqa: F401


@router.post("/connections", summary="Create a connection", tags=["connections"])
def create_connection(body: Annotated[ConnectionCreate, Body()]) -> tuple[ConnectionOut, int]:
    _known_vendor_urls()
    connection = service.create_connection(
        _tenant_id(),
        flow_id=body.flow,
        name=body.name,
        credentials=body.credentials,
        settings=body.settings,
    )
    return _out(connection), 201


@router.get("/connections", summary="List connections", tags=["connections"])
def list_connections() -> ConnectionList:
    return ConnectionList(items=[_out(c) for c in service.list_connections(_tenant_id())])


@router.get("/connections/<connection_id>", summary="Get a connection", tags=["connections"])
def get_connection(connection_id: str) -> ConnectionOut:
    return _out(service.get_connection(_tenant_id(), connection_id))


@router.patch("/connections/<connection_id>", summary="Change a connection", tags=["connections"])
def patch_connection(connection_id: str, body: Annotated[ConnectionPatch, Body()]) -> ConnectionOut:
    _known_vendor_urls()
    connection = service.update_connection(
        _tenant_id(),
        connection_id,
        name=body.name,
        credentials=body.credentials,
        settings=body.settings,
        expected_version=body.version,
    )
    return _out(connection)


@router.delete("/connections/<connection_id>", summary="Delete a connection", tags=["connections"])
def delete_connection(connection_id: str) -> Response[None]:
    service.delete_connection(_tenant_id(), connection_id)
    return Response(status_code=204, body=None)


@router.post(
    "/connections/<connection_id>/test", summary="Test the credentials", tags=["connections"]
)
def test_connection(connection_id: str) -> TestResult:
    checks = service.test_connection(_tenant_id(), connection_id)
    health = service.connection_health(service.get_connection(_tenant_id(), connection_id))
    return TestResult(
        ok=all(check.ok for check in checks),
        vendors=checks,
        status=health["status"],
        warnings=health["warnings"],
    )


@router.post("/connections/<connection_id>/enable", summary="Enable", tags=["connections"])
def enable(connection_id: str) -> ConnectionOut:
    return _out(service.set_enabled(_tenant_id(), connection_id, True))


@router.post(
    "/connections/<connection_id>/disable", summary="Disable everything", tags=["connections"]
)
def disable(connection_id: str) -> ConnectionOut:
    return _out(service.set_enabled(_tenant_id(), connection_id, False))


@router.post("/connections/<connection_id>/sync", summary="Reconcile now", tags=["connections"])
def sync(
    connection_id: str,
    dry_run: Annotated[bool, Query()] = True,
    confirm_mass_removal: Annotated[
        bool,
        Query(description="apply removals held by the connection's mass_removal_threshold"),
    ] = False,
) -> Response[SyncPlan | SyncQueued]:
    """Dry run (default): 200 with the plan. Otherwise 202: the reconciliation is queued."""
    outcome = service.sync(
        _tenant_id(),
        connection_id,
        dry_run=dry_run and not confirm_mass_removal,
        confirm_mass_removal=confirm_mass_removal,
    )
    if isinstance(outcome, Plan):
        body: SyncPlan | SyncQueued = SyncPlan(plan=outcome, summary=outcome.summary())
        return Response(200, content_types.APPLICATION_JSON, body)
    return Response(202, content_types.APPLICATION_JSON, SyncQueued(message_id=outcome))


@router.get(
    "/connections/<connection_id>/activity", summary="What happened and why", tags=["activity"]
)
def activity(
    connection_id: str,
    since: Annotated[str | None, Query(max_length=64, description="ISO 8601 timestamp")] = None,
    entity: Annotated[str | None, Query(max_length=500)] = None,
    action: Annotated[Action | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> ActivityPage:
    items, next_cursor = service.list_activity(
        _tenant_id(),
        connection_id,
        since=since,
        entity=entity,
        action=action,
        limit=limit,
        cursor=cursor,
    )
    return ActivityPage(items=items, next_cursor=next_cursor)


@router.get(
    "/connections/<connection_id>/dead-letters", summary="Failed messages", tags=["activity"]
)
def dead_letters(connection_id: str) -> DeadLetterList:
    return DeadLetterList(items=service.dead_letters(_tenant_id(), connection_id))


@router.post(
    "/connections/<connection_id>/dead-letters/replay",
    summary="Replay failed messages",
    tags=["activity"],
)
def replay(
    connection_id: str, body: Annotated[ReplayRequest | None, Body()] = None
) -> ReplayResult:
    ids = body.message_ids if body else None
    return ReplayResult(replayed=service.replay(_tenant_id(), connection_id, ids))
