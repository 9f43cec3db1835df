"""What carrying out the Striven → Onfleet flow needs for one connection (injectable in tests)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleetbridge.core.aws import clears_with_clients
from fleetbridge.core.config import get_settings
from fleetbridge.core.flow_context import FlowContext as BaseContext
from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Connection, fingerprint, utcnow
from fleetbridge.core.ratelimit import RateLimit
from fleetbridge.core.secrets import load_credentials
from fleetbridge.flows.striven_onfleet import POLL_CURSOR, STATE_ID
from fleetbridge.flows.striven_onfleet.settings import StrivenOnfleetSettings
from fleetbridge.flows.striven_onfleet.team_source import TeamSource, team_source
from fleetbridge.vendors.onfleet import OnfleetClient
from fleetbridge.vendors.striven import StrivenClient


def now() -> datetime:
    """The flow's clock: `utcnow`, looked up at each call so tests can move time forward."""
    return utcnow()


@dataclass(kw_only=True)
class FlowContext(BaseContext[StrivenOnfleetSettings], state=(POLL_CURSOR, STATE_ID)):
    """The connection, its settings, both vendor clients, the team adapter and our stores."""

    striven: StrivenClient
    onfleet: OnfleetClient
    teams: TeamSource
    clock: Callable[[], datetime] = now


#: Vendor clients kept between messages of a warm process (a worker handles thousands of task
#: messages): their open connections, the Striven token and the rate limiter's place survive.
_CLIENTS: OrderedDict[str, tuple[StrivenClient, OnfleetClient]] = OrderedDict()
MAX_CACHED = 16


def _clients(
    connection: Connection, credentials: dict[str, Any]
) -> tuple[StrivenClient, OnfleetClient]:
    key = fingerprint(
        {
            "id": connection.id,
            "settings": connection.settings,
            "credentials": credentials,
            "urls": get_settings().vendor_urls,
        }
    )
    if key in _CLIENTS:
        _CLIENTS.move_to_end(key)
        return _CLIENTS[key]
    pair = (
        striven_client(connection, credentials),
        OnfleetClient.for_connection(connection, credentials),
    )
    _CLIENTS[key] = pair
    while len(_CLIENTS) > MAX_CACHED:
        _, (striven, onfleet) = _CLIENTS.popitem(last=False)
        striven.close()
        onfleet.close()
    return pair


def _close_cached() -> None:
    """Close every cached client (the process cache is forgotten with the AWS clients)."""
    while _CLIENTS:
        _, (striven, onfleet) = _CLIENTS.popitem()
        striven.close()
        onfleet.close()


clears_with_clients(_close_cached)


def striven_client(connection: Connection, credentials: dict[str, Any]) -> StrivenClient:
    """A Striven client with the connection's zone, page size and plan's minute limit."""
    settings = StrivenOnfleetSettings.model_validate(connection.settings)
    return StrivenClient.for_connection(
        connection,
        credentials,
        time_zone=settings.time_zone,
        page_size=settings.page_size,
        rate_limit=RateLimit(settings.striven_requests_per_minute, per_seconds=60),
    )


def teams_for(settings: StrivenOnfleetSettings, striven: StrivenClient) -> TeamSource:
    """The team adapter the settings choose: the API endpoint or the settings' own list."""
    if settings.team_source == "settings":
        return team_source(striven, [t.model_dump(by_alias=True) for t in settings.teams])
    return team_source(striven)


def context_for(connection: Connection, credentials: dict[str, Any] | None = None) -> FlowContext:
    """Clients and repositories for one connection (credentials from Secrets Manager)."""
    credentials = credentials or load_credentials(connection.secret_arn)
    settings = StrivenOnfleetSettings.model_validate(connection.settings)
    striven, onfleet = _clients(connection, credentials)
    return FlowContext(
        connection=connection,
        settings=settings,
        striven=striven,
        onfleet=onfleet,
        teams=teams_for(settings, striven),
        mappings=MappingRepository(connection.id),
        owned=False,
    )
