"""The vendor sandbox base class: state, ids, seeding, auth/rate-limit/fault pipeline, webhooks.

A vendor package (``local/sandboxes/<vendor>/``) subclasses :class:`VendorSandbox`, sets
``name``, ``api_root``, ``resources`` and ``rate_limit``, implements ``authenticate``,
``error_body`` and ``default_credentials``, and adds its routes in ``register_routes``. This
module and the rest of the common part never import a vendor package. ``local.sandboxes.app``
mounts every sandbox under ``/<name>`` and runs each vendor request through
:meth:`VendorSandbox.before_request` (latency and faults, then auth, then the rate limit) and
:meth:`VendorSandbox.after_request` (vendor headers and the request log). State lives in
``self.store``: resource -> {str(id): record}, in insertion order, guarded by ``self.lock``.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from flask import Blueprint, Response, g, jsonify, request

from local.sandboxes.faults import FaultInjector
from local.sandboxes.ratelimit import RateDecision, RateLimitConfig, RateLimiter
from local.sandboxes.webhooks import WebhookEmitter, WebhookSender

logger = logging.getLogger(__name__)

Record = dict[str, Any]
REDACTED_HEADERS = frozenset({"authorization", "account-token", "cookie", "x-api-key"})
REQUEST_LOG_SIZE = 5000


class DroppedConnection(Exception):
    """Raised inside a response body to close the connection without an answer."""


class SandboxError(Exception):
    """An error answer in the vendor's own shape (rendered by ``VendorSandbox.error_body``)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        cause: str | None = None,
        field_errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.cause = cause
        self.field_errors = field_errors or []
        self.headers = headers or {}


def now_ms() -> int:
    """Unix time in milliseconds."""
    return int(time.time() * 1000)


