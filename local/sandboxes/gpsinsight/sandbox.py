"""GPS Insight portal API v2 sandbox, mounted at ``/gpsinsight/v2`` (vendors/gpsinsight.md).

- The documented form only: every call is a ``GET`` with its parameters in the query string
  (gpsinsight.md); another method answers 405, a JSON or form body 400.
- Auth: ``GET /userauth/login?username=&password=`` (or ``?app_token=``, alone or with the
  username) -> ``{"head": {"status": "OK", "code": 200}, "data": {"token", "expires"}}``;
  ``expires`` is the ISO 8601 UTC expiry. Every other call needs ``?session_token=``; a
  missing, unknown or expired token answers HTTP 401. Tokens live
  ``token_ttl_seconds`` (credentials, default 86400) on the sandbox clock (divided by the time
  factor). Defaults: ``sandbox-gps-user`` / ``sandbox-gps-pass``, app token
  ``sandbox-gps-app-token``; the default user ``sandbox-gps-user`` is the account's Master User.
- Envelope: ``{"head": {"status": "OK"|"ERROR", "code", "error_string"?}, "data": ...}`` with
  ``head.code`` the HTTP status of the answer.
- Drivers: ``GET /driver/list`` returns the full list (no modified-since filter, as
  gpsinsight.md assumes); ``GET /driver/create`` (``firstname`` and ``lastname`` required),
  ``GET /driver/update`` and ``GET /driver/delete`` (hard delete), both by ``driver_id``;
  unknown fields answer 400. ``updated_at`` (ISO 8601 UTC) moves forward on every change. Users:
  ``GET /user/list`` -> ``[{"username", "is_master", "email"}]``. A seeded user may carry a
  ``password`` (never shown): that user can then log in with it, as real portal users do.
- Rate limit: not documented; the sandbox assumes 600 requests/minute per account (scaled by the
  time factor, changeable through ``/_sandbox/gpsinsight/rate-limit``), 429 in the envelope with
  ``Retry-After``.
- Push (sandbox stand-in): the real portal has no driver webhooks; the issue's "signed push
  endpoint" is played here by optional seeded webhooks ``{url, secret, events}`` with events
  ``driver_created``, ``driver_updated``, ``driver_deleted``. Each change made through the API
  POSTs ``{"event", "driver": {...}, "timestamp"}`` with header ``X-GPSInsight-Signature``: the
  hex HMAC-SHA256 of the raw body keyed with the webhook's secret.
- Resources for seed/state: ``drivers`` (keyed by ``driver_id``, integers generated when
  missing) and ``users`` (keyed by ``username``). State also shows ``live_tokens``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from flask import Blueprint, request

from local.sandboxes.framework import (
    IsoClock,
    Record,
    SandboxError,
    VendorSandbox,
    iso,
    utcnow,
)
from local.sandboxes.ratelimit import RateDecision, RateLimitConfig
from local.sandboxes.tokens import TokenStore, token_ttl

DRIVER_FIELDS = (
    "driver_id",
    "ref_id",
    "firstname",
    "lastname",
    "email",
    "phone",
    "license_number",
    "group",
    "driveri_driver_id",
    "updated_at",
)
EDITABLE = frozenset(DRIVER_FIELDS) - {"driver_id", "updated_at"}
USER_FIELDS = ("username", "is_master", "email")
EVENTS = frozenset({"driver_created", "driver_updated", "driver_deleted"})
KEYS = {"drivers": "driver_id", "users": "username"}
SIGNATURE_HEADER = "X-GPSInsight-Signature"
DEFAULT_TOKEN_TTL = 86400.0
AUTH_PARAMS = ("session_token", "username", "password", "app_token")


def signature(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``body`` keyed with ``secret`` (the ``X-GPSInsight-Signature``)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def ok(data: Any) -> dict[str, Any]:
    """The success envelope."""
    return {"head": {"status": "OK", "code": 200}, "data": data}


class GpsInsightSandbox(VendorSandbox):
    """Stateful fake of the GPS Insight portal: session login, drivers and account users."""

    name = "gpsinsight"
    api_root = "/v2"
    resources = ("drivers", "users")
    rate_limit = RateLimitConfig(limit=600, window_seconds=60.0)
    redacted_params = frozenset({"password", "session_token", "app_token"})

    def on_reset(self) -> None:
        """No sessions, a fresh clock and the default Master User."""
        self.tokens = TokenStore(self.time_factor)
        self.clock = IsoClock()
        self.insert(
            "users",
            {
                "username": self.credentials["username"],
                "is_master": True,
                "email": "fleet.admin@sandbox.example",
            },
        )

    def default_credentials(self) -> dict[str, Any]:
        """The default user, password and app token."""
        return {
            "username": "sandbox-gps-user",
            "password": "sandbox-gps-pass",
            "app_token": "sandbox-gps-app-token",
            "token_ttl_seconds": DEFAULT_TOKEN_TTL,
        }

    def prepare_credentials(self, values: dict[str, Any]) -> dict[str, Any]:
        """``username`` and ``password`` required; ``app_token`` optional; a positive TTL."""
        if not all(isinstance(values.get(k), str) for k in ("username", "password")):
            raise SandboxError(400, "credentials need username and password")
        ttl = token_ttl(values, DEFAULT_TOKEN_TTL, lambda message: SandboxError(400, message))
        app_token = values.get("app_token")
        if app_token is not None and not isinstance(app_token, str):
            raise SandboxError(400, "app_token must be a string")
        return {
            "username": values["username"],
            "password": values["password"],
            "app_token": app_token,
            "token_ttl_seconds": ttl,
        }

    def extra_state(self) -> dict[str, Any]:
        """How many session tokens are live."""
        return {"live_tokens": self.tokens.count()}

    # ----- storage: drivers keyed by driver_id, users by username -------------------------------
    def insert(self, resource: str, record: Record) -> Record:
        """Store (or replace) a record under its vendor key, generating a driver id if needed."""
        key = KEYS[resource]
        with self.lock:
            if record.get(key) in (None, ""):
                if resource == "users":
                    raise SandboxError(400, "a user needs a username")
                record[key] = self.new_id(resource)
            elif isinstance(record[key], int) and not isinstance(record[key], bool):
                self._counters[resource] = max(self._counters.get(resource, 1), record[key] + 1)
            self.store[resource][str(record[key])] = record
            return record

    def prepare_seed(self, resource: str, record: Record) -> Record:
        """Missing driver fields are null; ``updated_at`` defaults to now."""
        if resource == "drivers":
            for field in DRIVER_FIELDS:
                record.setdefault(field, None)
            if not record["updated_at"]:
                record["updated_at"] = self.clock.next()
        else:
            record.setdefault("is_master", False)
            record.setdefault("email", None)
        return record

    def render(self, resource: str, record: Record) -> Record:
        """The vendor's fields, in the vendor's order."""
        fields = DRIVER_FIELDS if resource == "drivers" else USER_FIELDS
        return {field: record.get(field) for field in fields}

    # ----- envelope, auth, errors ---------------------------------------------------------------
    def error_body(self, error: SandboxError) -> Any:
        """``{"head": {"status": "ERROR", "code", "error_string"}, "data": null}``."""
        return {
            "head": {"status": "ERROR", "code": error.status, "error_string": error.message},
            "data": None,
        }

    def params(self) -> dict[str, Any]:
        """The query-string parameters: the documented form (a body is refused)."""
        if request.data or request.form:
            raise SandboxError(400, "Parameters go in the query string; no request body")
        return request.args.to_dict()

    def authenticate(self) -> str | None:
        """Login checks the credentials; every other call checks ``session_token``."""
        params = self.params()
        creds = self.credentials
        if request.path.endswith("/userauth/login"):
            username, app_token = params.get("username"), params.get("app_token")
            if app_token is not None:
                valid = creds["app_token"] is not None and hmac.compare_digest(
                    str(app_token), creds["app_token"]
                )
                valid = valid and username in (None, creds["username"])
            else:
                # The account's API user, or any portal user with a seeded password (each
                # portal user logs in with their own credentials, e.g. the Master User).
                password = str(params.get("password", ""))
                user = self.get("users", username) if username else None
                known = creds["password"] if username == creds["username"] else None
                if known is None and user is not None and user.get("password"):
                    known = str(user["password"])
                valid = known is not None and hmac.compare_digest(password, known)
            if not valid:
                raise self.unauthorized("Invalid username, password or app token")
            return str(creds["username"])  # one account, whichever of its users logs in
        token = params.get("session_token")
        if not token:
            raise self.unauthorized("session_token is required")
        account, problem = self.tokens.check(str(token))
        if account is None:
            raise self.unauthorized(
                f"session_token is {'expired' if problem == 'expired' else 'invalid'}"
            )
        return account

    def unauthorized(self, message: str = "Invalid credentials") -> SandboxError:
        """HTTP 401 in the envelope."""
        return SandboxError(401, message)

    def rate_limited_error(self, decision: RateDecision) -> SandboxError:
        """429 in the envelope, with ``Retry-After``."""
        return SandboxError(
            429,
            "Rate limit exceeded",
            headers={"Retry-After": decision.retry_after_header},
        )

    # ----- webhooks (sandbox stand-in for the signed push endpoint) ------------------------------
    def prepare_webhook(self, hook: Record) -> Record:
        """Events must be ``driver_created|driver_updated|driver_deleted`` (or ``*``)."""
        hook = super().prepare_webhook(hook)
        events = hook["events"]
        if not isinstance(events, list) or not set(events) <= EVENTS | {"*"}:
            raise SandboxError(400, f"webhook events must be among {sorted(EVENTS)} or '*'")
        return hook

    def webhook_headers(self, hook: Record, body: bytes) -> dict[str, str]:
        """``X-GPSInsight-Signature``: hex HMAC-SHA256 of the body with the hook's secret."""
        return {SIGNATURE_HEADER: signature(str(hook["secret"]), body)}

    def push(self, event: str, driver: Record) -> None:
        """Send ``{"event", "driver", "timestamp"}`` to the subscribed webhooks."""
        self.emit(
            event,
            {"event": event, "driver": self.render("drivers", driver), "timestamp": iso(utcnow())},
        )

    # ----- routes -------------------------------------------------------------------------------
    def register_routes(self, bp: Blueprint) -> None:
        """Login, drivers and users."""
        bp.add_url_rule("/userauth/login", view_func=self.login, methods=["GET"])
        bp.add_url_rule("/driver/list", view_func=self.list_drivers, methods=["GET"])
        bp.add_url_rule("/driver/create", view_func=self.create_driver, methods=["GET"])
        bp.add_url_rule("/driver/update", view_func=self.update_driver, methods=["GET"])
        bp.add_url_rule("/driver/delete", view_func=self.delete_driver, methods=["GET"])
        bp.add_url_rule("/user/list", view_func=self.list_users, methods=["GET"])

    def login(self) -> dict[str, Any]:
        """``GET /userauth/login``: a new session token (credentials checked by ``authenticate``)."""
        ttl = float(self.credentials["token_ttl_seconds"])
        token = self.tokens.issue(self.account(), ttl)
        return ok({"token": token, "expires": iso(utcnow() + timedelta(seconds=ttl))})

    def list_drivers(self) -> dict[str, Any]:
        """``GET /driver/list``: every driver, oldest first."""
        with self.lock:
            return ok([self.render("drivers", d) for d in self.all("drivers")])

    def list_users(self) -> dict[str, Any]:
        """``GET /user/list``: the account's users with ``is_master``."""
        with self.lock:
            return ok([self.render("users", u) for u in self.all("users")])

    def driver_values(self, params: dict[str, Any]) -> dict[str, Any]:
        """The editable driver fields of a request; unknown fields answer 400."""
        unknown = sorted(set(params) - EDITABLE - {"driver_id", *AUTH_PARAMS})
        if unknown:
            raise SandboxError(400, f"Unknown driver fields: {', '.join(unknown)}")
        for field, value in params.items():
            if field in EDITABLE and value is not None and not isinstance(value, str | int):
                raise SandboxError(400, f"{field} must be a string")
        return {k: v for k, v in params.items() if k in EDITABLE}

    def find_driver(self, params: dict[str, Any]) -> Record:
        """The driver named by ``driver_id`` (400 when missing, 404 when unknown)."""
        driver_id = params.get("driver_id")
        if driver_id in (None, ""):
            raise SandboxError(400, "driver_id is required")
        driver = self.get("drivers", driver_id)
        if driver is None:
            raise SandboxError(404, f"Driver {driver_id} not found")
        return driver

    def create_driver(self) -> dict[str, Any]:
        """``GET /driver/create`` (``firstname`` and ``lastname`` required)."""
        params = self.params()
        values = self.driver_values(params)
        if params.get("driver_id") not in (None, ""):
            raise SandboxError(400, "driver_id is assigned by the portal")
        for field in ("firstname", "lastname"):
            if values.get(field) in (None, ""):
                raise SandboxError(400, f"{field} is required")
        with self.lock:
            driver = {field: values.get(field) for field in DRIVER_FIELDS}
            driver["driver_id"] = self.new_id("drivers")
            driver["updated_at"] = self.clock.next()
            self.insert("drivers", driver)
            self.push("driver_created", driver)
            return ok(self.render("drivers", driver))

    def update_driver(self) -> dict[str, Any]:
        """``GET /driver/update`` by ``driver_id`` (only the fields given change)."""
        params = self.params()
        values = self.driver_values(params)
        with self.lock:
            driver = self.find_driver(params)
            for field in ("firstname", "lastname"):
                if field in values and values[field] in (None, ""):
                    raise SandboxError(400, f"{field} cannot be empty")
            driver.update(values)
            driver["updated_at"] = self.clock.next(after=driver.get("updated_at"))
            self.push("driver_updated", driver)
            return ok(self.render("drivers", driver))

    def delete_driver(self) -> dict[str, Any]:
        """``GET /driver/delete`` by ``driver_id`` (hard delete)."""
        params = self.params()
        with self.lock:
            driver = self.find_driver(params)
            del self.store["drivers"][str(driver["driver_id"])]
            driver["updated_at"] = self.clock.next(after=driver.get("updated_at"))
            self.push("driver_deleted", driver)
            return ok({"driver_id": driver["driver_id"], "deleted": True})
