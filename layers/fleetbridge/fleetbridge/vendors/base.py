"""What every vendor client needs from a connection: base URL and a shared rate limiter
(`connected` builds a client with both)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from fleetbridge.core.config import get_settings
from fleetbridge.core.errors import InvalidInputError
from fleetbridge.core.models import Connection
from fleetbridge.core.ratelimit import RateLimit, RateLimiter, limiter_for

if TYPE_CHECKING:
    from fleetbridge.core.http import VendorClient


def base_url(vendor: str, connection: Connection | None) -> str:
    """The connection's allowed `settings.base_urls[vendor]`, else the deployment's URL
    (FLEETBRIDGE_VENDOR_URLS, else the client's `default_url`).

    Checked again here (not only when saved): a stored URL the deployment no longer allows is
    refused rather than sent credentials.
    """
    overrides = (connection.settings.get("base_urls") if connection else None) or {}
    try:
        return get_settings().vendor_url(vendor, overrides)
    except ValueError as exc:
        raise InvalidInputError(str(exc), field=f"settings.base_urls.{vendor}") from exc


def account_limiter(vendor: str, account: str, limit: RateLimit) -> RateLimiter:
    """The rate limiter shared by every process calling `vendor` for this account.

    The account identity is hashed: limiter keys end up in DynamoDB and must not hold secrets.
    """
    digest = hashlib.sha256(account.encode()).hexdigest()[:16]
    return limiter_for(f"{vendor}:{digest}", limit)


def connected[ClientT: "VendorClient"](
    cls: type[ClientT], connection: Connection, account: str, limit: RateLimit, **options: Any
) -> ClientT:
    """A `cls` client at the connection's URL (`base_url`), sharing `account`'s rate limit
    (`account_limiter`) with every process; `options` are the client's own (credentials...)."""
    url = base_url(cls.vendor, connection)  # refused before a limiter is made
    return cls(url, rate_limiter=account_limiter(cls.vendor, account, limit), **options)
