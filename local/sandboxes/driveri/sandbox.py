"""Netradyne Driveri API sandbox, mounted at ``/driveri`` (paths ``/driveri/v1/...``; driveri.md).

- Auth: ``POST /v1/auth/token`` with HTTP Basic ``client_id:client_secret`` ->
  ``{"access_token", "token_type": "Bearer", "expires_in"}`` (the token endpoint answers that
  object bare, as OAuth2 token endpoints do); then ``Authorization: Bearer <token>``. Tokens live
  ``token_ttl_seconds`` (credentials, default 3600) on the sandbox clock (divided by the time
  factor); a missing, unknown or expired token answers 401. Defaults: ``sandbox-driveri-client``
  / ``sandbox-driveri-secret``, tenant ``sandbox-tenant``; a token only works for its tenant
  (another tenant in the path answers 403).
- Envelope: ``{"data": ...}`` on success, ``{"data": null, "error": {"code", "message",
  "field"?}}`` on errors (``code`` e.g. ``BAD_REQUEST``, ``NOT_FOUND``, ``CONFLICT``).
- Drivers per tenant: ``GET /v1/tenants/{tenant}/drivers?showAll=true&page=&size=``: ``page`` is
  0-based (Spring style), ``size`` defaults to 20 (at most 500); without ``showAll=true`` only
  active drivers (``status`` 1) are listed; data ``{"drivers", "page", "size",
  "totalElements", "totalPages"}``. ``GET /v1/tenants/{tenant}/driver?driverId=`` or
  ``?email=`` (case-insensitive) -> one driver or 404. ``POST .../drivers`` (``driverId`` and
  ``firstName`` required -> 400 naming the field; duplicate ``driverId`` -> 409) answers 201.
  ``PUT .../drivers/{driverId}`` is partial; a ``driverId`` in the body renames (409 when taken);
  ``status`` is 1 (active) or 0 (inactive). ``DELETE .../drivers/{driverId}`` is a hard delete by
  default; seed ``{"settings": {"delete_mode": "deactivate"}}`` makes it set ``status`` 0 instead
  (driveri.md leaves this open).
- Rate limit: not published; 10 requests/second per client (driveri.md's assumption), 429 in the
  envelope with ``Retry-After``.
- Resources for seed/state: ``drivers`` (keyed by ``driverId``; generated ``DRV-0001``... when
  missing, ``status`` defaults to 1). State also shows ``settings`` and ``live_tokens``.
- No webhooks: Driveri documents none.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from flask import Blueprint, Response, jsonify, request

from local.sandboxes.framework import Record, SandboxError, first_missing
from local.sandboxes.ratelimit import RateDecision, RateLimitConfig
from local.sandboxes.tokens import ClientCredentialsSandbox, token_ttl

DRIVER_FIELDS = (
    "driverId",
    "firstName",
    "lastName",
    "email",
    "phone",
    "licenseNumber",
    "group",
    "status",
)
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
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 500
DELETE_MODES = ("hard", "deactivate")


def field_error(status: int, message: str, field: str) -> SandboxError:
    """An error naming the offending field."""
    return SandboxError(status, message, field_errors=[{"field": field, "message": message}])


def envelope(data: Any, status: int = 200) -> Response:
    """``{"data": ...}`` with ``status``."""
    response = jsonify(data=data)
    response.status_code = status
    return response


class DriveriSandbox(ClientCredentialsSandbox):
    """Stateful fake of Netradyne Driveri: OAuth-style tokens and per-tenant drivers."""

    name = "driveri"
    api_root = ""
    resources = ("drivers",)
    rate_limit = RateLimitConfig(limit=10, window_seconds=1.0)
    redacted_params = frozenset({"client_secret", "access_token"})
    token_path = "/v1/auth/token"

    def on_reset(self) -> None:
        """No tokens; hard deletes."""
        super().on_reset()
        self.settings: dict[str, Any] = {"delete_mode": "hard"}

    def default_credentials(self) -> dict[str, Any]:
        """The default client, secret and tenant."""
        return {
            "client_id": "sandbox-driveri-client",
            "client_secret": "sandbox-driveri-secret",
            "tenant": "sandbox-tenant",
            "token_ttl_seconds": DEFAULT_TOKEN_TTL,
        }

    def prepare_credentials(self, values: dict[str, Any]) -> dict[str, Any]:
        """``client_id``, ``client_secret`` and ``tenant`` required; a positive TTL."""
        if not all(
            isinstance(values.get(k), str) for k in ("client_id", "client_secret", "tenant")
        ):
            raise SandboxError(400, "credentials need client_id, client_secret and tenant")
        ttl = token_ttl(values, DEFAULT_TOKEN_TTL, lambda message: SandboxError(400, message))
        return {
            "client_id": values["client_id"],
            "client_secret": values["client_secret"],
            "tenant": values["tenant"],
            "token_ttl_seconds": ttl,
        }

    def seed(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The framework's seed, plus ``settings`` (``{"delete_mode": "hard"|"deactivate"}``)."""
        payload = dict(payload)
        settings = payload.pop("settings", None)
        if settings is not None:
            if not isinstance(settings, dict) or set(settings) - {"delete_mode"}:
                raise SandboxError(400, "settings accepts only delete_mode")
            if settings.get("delete_mode", "hard") not in DELETE_MODES:
                raise SandboxError(400, f"delete_mode must be one of {list(DELETE_MODES)}")
        out = super().seed(payload)
        if settings is not None:
            with self.lock:
                self.settings.update(settings)
                out["settings"] = dict(self.settings)
        return out

    def extra_state(self) -> dict[str, Any]:
        """Settings and the number of live tokens."""
        return {"settings": dict(self.settings), "live_tokens": self.tokens.count()}

    # ----- storage: drivers keyed by driverId ---------------------------------------------------
    def new_id(self, resource: str) -> Any:
        """Driver ids look like ``DRV-0001``; unused ones only."""
        with self.lock:
            while True:
                number = super().new_id(resource)
                candidate = f"DRV-{number:04d}" if resource == "drivers" else number
                if resource != "drivers" or str(candidate) not in self.store["drivers"]:
                    return candidate

    def insert(self, resource: str, record: Record) -> Record:
        """Store (or replace) a driver under its ``driverId``."""
        with self.lock:
            if record.get("driverId") in (None, ""):
                record["driverId"] = self.new_id(resource)
            self.store[resource][str(record["driverId"])] = record
            return record

    def prepare_seed(self, resource: str, record: Record) -> Record:
        """Missing fields are null; ``status`` defaults to 1."""
        for field in DRIVER_FIELDS:
            record.setdefault(field, None)
        if record["status"] is None:
            record["status"] = 1
        return record

    def render(self, resource: str, record: Record) -> Record:
        """The driver's fields in the vendor's order."""
        return {field: copy.deepcopy(record.get(field)) for field in DRIVER_FIELDS}

    # ----- envelope, auth, errors ---------------------------------------------------------------
    def error_body(self, error: SandboxError) -> Any:
        """``{"data": null, "error": {"code", "message", "field"?}}``."""
        body: dict[str, Any] = {
            "code": ERROR_CODES.get(error.status, "INTERNAL_ERROR"),
            "message": error.message,
        }
        if error.field_errors:
            body["field"] = error.field_errors[0]["field"]
        return {"data": None, "error": body}

    def unauthorized(self, message: str = "Invalid client credentials") -> SandboxError:
        """HTTP 401 in the envelope."""
        return SandboxError(401, message, code="UNAUTHORIZED")

    def rate_limited_error(self, decision: RateDecision) -> SandboxError:
        """429 in the envelope, with ``Retry-After``."""
        return SandboxError(
            429,
            "Rate limit exceeded",
            code="TOO_MANY_REQUESTS",
            headers={"Retry-After": decision.retry_after_header},
        )

    # ----- routes -------------------------------------------------------------------------------
    def register_routes(self, bp: Blueprint) -> None:
        """Token and drivers."""
        base = "/v1/tenants/<tenant>"
        bp.add_url_rule("/v1/auth/token", view_func=self.token, methods=["POST"])
        bp.add_url_rule(f"{base}/drivers", view_func=self.list_drivers, methods=["GET"])
        bp.add_url_rule(f"{base}/drivers", view_func=self.create_driver, methods=["POST"])
        bp.add_url_rule(f"{base}/driver", view_func=self.get_driver, methods=["GET"])
        bp.add_url_rule(
            f"{base}/drivers/<driver_id>", view_func=self.update_driver, methods=["PUT"]
        )
        bp.add_url_rule(
            f"{base}/drivers/<driver_id>", view_func=self.delete_driver, methods=["DELETE"]
        )

    def token(self) -> dict[str, Any]:
        """``POST /v1/auth/token``: a Bearer token for the client (checked by ``authenticate``)."""
        return self.issue_token()

    def check_tenant(self, tenant: str) -> None:
        """403 unless the path's tenant is the client's."""
        if tenant != self.credentials["tenant"]:
            raise SandboxError(403, f"The client has no access to tenant {tenant}")

    @staticmethod
    def int_arg(name: str, default: int, minimum: int) -> int:
        """A non-negative integer query argument at least ``minimum``, or 400."""
        raw = request.args.get(name)
        if raw in (None, ""):
            return default
        if not raw.isdigit() or int(raw) < minimum:
            raise field_error(400, f"{name} must be an integer >= {minimum}", name)
        return int(raw)

    def list_drivers(self, tenant: str) -> Response:
        """``GET /drivers?showAll=&page=&size=`` (page 0-based)."""
        self.check_tenant(tenant)
        page = self.int_arg("page", 0, 0)
        size = min(self.int_arg("size", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
        show_all = request.args.get("showAll", "false").lower() == "true"
        with self.lock:
            drivers = [d for d in self.all("drivers") if show_all or d.get("status") == 1]
            chunk = drivers[page * size : (page + 1) * size]
            return envelope(
                {
                    "drivers": [self.render("drivers", d) for d in chunk],
                    "page": page,
                    "size": size,
                    "totalElements": len(drivers),
                    "totalPages": math.ceil(len(drivers) / size),
                }
            )

    def get_driver(self, tenant: str) -> Response:
        """``GET /driver?driverId=`` or ``?email=``."""
        self.check_tenant(tenant)
        driver_id, email = request.args.get("driverId"), request.args.get("email")
        with self.lock:
            if driver_id:
                driver = self.get("drivers", driver_id)
            elif email:
                driver = next(
                    (
                        d
                        for d in self.all("drivers")
                        if str(d.get("email") or "").lower() == email.lower()
                    ),
                    None,
                )
            else:
                raise field_error(400, "driverId or email is required", "driverId")
            if driver is None:
                raise SandboxError(404, f"Driver {driver_id or email} not found")
            return envelope(self.render("drivers", driver))

    def validate(self, body: Record) -> None:
        """Known fields, strings where strings go, ``status`` 0 or 1."""
        unknown = sorted(set(body) - set(DRIVER_FIELDS))
        if unknown:
            raise field_error(400, f"Unknown field {unknown[0]}", unknown[0])
        for field, value in body.items():
            if field == "status":
                if value not in (0, 1) or isinstance(value, bool):
                    raise field_error(400, "status must be 1 (active) or 0 (inactive)", field)
            elif value is not None and not isinstance(value, str):
                raise field_error(400, f"{field} must be a string", field)

    def create_driver(self, tenant: str) -> Response:
        """``POST /drivers``: ``driverId`` and ``firstName`` required; 409 on a duplicate."""
        self.check_tenant(tenant)
        body = self.json_body()
        missing = first_missing(body, ("driverId", "firstName"))
        if missing:
            raise field_error(400, f"{missing} is required", missing)
        self.validate(body)
        with self.lock:
            if self.get("drivers", body["driverId"]) is not None:
                raise field_error(409, f"Driver {body['driverId']} already exists", "driverId")
            driver = {field: body.get(field) for field in DRIVER_FIELDS}
            if driver["status"] is None:
                driver["status"] = 1
            self.insert("drivers", driver)
            return envelope(self.render("drivers", driver), 201)

    def find(self, driver_id: str) -> Record:
        """The driver or a 404."""
        driver = self.get("drivers", driver_id)
        if driver is None:
            raise SandboxError(404, f"Driver {driver_id} not found")
        return driver

    def update_driver(self, tenant: str, driver_id: str) -> Response:
        """``PUT /drivers/{driverId}``: partial; a new ``driverId`` renames (409 when taken)."""
        self.check_tenant(tenant)
        body = self.json_body()
        self.validate(body)
        for field in ("driverId", "firstName"):
            if field in body and body[field] in (None, ""):
                raise field_error(400, f"{field} cannot be empty", field)
        with self.lock:
            driver = self.find(driver_id)
            new_id = body.get("driverId", driver_id)
            if new_id != driver_id and self.get("drivers", new_id) is not None:
                raise field_error(409, f"Driver {new_id} already exists", "driverId")
            driver.update(body)
            if new_id != driver_id:  # re-key in place, keeping the list order
                self.store["drivers"] = {
                    (str(new_id) if key == str(driver_id) else key): value
                    for key, value in self.store["drivers"].items()
                }
            return envelope(self.render("drivers", driver))

    def delete_driver(self, tenant: str, driver_id: str) -> Response:
        """``DELETE /drivers/{driverId}``: hard delete, or ``status`` 0 in deactivate mode."""
        self.check_tenant(tenant)
        with self.lock:
            driver = self.find(driver_id)
            if self.settings["delete_mode"] == "deactivate":
                driver["status"] = 0
                return envelope(self.render("drivers", driver))
            del self.store["drivers"][str(driver_id)]
            return envelope({"driverId": driver["driverId"], "deleted": True})