def utcnow() -> datetime:
    """The current UTC time, timezone aware."""
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z`` suffix."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso_as_given(value: Any) -> datetime | None:
    """Parse an ISO 8601 timestamp, naive if it has no offset; None when missing or invalid."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_iso(value: Any) -> datetime | None:
    """Parse an ISO 8601 timestamp (naive means UTC); None when missing or invalid."""
    parsed = parse_iso_as_given(value)
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class IsoClock:
    """Strictly increasing ISO timestamps (two changes in one millisecond still differ)."""

    def __init__(self) -> None:
        self._last = datetime.min.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def next(self, after: str | None = None) -> str:
        """A timestamp later than every one given before (and than ``after``, if given)."""
        with self._lock:
            now = max(utcnow(), self._last + timedelta(milliseconds=1))
            previous = parse_iso(after)
            if previous is not None:
                now = max(now, previous + timedelta(milliseconds=1))
            self._last = now
            return iso(now)


class VendorSandbox:
    """Per-vendor stateful fake: subclass it for each vendor."""

    name: ClassVar[str]
    api_root: ClassVar[str]  # the vendor's real path prefix after its host, e.g. "/api/v2"
    resources: ClassVar[tuple[str, ...]]
    rate_limit: ClassVar[RateLimitConfig]
    # query/body keys whose values never reach the request log (credentials passed as params)
    redacted_params: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, time_factor: float = 1.0, webhook_sender: WebhookSender | None = None):
        if time_factor <= 0:
            raise ValueError("time_factor must be positive")
        self.time_factor = time_factor
        self.lock = threading.RLock()
        self.faults = FaultInjector()
        self.limiter = RateLimiter(self.rate_limit, time_factor)
        self.emitter = WebhookEmitter(webhook_sender)
        self.store: dict[str, dict[str, Record]] = {}
        self.credentials: dict[str, Any] = {}
        self.webhooks: list[Record] = []
        # benchmarks count every call of a long run: FLEETBRIDGE_SANDBOX_LOG_SIZE raises the cap
        size = int(os.environ.get("FLEETBRIDGE_SANDBOX_LOG_SIZE") or REQUEST_LOG_SIZE)
        self.requests: deque[Record] = deque(maxlen=size)
        self._log_lock = threading.Lock()
        self._counters: dict[str, int] = {}
        self.reset()

    # ----- to implement per vendor -------------------------------------------------------------
    def default_credentials(self) -> dict[str, Any]:
        """Credentials accepted out of the box."""
        raise NotImplementedError

    def authenticate(self) -> str | None:
        """The account key of the current request, or None when its credentials are wrong."""
        raise NotImplementedError

    def error_body(self, error: SandboxError) -> Any:
        """The vendor's JSON error body for ``error``."""
        raise NotImplementedError

    def register_routes(self, bp: Blueprint) -> None:
        """Add the vendor's API routes to ``bp`` (mounted at ``/<name><api_root>``)."""
        raise NotImplementedError

    # ----- optional hooks -----------------------------------------------------------------------
    def prepare_seed(self, resource: str, record: Record) -> Record:
        """Fill a seeded record's defaults (the id is assigned afterwards when missing)."""
        return record

    def render(self, resource: str, record: Record) -> Record:
        """The vendor JSON for a stored record (computed fields, embedded summaries)."""
        return copy.deepcopy(record)

    def prepare_credentials(self, values: dict[str, Any]) -> dict[str, Any]:
        """Validate and complete seeded credentials (they replace the current ones)."""
        return dict(values)

    def prepare_webhook(self, hook: Record) -> Record:
        """Validate and complete a seeded webhook ``{url, secret, events}``."""
        if not isinstance(hook.get("url"), str):
            raise SandboxError(400, "a webhook needs a url")
        hook.setdefault("secret", uuid.uuid4().hex)
        hook.setdefault("events", ["*"])
        return hook

    def webhook_headers(self, hook: Record, body: bytes) -> dict[str, str]:
        """Signature headers for one delivery of ``body`` to ``hook``."""
        return {}

    def rate_limited_error(self, decision: RateDecision) -> SandboxError:
        """The 429 answer; by default with ``Retry-After``."""
        return SandboxError(
            429,
            "Too many requests",
            code="RateLimited",
            headers={"Retry-After": decision.retry_after_header},
        )

    def decorate(self, response: Response) -> None:
        """Add vendor headers to every vendor API response."""

    def rate_key(self, account: str) -> str:
        """The rate limiter's key for the current request: by default the account (a vendor
        limiting per endpoint adds the endpoint)."""
        return account

    def control_routes(self, bp: Blueprint) -> None:
        """Add vendor-specific control routes to ``bp`` (mounted at ``/_sandbox/<name>``)."""

    def extra_state(self) -> dict[str, Any]:
        """Additional keys for ``GET /_sandbox/<vendor>/state``."""
        return {}

    def on_reset(self) -> None:
        """Reset vendor-specific attributes."""

    # ----- state --------------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the out-of-the-box state: no records, default credentials, no faults."""
        with self.lock:
            self.store = {resource: {} for resource in self.resources}
            self._counters = {}
            self.credentials = self.prepare_credentials(self.default_credentials())
            self.webhooks = []
            with self._log_lock:
                self.requests.clear()
            self.faults.reset()
            self.limiter.reconfigure(self.rate_limit)
            self.emitter.clear()
            self.on_reset()

    def new_id(self, resource: str) -> Any:
        """A fresh id in the vendor's style (default: increasing integers per resource)."""
        with self.lock:
            value = self._counters.get(resource, 1)
            self._counters[resource] = value + 1
            return value

    def insert(self, resource: str, record: Record) -> Record:
        """Store (or replace) a record, giving it an id when it has none."""
        with self.lock:
            if record.get("id") in (None, ""):
                fields = {k: v for k, v in record.items() if k != "id"}
                record.clear()
                record.update(id=self.new_id(resource), **fields)  # the id first, as vendors do
            elif isinstance(record["id"], int) and not isinstance(record["id"], bool):
                self._counters[resource] = max(self._counters.get(resource, 1), record["id"] + 1)
            self.store[resource][str(record["id"])] = record
            return record

    def get(self, resource: str, record_id: Any) -> Record | None:
        """The stored record (not a copy) or None."""
        return self.store[resource].get(str(record_id))

    def require(self, resource: str, record_id: Any) -> Record:
        """The stored record or a 404 in the vendor's shape."""
        record = self.get(resource, record_id)
        if record is None:
            raise SandboxError(404, f"{resource} {record_id} not found", code="ResourceNotFound")
        return record

    def all(self, resource: str) -> list[Record]:
        """Every stored record of a resource, oldest first."""
        return list(self.store[resource].values())

    def state(self) -> dict[str, Any]:
        """Every resource, the credentials and the webhooks, as JSON."""
        with self.lock:
            out: dict[str, Any] = {
                resource: [self.render(resource, r) for r in records.values()]
                for resource, records in self.store.items()
            }
            out["credentials"] = copy.deepcopy(self.credentials)
            out["webhooks"] = copy.deepcopy(self.webhooks)
            out.update(self.extra_state())
            return out

    def seed(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Bulk load ``{"<resource>": [records], "credentials": {...}, "webhooks": [...]}``."""
        unknown = set(payload) - {*self.resources, "credentials", "webhooks"}
        if unknown:
            raise SandboxError(400, f"unknown resources for {self.name}: {sorted(unknown)}")
        out: dict[str, Any] = {}
        with self.lock:
            if "credentials" in payload:
                if not isinstance(payload["credentials"], dict):
                    raise SandboxError(400, "credentials must be an object")
                self.credentials = self.prepare_credentials(payload["credentials"])
                out["credentials"] = copy.deepcopy(self.credentials)
            for resource in self.resources:  # declared order: referenced records first
                if resource in payload:
                    records = self._records(resource, payload[resource])
                    stored = [
                        self.insert(resource, self.prepare_seed(resource, r)) for r in records
                    ]
                    out[resource] = [self.render(resource, r) for r in stored]
            if "webhooks" in payload:
                hooks = self._records("webhooks", payload["webhooks"])
                out["webhooks"] = [copy.deepcopy(self.add_webhook(hook)) for hook in hooks]
        return out

    @staticmethod
    def _records(resource: str, value: Any) -> list[Record]:
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            raise SandboxError(400, f"{resource} must be a list of objects")
        return [copy.deepcopy(r) for r in value]

    # ----- webhooks -----------------------------------------------------------------------------
    def add_webhook(self, hook: Record) -> Record:
        """Register a webhook (seeded or through the vendor API)."""
        with self.lock:
            hook = self.prepare_webhook(hook)
            if hook.get("id") in (None, ""):
                hook["id"] = self.new_id("webhooks")
            self.webhooks.append(hook)
            return hook

    def webhook_matches(self, hook: Record, event: str) -> bool:
        """Whether ``hook`` subscribes to ``event``."""
        events = hook.get("events") or []
        return "*" in events or event in events

    def emit(self, event: str, payload: Any) -> None:
        """Send ``payload`` (JSON) to every webhook subscribed to ``event``, signed per hook."""
        with self.lock:
            hooks = [h for h in self.webhooks if self.webhook_matches(h, event)]
        if not hooks:
            return
        body = json.dumps(payload, separators=(",", ":")).encode()
        for hook in hooks:
            headers = {"Content-Type": "application/json", **self.webhook_headers(hook, body)}
            self.emitter.send(hook["url"], event, body, headers)

    # ----- request pipeline ---------------------------------------------------------------------
    def blueprint(self) -> Blueprint:
        """A Flask blueprint with the vendor's routes, mounted at ``/<name><api_root>``."""
        bp = Blueprint(self.name, __name__, url_prefix=f"/{self.name}{self.api_root}")
        self.register_routes(bp)
        return bp

    def before_request(self) -> None:
        """Latency, faults, auth and the rate limit, in that order (raises ``SandboxError``).

        A ``lost_response`` fault lets the request through: ``after_request`` loses its answer.
        """
        g.sandbox_started = time.monotonic()
        g.sandbox_fault = None
        config = self.faults.config
        if config.latency_ms:
            time.sleep(config.latency_ms / 1000)
        fault = self.faults.roll(request.method)
        if fault:
            g.sandbox_fault = fault
            if fault != "lost_response":
                raise self.fault_error(fault)
        account = self.authenticate()
        if account is None:
            raise self.unauthorized()
        g.sandbox_account = account
        decision = self.limiter.hit(self.rate_key(account))
        if not decision.allowed:
            raise self.rate_limited_error(decision)

    def fault_error(self, fault: str) -> SandboxError:
        """The answer for an injected fault (a timeout fault holds the request first)."""
        if fault == "status_429":
            seconds = self.faults.config.retry_after_s
            wait = self.limiter.window if seconds is None else seconds  # as sent, unscaled
            return self.rate_limited_error(RateDecision(False, self.limiter.config.limit, 0, wait))
        if fault == "timeout":
            time.sleep(self.faults.config.timeout_ms / 1000)
            return SandboxError(504, "Gateway timeout", code="GatewayTimeout")
        return SandboxError(503, "Service unavailable", code="ServiceUnavailable")

    def unauthorized(self, message: str = "Invalid credentials") -> SandboxError:
        """The 401 error."""
        return SandboxError(401, message, code="InvalidCredentials")

    def error_response(self, error: SandboxError) -> Response:
        """Render ``error`` in the vendor's shape."""
        response = jsonify(self.error_body(error))
        response.status_code = error.status
        response.headers.update(error.headers)
        return response

    def lose_answer(self, response: Response) -> tuple[Response, int]:
        """The request was carried out; its answer is replaced by a 503 or a dropped connection
        (headers, then the connection closes before the body: ``(response, 0)``)."""
        if self.faults.lost_as() == "503":
            lost = self.error_response(
                SandboxError(503, "Service unavailable", code="ServiceUnavailable")
            )
            return lost, 503

        def body() -> Iterable[bytes]:
            yield b""
            raise DroppedConnection("lost_response: connection dropped")

        dropped = Response(body(), status=response.status_code, mimetype="application/json")
        dropped.headers["Content-Length"] = str(max(len(response.get_data()), 1))
        return dropped, 0

    def after_request(self, response: Response) -> Response:
        """Vendor headers, then one request-log entry (credentials redacted)."""
        applied_status = None
        logged_status = response.status_code
        if g.get("sandbox_fault") == "lost_response":
            applied_status = response.status_code
            response, logged_status = self.lose_answer(response)
        self.decorate(response)
        started = g.get("sandbox_started", time.monotonic())
        headers = {
            k: ("[redacted]" if k.lower() in REDACTED_HEADERS else v)
            for k, v in request.headers.items()
        }
        entry = {
            "id": uuid.uuid4().hex,
            "time": iso(utcnow()),
            "method": request.method,
            "path": request.path,
            "query": self.redact_params(request.args.to_dict()),
            "status": logged_status,
            "duration_ms": round((time.monotonic() - started) * 1000, 3),
            "headers": headers,
            "body": self.redact_params(request.get_json(silent=True) if request.data else None),
            "fault": g.get("sandbox_fault"),
        }
        if applied_status is not None:
            entry["applied_status"] = applied_status  # what the lost answer would have been
        with self._log_lock:
            self.requests.append(entry)
        return response

    def redact_params(self, values: Any) -> Any:
        """``values`` with the ``redacted_params`` keys of a JSON object masked (copy if changed)."""
        if not self.redacted_params or not isinstance(values, dict):
            return values
        return {
            k: ("[redacted]" if str(k).lower() in self.redacted_params else v)
            for k, v in values.items()
        }

    def request_log(self) -> list[Record]:
        """The request log, oldest first (the last 5000 vendor requests unless configured)."""
        with self._log_lock:
            return list(self.requests)

    # ----- helpers for routes -------------------------------------------------------------------
    def json_body(self) -> Record:
        """The request's JSON object, or a 400 in the vendor's shape."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise SandboxError(
                400, "The request body must be a JSON object", code="InvalidArgument"
            )
        return body

    def account(self) -> str:
        """The authenticated account of the current request."""
        return str(g.get("sandbox_account", ""))


def first_missing(body: Record, fields: Iterable[str]) -> str | None:
    """The first of ``fields`` that is absent, null or empty in ``body``."""
    for field in fields:
        if body.get(field) in (None, "", [], {}):
            return field
    return None
