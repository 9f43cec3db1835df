"""The one HTTP client base every vendor client builds on (DESIGN.md §5).

It owns transport concerns only: a short explicit timeout, retries with jittered exponential
backoff on 408/429/5xx/timeouts (honouring Retry-After), the per-connection rate limiter and
the limiters of single endpoints a vendor limits apart (`endpoint_limits`), error mapping to
typed exceptions and page iteration. Vendor clients state paths and models.
"""

from __future__ import annotations

import base64
import logging
import math
import random
import re
import ssl
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any, ClassVar, Self, TypeVar

import certifi
import httpx
from pydantic import BaseModel

from fleetbridge.core import budget
from fleetbridge.core.config import get_settings, register_vendor_url
from fleetbridge.core.errors import (
    AuthError,
    RateLimited,
    RetryLater,
    VendorConflict,
    VendorError,
    VendorNotFound,
    VendorUnavailable,
    VendorValidationError,
)
from fleetbridge.core.observability import VENDOR_5XX, VENDOR_429, count, logger
from fleetbridge.core.ratelimit import RateLimit, RateLimiter, SlotTooLate
from fleetbridge.core.tracing import tracer

tracer.patch(["httpx"])
# httpx logs every request URL at INFO; some vendors put tokens in query strings. Our own retry
# log lines say what matters without the URL.
logging.getLogger("httpx").setLevel(logging.WARNING)


