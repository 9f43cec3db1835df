"""Azuga sandbox, mounted at ``/azuga`` (paths ``/azuga/v3/...``, ``/azuga/v1/...``; azuga.md).

- Auth: ``POST /v3/auth/login {"apiKey"}`` -> ``{"token", "tokenType": "Bearer", "expiresIn"}``
  (the exchange is not documented exactly: this shape is an assumption); every other call
  carries ``Authorization: Bearer <token>``; v1 paths also take HTTP Basic with the base64 API
  key (azuga.md). Tokens live ``token_ttl_seconds`` (credentials, default 3600) on the sandbox
  clock; a missing, unknown or expired token answers 401. Default key ``sandbox-azuga-key``.
- Errors: ``{"error": {"code", "message", "field"?}}`` (``BAD_REQUEST``, ``NOT_FOUND``,
  ``CONFLICT``...; the body is not documented: an assumption).
- Rate limit: 1 request a minute **per endpoint** (method + path template) per account, scaled by
  the time factor; over it 429 with ``Retry-After``.
- Lists are plain JSON arrays (no paging is documented). Resources for seed/state, in this
  order: ``users`` (``userType`` defaults to ``driver``), ``trackees`` (``assignedUserId`` must
  name a user; ``lastLocation`` ``{latitude, longitude, locationTime}`` or null), ``geomarks``
  (validated as the bulk upload does) and ``trackme_links``.
- Webhooks (seeded only: Azuga's alert webhooks are configured in its UI): ``{"url",
  "authorizationType": "BASIC", "username", "password"}`` or ``{"url", "authorizationType":
  "KEY", "keyName"?, "keyValue"}`` (``keyName`` defaults to ``x-api-key``), ``events`` default
  both geofence events. Deliveries carry that header.
- ``POST /_sandbox/azuga/positions {"vehicleId", "lat", "lon", "at"?}`` moves a trackee and emits
  ``ENTERED_GEOFENCE`` / ``EXIT_GEOFENCE`` alerts (``positions.py``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import math
from typing import Any, TypeGuard

from flask import request

from local.sandboxes.framework import (
    Record,
    SandboxError,
    VendorSandbox,
    first_missing,
)
from local.sandboxes.ratelimit import RateDecision, RateLimitConfig
from local.sandboxes.tokens import TokenStore, token_ttl

ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    429: "TOO_MANY_REQUESTS",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}
DEFAULT_TOKEN_TTL = 3600.0
LOGIN_PATH = "/v3/auth/login"
ENTERED, EXITED = "ENTERED_GEOFENCE", "EXIT_GEOFENCE"
MAX_RADIUS_M = 10 * 1609.344  # "Radius at most 10 miles"
USER_FIELDS = ("id", "firstName", "lastName", "email", "phone", "userType")
TRACKEE_FIELDS = ("id", "name", "vin", "assignedUserId", "lastLocation")
GEOMARK_FIELDS = (
    "name",
    "latitude",
    "longitude",
    "address",
    "fenceType",
    "geofenceRadius",
    "radiusUnit",
    "alertOnEntry",
)


def field_error(status: int, message: str, field: str) -> SandboxError:
    """An error naming the offending field."""
    return SandboxError(status, message, field_errors=[{"field": field, "message": message}])


def is_number(value: Any) -> TypeGuard[int | float]:
    """A finite int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_point(lat: Any, lon: Any, names: tuple[str, str] = ("latitude", "longitude")) -> None:
    """400 unless ``lat``/``lon`` are numbers within the globe's ranges."""
    for value, name, bound in ((lat, names[0], 90), (lon, names[1], 180)):
        if not is_number(value) or abs(value) > bound:
            raise field_error(400, f"{name} must be a number within ±{bound}", name)


