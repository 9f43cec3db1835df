"""What carrying out Driver Sync needs for one connection (injectable in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fleetbridge.core.flow_context import FlowContext as BaseContext
from fleetbridge.flows.gpsinsight_driveri import STATE, STATE_ID
from fleetbridge.flows.gpsinsight_driveri.settings import GpsInsightDriveriSettings
from fleetbridge.vendors.driveri import DriveriClient
from fleetbridge.vendors.gpsinsight import GpsInsightClient


@dataclass(kw_only=True)
class FlowContext(BaseContext[GpsInsightDriveriSettings], state=(STATE, STATE_ID)):
    """The connection, its settings, both vendor clients and our repositories."""

    portal: GpsInsightClient
    driveri: DriveriClient

    @classmethod
    def client_options(cls, settings: GpsInsightDriveriSettings) -> dict[str, dict[str, Any]]:
        """The portal's DriverID field is the connection's setting."""
        return {"portal": {"driver_id_field": settings.driver_id_field}}


#: Clients and repositories for one connection (credentials from Secrets Manager).
context_for = FlowContext.for_connection
