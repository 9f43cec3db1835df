"""What carrying out ServiceTrade ↔ Azuga needs for one connection (injectable in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fleetbridge.core.flow_context import FlowContext as BaseContext
from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Connection
from fleetbridge.core.secrets import load_credentials
from fleetbridge.flows.servicetrade_azuga import STATE, STATE_ID
from fleetbridge.flows.servicetrade_azuga.settings import ServiceTradeAzugaSettings
from fleetbridge.vendors.azuga import AzugaClient
from fleetbridge.vendors.servicetrade import ServiceTradeClient


@dataclass(kw_only=True)
class FlowContext(BaseContext[ServiceTradeAzugaSettings], state=(STATE, STATE_ID)):
    """The connection, its settings, both vendor clients and our repositories."""

    servicetrade: ServiceTradeClient
    azuga: AzugaClient


def context_for(connection: Connection, credentials: dict[str, Any] | None = None) -> FlowContext:
    """Clients and repositories for one connection (credentials from Secrets Manager)."""
    credentials = credentials or load_credentials(connection.secret_arn)
    return FlowContext(
        connection=connection,
        settings=ServiceTradeAzugaSettings.model_validate(connection.settings),
        servicetrade=ServiceTradeClient.for_connection(connection, credentials),
        azuga=AzugaClient.for_connection(connection, credentials),
        mappings=MappingRepository(connection.id),
    )
