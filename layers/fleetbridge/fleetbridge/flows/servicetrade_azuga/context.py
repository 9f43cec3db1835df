"""What carrying out ServiceTrade ↔ Azuga needs for one connection (injectable in tests)."""

from __future__ import annotations

from dataclasses import dataclass

from fleetbridge.core.flow_context import FlowContext as BaseContext
from fleetbridge.flows.servicetrade_azuga import STATE, STATE_ID
from fleetbridge.flows.servicetrade_azuga.settings import ServiceTradeAzugaSettings
from fleetbridge.vendors.azuga import AzugaClient
from fleetbridge.vendors.servicetrade import ServiceTradeClient


@dataclass(kw_only=True)
class FlowContext(BaseContext[ServiceTradeAzugaSettings], state=(STATE, STATE_ID)):
    """The connection, its settings, both vendor clients and our repositories."""

    servicetrade: ServiceTradeClient
    azuga: AzugaClient


#: Clients and repositories for one connection (credentials from Secrets Manager).
context_for = FlowContext.for_connection
