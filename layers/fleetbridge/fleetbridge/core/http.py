"""The one HTTP client base every vendor client builds on (DESIGN.md §5).

It owns transport concerns only: a short explicit timeout, retries with jittered exponential
backoff on 408/429/5xx/timeouts (honouring Retry-After), the per-connection rate limiter, error
mapping to typed exceptions and page iteration. Vendor clients state paths and models.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any, Self, TypeVar

import certifi
import httpx
from pydantic import BaseModel

from fleetbridge.core.config import get_settings
from fleetbridge.core.errors import (
    AuthError,
    RateLimited,
    VendorConflict,
    VendorError,
    VendorNotFound,
    VendorUnavailable,
    VendorValidationError,
)
from fleetbridge.core.observability import VENDOR_5XX, VENDOR_429, count, logger
from fleetbridge.core.ratelimit import RateLimiter
from fleetbridge.core.tracing import tracer

tracer.patch(["httpx"])
# httpx logs every request URL at INFO; some vendors put tokens in query strings. Our own retry
# log lines say what matters without the URL.
logging.getLogger("httpx").setLevel(logging.WARNING)

ModelT = TypeVar("ModelT", bound=BaseModel)
ItemT = TypeVar("ItemT")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
RETRY_AFTER_CAP = 60.0

_STATUS_ERRORS: dict[int, type[VendorError]] = {
    400: VendorValidationError,
    401: AuthError,
    403: AuthError,
    404: VendorNotFound,
    409: VendorConflict,
    412: VendorConflict,
    422: VendorValidationError,
    429: RateLimited,
}


@cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: building one loads the CA bundle (~0.1 s each time)."""
    return ssl.create_default_context(cafile=certifi.where())


class VendorClient:
    """Base of every vendor client. Subclasses set `vendor` and may override `parse_error`."""

    vendor = "vendor"

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
        rate_limiter: RateLimiter | None = None,
        timeout: float = 10.0,
        max_retries: int | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=auth,
            headers={"Accept": "application/json", **(headers or {})},
            timeout=timeout,
            transport=transport,
            verify=_tls_context(),
        )
        self._rate_limiter = rate_limiter
        self._max_retries = get_settings().http_max_retries if max_retries is None else max_retries
        self._sleep = sleep

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------ requests
    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one request with rate limiting and retries; raise a VendorError on failure.

        Non-idempotent methods (POST, PATCH) are retried only when the vendor cannot have acted
        (connect errors, 429, 503) unless `idempotent=True` says a repeat is harmless.
        """
        method = method.upper()
        repeatable = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        attempt = 0
        while True:
            if self._rate_limiter is not None:
                self._rate_limiter.acquire()
            try:
                response = self._http.request(
                    method, path, params=_clean(params), json=json, data=data, headers=headers
                )
            except httpx.TimeoutException as exc:
                # A connect timeout never reached the vendor; a read timeout may have.
                retry = repeatable or isinstance(exc, httpx.ConnectTimeout)
                if not retry or attempt >= self._max_retries:
                    raise VendorUnavailable(
                        f"timed out: {method} {path}", vendor=self.vendor
                    ) from exc
                self._wait(attempt, None, reason="timeout")
                attempt += 1
                continue
            except httpx.TransportError as exc:
                if attempt >= self._max_retries:
                    raise VendorUnavailable(
                        f"unreachable: {method} {path} ({type(exc).__name__})", vendor=self.vendor
                    ) from exc
                self._wait(attempt, None, reason=type(exc).__name__)
                attempt += 1
                continue
            if response.is_success:
                return response
            if response.status_code == 429 or response.status_code >= 500:
                count(VENDOR_429 if response.status_code == 429 else VENDOR_5XX, vendor=self.vendor)
            final = self.final_error(response)
            if final is not None:
                raise final
            status = response.status_code
            retry = status in (429, 503) or (repeatable and status in RETRY_STATUSES)
            if not retry or attempt >= self._max_retries:
                raise self._error(response)
            self._wait(attempt, response, reason=str(status))
            attempt += 1

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET and decode JSON."""
        return self.request("GET", path, **kwargs).json()

    def get_model(self, path: str, model: type[ModelT], **kwargs: Any) -> ModelT:
        """GET and parse into `model` (unknown fields ignored by the model)."""
        return model.model_validate(self.get_json(path, **kwargs))

    # ------------------------------------------------------------------ errors
    def parse_error(self, response: httpx.Response) -> tuple[str | None, str, str | None]:
        """(vendor code, message, field) from an error response. Vendors override this."""
        try:
            body = response.json()
        except ValueError:
            return None, response.text[:200] or response.reason_phrase, None
        if isinstance(body, dict):
            message = body.get("message") or body.get("error") or response.reason_phrase
            return body.get("code"), str(message), None
        return None, response.reason_phrase, None

    def final_error(self, response: httpx.Response) -> VendorError | None:
        """A vendor-specific error to raise at once, never retried (e.g. a used-up day quota).

        None (the default): the usual retry rules apply. Vendors override this.
        """
        return None

    def _error(self, response: httpx.Response) -> VendorError:
        code, message, field = self.parse_error(response)
        status = response.status_code
        error_class = _STATUS_ERRORS.get(
            status, VendorUnavailable if status >= 500 else VendorError
        )
        try:
            body = response.json()
        except ValueError:
            body = response.text[:500]
        return error_class(
            message,
            vendor=self.vendor,
            status_code=status,
            vendor_code=code,
            request_id=response.headers.get("x-request-id"),
            body=body,
            field=field,
        )

    # ------------------------------------------------------------------ backoff
    def _wait(self, attempt: int, response: httpx.Response | None, *, reason: str) -> None:
        delay = retry_after_seconds(response) if response is not None else None
        if delay is None:
            delay = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))
        logger.info(
            "vendor retry",
            extra={
                "vendor": self.vendor,
                "attempt": attempt + 1,
                "reason": reason,
                "delay_s": round(delay, 3),
            },
        )
        self._sleep(delay)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The server's Retry-After hint (seconds or HTTP date), capped; None when absent."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {key: value for key, value in params.items() if value is not None}


def paginate[ItemT](
    fetch_page: Callable[[Any], tuple[list[ItemT], Any]], first_cursor: Any = None
) -> Iterator[ItemT]:
    """Yield every item of a paged listing.

    `fetch_page(cursor)` returns (items, next cursor or None). Cursor, page-number, `lastId`
    and Link-header styles all reduce to this; vendor clients supply the page function.
    """
    cursor = first_cursor
    while True:
        items, cursor = fetch_page(cursor)
        yield from items
        if cursor is None:
            return
