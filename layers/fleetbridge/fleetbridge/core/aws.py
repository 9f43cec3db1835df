"""boto3 clients, created once per process and pointed at moto when running locally.

Importing this module loads boto3 but not the settings (pydantic): the webhook and API functions
import it at init, since every request uses boto3, and the rest on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10
)
#: moto (the local stack) answers a large query in seconds, not milliseconds, on a busy laptop.
_LOCAL_CONFIG = _CONFIG.merge(Config(read_timeout=120))


def _where() -> dict[str, Any]:
    """Region, endpoint (moto locally) and botocore config of every client and resource."""
    from fleetbridge.core.config import get_settings

    settings = get_settings()
    return {
        "region_name": settings.region,
        "endpoint_url": settings.aws_endpoint_url,
        "config": _LOCAL_CONFIG if settings.local else _CONFIG,
    }


@cache
def client(service: str) -> Any:
    """A cached boto3 client for `service` (endpoint from settings, region from the runtime)."""
    return boto3.session.Session().client(service, **_where())  # type: ignore[call-overload]


#: Caches built on a client (idempotency store, worker wrappers): cleared with the clients.
_DEPENDENT_CACHES: list[Callable[[], None]] = []


def clears_with_clients(cache_clear: Callable[[], None]) -> None:
    """Register a cache holding clients, so `reset_clients` forgets it too."""
    _DEPENDENT_CACHES.append(cache_clear)


def reset_clients() -> None:
    """Forget cached clients and settings (tests that change the environment call this)."""
    from fleetbridge.core.config import get_settings

    client.cache_clear()
    resource.cache_clear()
    get_settings.cache_clear()
    for cache_clear in _DEPENDENT_CACHES:
        cache_clear()


@cache
def resource(service: str) -> Any:
    """A cached boto3 resource (DynamoDB tables) with the same endpoint rules as `client`."""
    return boto3.session.Session().resource(service, **_where())  # type: ignore[call-overload]
