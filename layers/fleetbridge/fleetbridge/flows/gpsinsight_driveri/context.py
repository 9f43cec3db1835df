"""What carrying out Driver Sync needs for one connection (injectable in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fleetbridge.core.flow_context import FlowContext as BaseContext
from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Connection
from fleetbridge.core.secrets import load_credentials
from fleetbridge.flows.gpsinsight_driveri import STATE, STATE_ID
from fleetbridge.flows.gpsinsight_driveri.settings import GpsInsightDriveriSettings
from fleetbridge.vendors.driveri import DriveriClient
from fleetbridge.vendors.gpsinsight import GpsInsightClient


@dataclass(kw_only=True)
class FlowContext(BaseContext[GpsInsightDriveriSettings], state=(STATE, STATE_ID)):
    """The connection, its settings, both vendor clients and our repositories."""

    portal: GpsInsightClient
    driveri: DriveriClient


def context_for(connection: Connection, credentials: dict[str, Any] | None = None) -> FlowContext:
    """Clients and repositories for one connection (credentials from Secrets Manager)."""
    credentials = credentials or load_credentials(connection.secret_arn)
    settings = GpsInsightDriveriSettings.model_validate(connection.settings)
    return FlowContext(
        connection=connection,
        settings=settings,
        portal=GpsInsightClient.for_connection(
            connection, credentials, driver_id_field=settings.driver_id_field
        ),
        driveri=DriveriClient.for_connection(connection, credentials),
        mappings=MappingRepository(connection.id),
    )
