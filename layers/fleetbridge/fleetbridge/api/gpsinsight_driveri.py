"""GPS Insight → Driveri resources under `/connections/{id}/…`: the opt-in, the drift report and
one driver's link."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from fleetbridge.core.connection_service import get_flow_connection
from fleetbridge.core.errors import NotFoundError
from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Connection, Tenant
from fleetbridge.flows.gpsinsight_driveri import DRIVER, FLOW_ID

router = APIGatewayHttpRouter()
TAG = ["gpsinsight-driveri"]


class DriverSyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool
    portal_user: str | None = Field(
        default=None,
        max_length=200,
        description="the portal username turning it on (must be the Master User)",
    )
    portal_password: SecretStr | None = Field(
        default=None,
        description="that user's own portal password: checked against GPS Insight at once, "
        "never stored or logged",
    )


class DriverSyncOut(BaseModel):
    connection_id: str
    driver_sync_enabled: bool
    master_user: str | None = None
    initial_sync_message_id: str | None = None


class DriverLinkOut(BaseModel):
    portal_driver_id: str
    driveri_driver_id: str | None
    status: str
    ref_id: str | None = None
    last_error: str | None = None
    portal_updated_at: str | None = None
    synced_at: str | None = None


def _connection(connection_id: str) -> Connection:
    tenant: Tenant = router.context["tenant"]
    return get_flow_connection(tenant.id, connection_id, FLOW_ID)


@router.post(
    "/connections/<connection_id>/driver-sync",
    summary="Turn Driver Sync on (Master User only) or off",
    tags=TAG,
)
def driver_sync(connection_id: str, body: Annotated[DriverSyncRequest, Body()]) -> DriverSyncOut:
    from fleetbridge.flows.gpsinsight_driveri.optin import set_driver_sync
    from fleetbridge.vendors import catalogue  # noqa: F401  (the base_urls check knows every host)

    _connection(connection_id)
    tenant: Tenant = router.context["tenant"]
    connection, message_id = set_driver_sync(
        tenant.id,
        connection_id,
        enabled=body.enabled,
        portal_user=body.portal_user,
        portal_password=body.portal_password.get_secret_value() if body.portal_password else None,
    )
    return DriverSyncOut(
        connection_id=connection.id,
        driver_sync_enabled=bool(connection.settings.get("driver_sync_enabled")),
        master_user=connection.settings.get("master_user"),
        initial_sync_message_id=message_id,
    )


@router.get(
    "/connections/<connection_id>/reports/drift/latest",
    summary="The latest reconciliation's drift report (JSON or CSV)",
    tags=TAG,
)
def latest_drift_report(
    connection_id: str,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response[Any]:
    from fleetbridge.flows.gpsinsight_driveri.report import latest_report

    _connection(connection_id)
    body = latest_report(connection_id, format)
    if body is None:
        raise NotFoundError("no drift report yet: the first reconciliation has not run")
    if format == "csv":
        return Response(
            status_code=200,
            content_type="text/csv",
            body=body.decode(),
            headers={"Content-Disposition": f'attachment; filename="drift-{connection_id}.csv"'},
        )
    return Response(status_code=200, content_type="application/json", body=json.loads(body))


@router.get(
    "/connections/<connection_id>/drivers/<portal_driver_id>",
    summary="One portal driver's link to Driveri and its sync state",
    tags=TAG,
)
def driver_link(connection_id: str, portal_driver_id: str) -> DriverLinkOut:
    _connection(connection_id)
    mapping = MappingRepository(connection_id).get(DRIVER, portal_driver_id)
    if mapping is None:
        raise NotFoundError(f"portal driver {portal_driver_id} has not been synced")
    return DriverLinkOut(
        portal_driver_id=mapping.external_id,
        driveri_driver_id=mapping.other_id,
        status=str(mapping.data.get("status", "")),
        ref_id=mapping.data.get("ref_id"),
        last_error=mapping.data.get("last_error"),
        portal_updated_at=mapping.data.get("updated_at"),
        synced_at=mapping.updated_at,
    )
