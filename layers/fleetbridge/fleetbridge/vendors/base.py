"""What every vendor client needs from a connection: base URL and shared rate limiters, the
account's and its endpoints' (`connected` builds a client with them), and the credentials it declares (`ConnectedClient`:
one `for_connection` for every vendor)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from fleetbridge.core.config import get_settings
from fleetbridge.core.errors import InvalidInputError
from fleetbridge.core.http import VendorClient
from fleetbridge.core.models import Connection
from fleetbridge.core.ratelimit import RateLimit, RateLimiter, limiter_for


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


def endpoint_limiters(
    vendor: str, account: str, limits: Mapping[str, RateLimit]
) -> dict[str, RateLimiter]:
    """One shared limiter per limited endpoint of the account (`VendorClient.endpoint_limits`),
    keyed by vendor, hashed account and endpoint."""
    digest = hashlib.sha256(account.encode()).hexdigest()[:16]
    return {key: limiter_for(f"{vendor}:{digest}:{key}", limit) for key, limit in limits.items()}


def connected[ClientT: VendorClient](
    cls: type[ClientT],
    connection: Connection,
    account: str,
    limit: RateLimit | None,
    **options: Any,
) -> ClientT:
    """A `cls` client at the connection's URL (`base_url`), sharing `account`'s rate limit
    (`account_limiter`; None: the vendor limits endpoints only) and its endpoints' limits
    (`endpoint_limiters`) with every process; `options` are the client's own (credentials...)."""
    url = base_url(cls.vendor, connection)  # refused before a limiter is made
    limiter = account_limiter(cls.vendor, account, limit) if limit is not None else None
    endpoints = endpoint_limiters(cls.vendor, account, cls.endpoint_limits)
    return cls(url, rate_limiter=limiter, endpoint_limiters=endpoints, **options)


class ConnectedClient(VendorClient):
    """A vendor client built from a connection by the credentials it declares.

    - `credential_args`: constructor argument → credential key (`<vendor>_<name>`); a key
      missing from the credentials raises KeyError (`/test`: "not configured"), unless the
      argument is in `optional_args` (then None, and the constructor says what it needs);
    - `account_args`: the arguments naming the vendor account (the first one given), whose
      rate limit (`rate_limit`; None when the vendor limits single endpoints only,
      `endpoint_limits`) every process calling for it shares.
    """

    credential_args: ClassVar[Mapping[str, str]] = {}
    optional_args: ClassVar[frozenset[str]] = frozenset()
    account_args: ClassVar[tuple[str, ...]] = ()
    rate_limit: ClassVar[RateLimit | None]

    @classmethod
    def for_connection(
        cls,
        connection: Connection,
        credentials: Mapping[str, Any],
        *,
        rate_limit: RateLimit | None = None,
        **options: Any,
    ) -> Self:
        """A client with the connection's credentials and URL, sharing its account's limit
        (`rate_limit` replaces the vendor's default, e.g. a plan's own); `options` are the
        client's own settings."""
        values = {
            arg: credentials.get(key) if arg in cls.optional_args else credentials[key]
            for arg, key in cls.credential_args.items()
        }
        account = next((str(values[arg]) for arg in cls.account_args if values.get(arg)), "")
        limit = rate_limit or cls.rate_limit
        return connected(cls, connection, account, limit, **values, **options)