class AzugaBase(VendorSandbox):
    """Stateful fake of Azuga: users (drivers), trackees, geomarks, TrackMe links and alerts;
    everything but the routes, which ``AzugaSandbox`` (``sandbox.py``) adds."""

    name = "azuga"
    api_root = ""
    resources = ("users", "trackees", "geomarks", "trackme_links")
    rate_limit = RateLimitConfig(limit=1, window_seconds=60.0)
    redacted_params = frozenset({"apikey"})

    def on_reset(self) -> None:
        """No tokens."""
        self.tokens = TokenStore(self.time_factor)

    def default_credentials(self) -> dict[str, Any]:
        """The default API key."""
        return {"api_key": "sandbox-azuga-key", "token_ttl_seconds": DEFAULT_TOKEN_TTL}

    def prepare_credentials(self, values: dict[str, Any]) -> dict[str, Any]:
        """``api_key`` required; a positive token TTL."""
        if not isinstance(values.get("api_key"), str) or not values["api_key"]:
            raise SandboxError(400, "credentials need api_key")
        ttl = token_ttl(values, DEFAULT_TOKEN_TTL, lambda message: SandboxError(400, message))
        return {"api_key": values["api_key"], "token_ttl_seconds": ttl}

    def extra_state(self) -> dict[str, Any]:
        """The number of live tokens."""
        return {"live_tokens": self.tokens.count()}

    # ----- auth, errors, rate limit -------------------------------------------------------------
    def authenticate(self) -> str | None:
        """Login checks the API key in the body; v1 also takes Basic base64(key); else Bearer."""
        key = self.credentials["api_key"]
        path = request.path.removeprefix(f"/{self.name}")
        if path.rstrip("/") == LOGIN_PATH:
            body = request.get_json(silent=True)
            given = body.get("apiKey") if isinstance(body, dict) else None
            ok = isinstance(given, str) and hmac.compare_digest(given.encode(), key.encode())
            return key if ok else None
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if path.startswith("/v1/") and scheme.lower() == "basic":
            try:
                given = base64.b64decode(value.strip()).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            return key if hmac.compare_digest(given.encode(), key.encode()) else None
        if scheme.lower() != "bearer" or not value.strip():
            raise self.unauthorized("A Bearer token is required (POST /v3/auth/login)")
        account, problem = self.tokens.check(value.strip())
        if account is None:
            raise self.unauthorized(f"The token is {problem}")
        return account

    def issue_token(self) -> dict[str, Any]:
        """The login answer for the authenticated key."""
        ttl = float(self.credentials["token_ttl_seconds"])
        token = self.tokens.issue(self.account(), ttl)
        return {"token": token, "tokenType": "Bearer", "expiresIn": int(ttl)}

    def rate_key(self, account: str) -> str:
        """Azuga limits each endpoint separately: the account plus method and path template."""
        rule = request.url_rule.rule if request.url_rule is not None else request.path
        return f"{account} {request.method} {rule}"

    def unauthorized(self, message: str = "Invalid API key") -> SandboxError:
        """401."""
        return SandboxError(401, message, code="UNAUTHORIZED")

    def rate_limited_error(self, decision: RateDecision) -> SandboxError:
        """429 with ``Retry-After``."""
        return SandboxError(
            429,
            "Rate limit exceeded for this endpoint",
            code="TOO_MANY_REQUESTS",
            headers={"Retry-After": decision.retry_after_header},
        )

    def error_body(self, error: SandboxError) -> Any:
        """``{"error": {"code", "message", "field"?}}``."""
        body: dict[str, Any] = {
            "code": ERROR_CODES.get(error.status, "INTERNAL_ERROR"),
            "message": error.message,
        }
        if error.field_errors:
            body["field"] = error.field_errors[0]["field"]
        return {"error": body}

    # ----- records ------------------------------------------------------------------------------
    def prepare_seed(self, resource: str, record: Record) -> Record:
        """Defaults per resource; trackees' drivers must exist; geomarks are validated."""
        if resource == "users":
            for field in USER_FIELDS[1:]:
                record.setdefault(field, "driver" if field == "userType" else None)
        elif resource == "trackees":
            for field in TRACKEE_FIELDS[1:]:
                record.setdefault(field, None)
            user = record["assignedUserId"]
            if user is not None and self.get("users", user) is None:
                raise SandboxError(400, f"trackee {record.get('id')}: no user {user}")
        elif resource == "geomarks":
            record = self.new_geomark(record, "geomarks", set())
        return record

    def new_geomark(self, item: Any, label: str, taken: set[str]) -> Record:
        """A valid geomark from an uploaded item (400/409 naming ``label``'s field).

        ``taken`` holds the lower-cased names already used by this upload.
        """
        if not isinstance(item, dict):
            raise field_error(400, "must be an object", label)
        required = ("name", "latitude", "longitude", "fenceType", "geofenceRadius")
        missing = first_missing(item, required)
        if missing:
            raise field_error(400, f"{missing} is required", f"{label}.{missing}")
        if not isinstance(item["name"], str) or not item["name"].strip():
            raise field_error(400, "name must be text", f"{label}.name")
        check_point(item["latitude"], item["longitude"])
        if item["fenceType"] != "Circular":
            raise field_error(400, "only Circular fences are supported", f"{label}.fenceType")
        unit = item.get("radiusUnit", "meters")
        if unit != "meters":
            raise field_error(400, "radiusUnit must be meters", f"{label}.radiusUnit")
        radius = item["geofenceRadius"]
        if not is_number(radius) or radius <= 0:
            raise field_error(400, "geofenceRadius must be positive", f"{label}.geofenceRadius")
        if radius > MAX_RADIUS_M:
            raise field_error(400, "geofenceRadius is over 10 miles", f"{label}.geofenceRadius")
        if not isinstance(item.get("alertOnEntry", True), bool):
            raise field_error(400, "alertOnEntry must be true or false", f"{label}.alertOnEntry")
        name = item["name"].strip()
        existing = {str(g["name"]).lower() for g in self.all("geomarks")}
        if name.lower() in existing or name.lower() in taken:
            raise field_error(409, f"A geomark named {name!r} already exists", f"{label}.name")
        taken.add(name.lower())
        record = {"id": item.get("id")} if item.get("id") not in (None, "") else {}
        record |= {field: copy.deepcopy(item.get(field)) for field in GEOMARK_FIELDS}
        record.update(name=name, radiusUnit=unit, alertOnEntry=item.get("alertOnEntry", True))
        return record

    # ----- webhooks -----------------------------------------------------------------------------
    def prepare_webhook(self, hook: Record) -> Record:
        """``url`` and ``authorizationType`` BASIC (``username``, ``password``) or KEY
        (``keyName`` default ``x-api-key``, ``keyValue``); both geofence events by default."""
        if not isinstance(hook.get("url"), str):
            raise SandboxError(400, "a webhook needs a url")
        kind = hook.get("authorizationType")
        needs = {"BASIC": ("username", "password"), "KEY": ("keyValue",)}.get(str(kind))
        if needs is None:
            raise SandboxError(400, "authorizationType must be BASIC or KEY")
        if any(not isinstance(hook.get(field), str) for field in needs):
            raise SandboxError(400, f"a {kind} webhook needs {', '.join(needs)}")
        if kind == "KEY":
            hook.setdefault("keyName", "x-api-key")
        hook.setdefault("events", [ENTERED, EXITED])
        return hook

    def webhook_headers(self, hook: Record, body: bytes) -> dict[str, str]:
        """The configured authorization header."""
        if hook["authorizationType"] == "BASIC":
            pair = f"{hook['username']}:{hook['password']}".encode()
            return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
        return {str(hook["keyName"]): str(hook["keyValue"])}
