"""What carrying out Driver Sync needs for one connection (injectable in tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fleetbridge.core.activity import ActivityLog
from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Connection, utcnow
from fleetbridge.core.secrets import load_credentials
from fleetbridge.flows.gpsinsight_driveri.settings import GpsInsightDriveriSettings
from fleetbridge.vendors.driveri import DriveriClient
from fleetbridge.vendors.gpsinsight import GpsInsightClient


@dataclass
class FlowContext:
    """The connection, its settings, both vendor clients and our repositories."""

    connection: Connection
    settings: GpsInsightDriveriSettings
    portal: GpsInsightClient
    driveri: DriveriClient
    mappings: MappingRepository
    activity: ActivityLog = field(default_factory=ActivityLog)
    clock: Callable[[], datetime] = utcnow

    def close(self) -> None:
        """Release both HTTP clients."""
        self.portal.close()
        self.driveri.close()


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
