"""Fleetio → Keycafe resources under `/connections/{id}/…`: vehicles, keys and key links."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from fleetbridge.core.connection_service import get_flow_connection
from fleetbridge.core.errors import MalformedInputError, VendorValidationError
from fleetbridge.core.models import Connection, Tenant
from fleetbridge.flows.fleetio_keycafe import FLOW_ID, links
from fleetbridge.flows.fleetio_keycafe.links import LinkOut, VehicleOut
from fleetbridge.flows.fleetio_keycafe.settings import Notification

router = APIGatewayHttpRouter()
TAG = ["fleetio-keycafe"]


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_id: int = Field(ge=1, le=2**53)
    notification: Notification = "automatic"


class NotificationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notification: Notification


class VehiclePage(BaseModel):
    items: list[VehicleOut]
    next_cursor: str | None = None


class KeyPage(BaseModel):
    items: list[dict[str, Any]]
    next_page: int | None = None


def context_for(connection: Connection) -> Any:
    """The flow's clients, imported on first use (keeps httpx out of the API's cold start)."""
    from fleetbridge.flows.fleetio_keycafe.flow import context_for as build

    return build(connection)


def _connection(connection_id: str) -> Connection:
    tenant: Tenant = router.context["tenant"]
    return get_flow_connection(tenant.id, connection_id, FLOW_ID)


@router.get(
    "/connections/<connection_id>/vehicles", summary="Fleetio vehicles and their keys", tags=TAG
)
def vehicles(
    connection_id: str,
    query: Annotated[str | None, Query(max_length=200, description="name contains")] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    per_page: Annotated[int, Query(ge=2, le=100)] = 50,
) -> VehiclePage:
    connection = _connection(connection_id)
    try:
        with context_for(connection) as ctx:
            items, next_cursor = links.list_vehicles(
                connection, ctx.fleetio, query=query, cursor=cursor, per_page=per_page
            )
    except VendorValidationError as exc:
        if cursor is None:
            raise
        # Fleetio refuses a cursor it did not issue: the client's mistake, not a gateway error.
        raise MalformedInputError(
            "cursor: not a cursor from a previous page", field="cursor"
        ) from exc
    return VehiclePage(items=items, next_cursor=next_cursor)


@router.get("/connections/<connection_id>/keys", summary="Search Keycafe keys by name", tags=TAG)
def keys(
    connection_id: str,
    query: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> KeyPage:
    with context_for(_connection(connection_id)) as ctx:
        items, next_page = links.search_keys(ctx.keycafe, query, page)
    return KeyPage(items=items, next_page=next_page)


@router.put(
    "/connections/<connection_id>/vehicles/<vehicle_id>/link", summary="Link a key", tags=TAG
)
def put_link(connection_id: str, vehicle_id: int, body: Annotated[LinkRequest, Body()]) -> LinkOut:
    connection = _connection(connection_id)
    with context_for(connection) as ctx:
        return links.link_key(
            connection,
            ctx.fleetio,
            ctx.keycafe,
            vehicle_id=vehicle_id,
            key_id=body.key_id,
            notification=body.notification,
        )


@router.patch(
    "/connections/<connection_id>/vehicles/<vehicle_id>/link",
    summary="Automatic or prompt",
    tags=TAG,
)
def patch_link(
    connection_id: str, vehicle_id: int, body: Annotated[NotificationRequest, Body()]
) -> LinkOut:
    return links.set_notification(_connection(connection_id), vehicle_id, body.notification)


@router.delete(
    "/connections/<connection_id>/vehicles/<vehicle_id>/link", summary="Unlink", tags=TAG
)
def delete_link(connection_id: str, vehicle_id: int) -> Response[None]:
    links.unlink(_connection(connection_id), vehicle_id)
    return Response(status_code=204, body=None)
