"""What carrying out a decision needs for one connection (injectable in tests)."""

from __future__ import annotations

from dataclasses import dataclass

from fleetbridge.core.flow_context import FlowContext as BaseContext
from fleetbridge.flows.fleetio_keycafe.settings import FleetioKeycafeSettings
from fleetbridge.vendors.fleetio import FleetioClient
from fleetbridge.vendors.keycafe import KeycafeClient


@dataclass(kw_only=True)
class FlowContext(BaseContext[FleetioKeycafeSettings]):
    """What applying a decision needs, injectable for tests (`with` closes both clients)."""

    fleetio: FleetioClient
    keycafe: KeycafeClient
