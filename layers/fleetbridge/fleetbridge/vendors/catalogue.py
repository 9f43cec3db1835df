"""Every vendor client: importing this module makes each client's `default_url` known to core
(`VendorClient.__init_subclass__` registers it), so checks that run before any client is built
(a connection's `settings.base_urls` when it is saved) see every vendor. Adding a vendor = its
module + one line here."""

from __future__ import annotations

from fleetbridge.core.http import VendorClient
from fleetbridge.vendors.azuga import AzugaClient
from fleetbridge.vendors.driveri import DriveriClient
from fleetbridge.vendors.fleetio import FleetioClient
from fleetbridge.vendors.gpsinsight import GpsInsightClient
from fleetbridge.vendors.keycafe import KeycafeClient
from fleetbridge.vendors.onfleet import OnfleetClient
from fleetbridge.vendors.servicetrade import ServiceTradeClient
from fleetbridge.vendors.striven import StrivenClient

CLIENTS: tuple[type[VendorClient], ...] = (
    AzugaClient,
    DriveriClient,
    FleetioClient,
    GpsInsightClient,
    KeycafeClient,
    OnfleetClient,
    ServiceTradeClient,
    StrivenClient,
)