class _NoQueryStrings(logging.Filter):
    """Strip query strings from httpx's URL log arguments, should its level ever be lowered
    (GPS Insight's documented API carries credentials and session tokens in the query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                str(arg.copy_with(query=None)) if isinstance(arg, httpx.URL) else arg
                for arg in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_NoQueryStrings())

ModelT = TypeVar("ModelT", bound=BaseModel)
ItemT = TypeVar("ItemT")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
#: The longest Retry-After we sleep in a function; a longer one (or one past what is left of the
#: invocation, `core.budget`) sends the message back to its queue with that delay instead.
RETRY_AFTER_CAP = 60.0
#: SQS's longest visibility timeout: the longest delay a message can be put back with.
MAX_RETRY_DELAY = 12 * 3600.0
#: A token is fetched again this long before the lifetime its vendor gave runs out.
TOKEN_MARGIN_SECONDS = 300.0

#: What a vendor error may bring along: a short message, shorter codes, and bodies we decode.
MAX_ERROR_MESSAGE = 200
MAX_ERROR_CODE = 64
MAX_ERROR_BODY_BYTES = 64 * 1024
_TAG = re.compile(r"<[^>]{0,1000}>")
_NOT_JSON: Any = object()

ErrorDetails = tuple[str | None, str, str | None]

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
    """Base of every vendor client. Subclasses set `vendor` and `default_url` and may override
    `error_details`."""

    vendor = "vendor"
    #: The vendor's production base URL (`FLEETBRIDGE_VENDOR_URLS` replaces it per deployment).
    default_url: ClassVar[str | None] = None
    #: Limits of single endpoints, by `"METHOD /path"` with `{name}` for a path parameter (e.g.
    #: `"DELETE /v3/geomarks/{id}"`), each with a limiter of its own per account
    #: (`endpoint_limiters`), besides the account's `rate_limiter`.
    endpoint_limits: ClassVar[Mapping[str, RateLimit]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "default_url" in cls.__dict__ and cls.default_url:
            register_vendor_url(cls.vendor, cls.default_url)

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
        rate_limiter: RateLimiter | None = None,
        endpoint_limiters: Mapping[str, RateLimiter] | None = None,
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
        self._endpoint_limiters = dict(endpoint_limiters or {})
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
        (connect errors, 429) unless `idempotent=True` says a repeat is harmless: a 5xx, a read
        timeout or a dropped connection may come after the vendor applied the write (a lost
        answer), so the caller looks the object up by its marker before trying again
        (docs/reliability.md). A wait longer than the invocation has left (a Retry-After, a
        rate-limit slot) raises `RetryLater`.
        """
        method = method.upper()
        repeatable = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        limiters = self.limiters(method, path)
        attempt = 0
        while True:
            self._acquire(limiters)
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
                # A refused connection never reached the vendor; a dropped one may have.
                retry = repeatable or isinstance(exc, httpx.ConnectError)
                if not retry or attempt >= self._max_retries:
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
            retry = status == 429 or (repeatable and status in RETRY_STATUSES)
            if not retry or attempt >= self._max_retries:
                raise self._error(response)
            self._wait(attempt, response, reason=str(status))
            attempt += 1

    # ------------------------------------------------------------------ rate limits
    def endpoint_of(self, method: str, path: str) -> str | None:
        """The `endpoint_limits` key a request falls under (None: none does). Vendors telling
        endpoints apart otherwise (a query parameter, a body field) override this."""
        request = f"{method.upper()} {path}"
        return next((k for k in self.endpoint_limits if _endpoint(k).fullmatch(request)), None)

    def limiters(self, method: str, path: str) -> Sequence[RateLimiter]:
        """The limiters a request waits for: its endpoint's (if limited apart), the account's."""
        key = self.endpoint_of(method, path)
        found = [self._endpoint_limiters.get(key) if key else None, self._rate_limiter]
        return [limiter for limiter in found if limiter is not None]

    def _acquire(self, limiters: Sequence[RateLimiter]) -> None:
        """A slot of each limiter; a slot past the invocation's budget is not claimed (the
        message goes back to its queue until then: `RetryLater`)."""
        for limiter in limiters:
            try:
                limiter.acquire()
            except SlotTooLate as exc:
                logger.info(
                    "vendor call deferred to the queue",
                    extra={"vendor": self.vendor, "reason": "rate limit", "delay_s": exc.delay},
                )
                raise RetryLater(
                    f"the rate limit's next slot is {exc.delay:.0f} s away, more than this "
                    "invocation has left",
                    vendor=self.vendor,
                    retry_after=exc.delay,
                ) from exc

    def unwrap(self, response: httpx.Response, key: str) -> Any:
        """`key` of a successful answer's JSON object (None when absent).

        Any other body (a string, a list, HTML, nothing) is a `VendorError` naming the vendor,
        never an AttributeError further on.
        """
        body = decoded_answer(response)
        if not isinstance(body, dict):
            raise VendorError(
                f"{self.vendor} answered without the expected JSON object",
                vendor=self.vendor,
                status_code=response.status_code,
            )
        return body.get(key)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET and decode JSON."""
        return self.request("GET", path, **kwargs).json()

    def get_model(self, path: str, model: type[ModelT], **kwargs: Any) -> ModelT:
        """GET and parse into `model` (unknown fields ignored by the model)."""
        return model.model_validate(self.get_json(path, **kwargs))

    def find_model(self, path: str, model: type[ModelT], **kwargs: Any) -> ModelT | None:
        """`get_model`, or None when the vendor has no such object (it answers 404)."""
        try:
            return self.get_model(path, model, **kwargs)
        except VendorNotFound:
            return None

    # ------------------------------------------------------------------ errors
    def error_details(self, body: Any) -> ErrorDetails | None:
        """(vendor code, message, field) from a decoded JSON error body, or None if not found.

        The per-vendor hook: `body` may be anything JSON decodes to (dict, list, string, number),
        and whatever this raises is ignored, so vendors only state their documented shape.
        """
        if isinstance(body, dict):
            message = first_text(body.get("message"), body.get("error"))
            if message:
                return text_of(body.get("code")), message, None
        return None

    def parse_error(self, response: httpx.Response) -> ErrorDetails:
        """(vendor code, message, field) from any error response, never raising.

        Survives any body (empty, HTML, truncated JSON, a string, a list); what comes back is
        short, single-line plain text: a vendor's page never reaches an API answer or a log.
        """
        body = decoded_body(response)
        details: ErrorDetails | None = None
        if body is not _NOT_JSON:
            try:
                details = self.error_details(body)
            except Exception:
                details = None
        reason = response.reason_phrase or f"HTTP {response.status_code}"
        if details is None:
            if body is _NOT_JSON and not _looks_like_html(response):
                details = (None, response.text, None)
            else:
                details = (None, reason, None)
        code, message, field = details
        return (
            sanitize_text(code, MAX_ERROR_CODE) or None,
            sanitize_text(message) or sanitize_text(reason),
            sanitize_text(field, MAX_ERROR_CODE) or None,
        )

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
        body = decoded_body(response)
        return error_class(
            message,
            vendor=self.vendor,
            status_code=status,
            vendor_code=code,
            request_id=sanitize_text(response.headers.get("x-request-id"), MAX_ERROR_CODE) or None,
            body=None if body is _NOT_JSON else body,
            field=field,
        )

    # ------------------------------------------------------------------ backoff
    def _wait(self, attempt: int, response: httpx.Response | None, *, reason: str) -> None:
        delay = retry_after_seconds(response) if response is not None else None
        if delay is None:
            delay = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))
        if delay > RETRY_AFTER_CAP or not budget.can_wait(delay):
            logger.info(
                "vendor retry deferred to the queue",
                extra={"vendor": self.vendor, "reason": reason, "delay_s": round(delay, 3)},
            )
            raise RetryLater(
                f"asked to wait {delay:.0f} s ({reason}), more than this invocation has left",
                vendor=self.vendor,
                status_code=response.status_code if response is not None else None,
                retry_after=delay,
            )
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


class TokenClient(VendorClient):
    """A client whose calls carry a token the vendor issues (an access or session token).

    The token is fetched on first use (`fetch_token`), kept until `TOKEN_MARGIN_SECONDS` before
    the lifetime the vendor gave (if any) and fetched again once when a call answers 401 (expired
    or revoked early). Subclasses state how a token is fetched and where a call carries it.
    """

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._token: str | None = None
        self._token_expires = math.inf

    #: Whether every call may be repeated after a lost answer (None: by HTTP method).
    calls_idempotent: ClassVar[bool | None] = None

    def fetch_token(self) -> tuple[str, float | None]:
        """A new token and its lifetime in seconds (None: until the vendor refuses it)."""
        raise NotImplementedError

    def token_in(self, body: Any, key: str, response: httpx.Response) -> str:
        """`body[key]` as a token; an answer without one is a `VendorError`, never a crash."""
        token = first_text(body.get(key)) if isinstance(body, dict) else None
        if token is None:
            raise VendorError(
                f"{self.vendor} answered without a {key}",
                vendor=self.vendor,
                status_code=response.status_code,
            )
        return token

    def call_path(self, path: str) -> str:
        """The request path of an API path (e.g. under a tenant); by default the path itself."""
        return path

    def answer(self, response: httpx.Response) -> Any:
        """What a call returns of a successful answer: by default its JSON body (a body that is
        not JSON is a `VendorError`)."""
        body = decoded_answer(response)
        if body is _NOT_JSON:
            raise VendorError(
                f"{self.vendor} answered without a JSON body",
                vendor=self.vendor,
                status_code=response.status_code,
            )
        return body

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """A GET `call`: with the token, and what `answer` makes of the body."""
        return self.call("GET", path, **kwargs)

    def call(
        self, method: str, path: str, params: dict[str, Any] | None = None, *, json: Any = None
    ) -> Any:
        """One API call with the token (fetched again once on 401): its `answer`."""
        response = self.authorized(
            method,
            self.call_path(path),
            params=params,
            json=json,
            idempotent=self.calls_idempotent,
        )
        return self.answer(response)

    def token_carrier(
        self, token: str, params: dict[str, Any] | None
    ) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """(query parameters, headers) of a call carrying `token`; by default a Bearer header."""
        return params, {"Authorization": f"Bearer {token}"}

    def authenticate(self) -> str:
        """Fetch a new token now and keep it."""
        token, lifetime = self.fetch_token()
        self._token = token
        if lifetime is None:
            self._token_expires = math.inf
        else:
            self._token_expires = time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 0.0)
        return token

    def current_token(self) -> str:
        """The kept token, or a new one when there is none or it is about to expire."""
        if self._token is None or time.monotonic() >= self._token_expires:
            return self.authenticate()
        return self._token

    def authorized(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """`request` with the token; on a 401 the token is fetched again and the call repeated
        once (a second 401 raises: the credentials themselves are refused)."""
        for attempt in (0, 1):
            query, headers = self.token_carrier(self.current_token(), params)
            try:
                return self.request(
                    method, path, params=query, json=json, headers=headers, idempotent=idempotent
                )
            except AuthError as exc:
                if exc.status_code != 401 or attempt:
                    raise
                self._token = None
        raise AssertionError("unreachable")  # pragma: no cover


class ClientCredentialsClient(TokenClient):
    """OAuth2-style client credentials: `POST token_path` with HTTP Basic
    `client_id:client_secret` (and `token_form` as a form body) answers
    `{"access_token", "expires_in"?}`; calls carry `Authorization: Bearer <token>`."""

    token_path: ClassVar[str] = "/oauth/token"
    token_form: ClassVar[dict[str, str] | None] = None
    #: Lifetime when the answer names none (None: kept until a call answers 401).
    default_token_lifetime: ClassVar[float | None] = None
    #: Whether `expires_in` is honoured (False: kept until a call answers 401).
    honours_expires_in: ClassVar[bool] = True

    def __init__(self, base_url: str, *, client_id: str, client_secret: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._basic = f"Basic {basic}"

    def fetch_token(self) -> tuple[str, float | None]:
        """`POST token_path`; an answer without an `access_token` is a `VendorError`."""
        response = self.request(
            "POST",
            self.token_path,
            data=self.token_form,
            headers={"Authorization": self._basic},
            idempotent=True,
        )
        body = decoded_answer(response)
        token = self.token_in(body, "access_token", response)
        given = _seconds(body.get("expires_in")) if self.honours_expires_in else None
        return token, given or self.default_token_lifetime


@cache
def _endpoint(template: str) -> re.Pattern[str]:
    """`"METHOD /path/{param}"` as a pattern over `"METHOD /path/value"`."""
    return re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)))


def _seconds(value: Any) -> float | None:
    """A positive number of seconds, else None."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def decoded_body(response: httpx.Response) -> Any:
    """An error answer's JSON body, or `_NOT_JSON` for anything that does not decode (HTML,
    truncated, deep) or is larger than an error body can be."""
    if len(response.content) > MAX_ERROR_BODY_BYTES:
        return _NOT_JSON
    return decoded_answer(response)


def decoded_answer(response: httpx.Response) -> Any:
    """A successful answer's JSON body, whatever its size (a page of 500 records is large), or
    `_NOT_JSON` for anything that does not decode."""
    try:
        return response.json()
    except (ValueError, RecursionError):
        return _NOT_JSON


def sanitize_text(value: Any, limit: int | None = None) -> str:
    """One line of plain text, at most `limit` characters: tags, control characters and runs of
    whitespace removed. None → "". Vendor text goes through this before it reaches anyone."""
    if value is None:
        return ""
    text = _TAG.sub(" ", str(value)[: MAX_ERROR_BODY_BYTES // 8])
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    text = text.encode("utf-8", "replace").decode("utf-8")
    limit = MAX_ERROR_MESSAGE if limit is None else limit
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _looks_like_html(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "").lower()
    return "html" in content_type or response.content.lstrip()[:1] == b"<"


def text_of(value: Any) -> str | None:
    """A scalar as text (codes are strings or numbers); None for objects, lists and blanks."""
    if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value):
        return str(value)
    return None


def nested_error(
    body: Any, key: str, *, message: str, code: str | None = None, field: str | None = None
) -> ErrorDetails | None:
    """(code, message, field) read from the object at `body[key]` (e.g. Driveri's
    `{"error": {"code", "message", "field"}}`); None when it is not there or has no message.

    The shared reading for `error_details` hooks: any body (a string, a list) gives None.
    """
    inner = body.get(key) if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        return None
    text = first_text(inner.get(message))
    if text is None:
        return None
    return (
        text_of(inner.get(code)) if code else None,
        text,
        text_of(inner.get(field)) if field else None,
    )


def first_text(*values: Any) -> str | None:
    """The first of `values` that is a non-blank scalar, as text."""
    for value in values:
        text = text_of(value)
        if text and text.strip():
            return text
    return None


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The server's Retry-After hint (seconds or HTTP date, at most `MAX_RETRY_DELAY`); None
    when absent."""
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
    return min(max(seconds, 0.0), MAX_RETRY_DELAY)


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
