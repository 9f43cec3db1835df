"""Keycafe API v0 sandbox, mounted at ``/keycafe/v0`` (vendors/keycafe.md).

- Auth: HTTP Basic, username ``<email>/token`` (email case-insensitive), password the API
  token; defaults ``ops@sandbox.example`` / ``sandbox-keycafe-token``.
- Errors: ``{"error": {"errorId", "errorMessage"}, "fieldErrors": [{"field", "message"}]}``.
- Rate limit: 60 requests/minute per account; going over answers 429 and blocks the account for
  one minute (both scaled by the time factor), with ``Retry-After`` in seconds.
- Lists (``/key``, ``/user``, ``/access``) are plain JSON arrays of 50 a page, ``?page=``
  1-based, with an RFC 5988 ``Link`` header (``next``/``prev``) and ``X-Total-Count``.
- ``GET /key?query=`` matches a case-insensitive substring of the name; ``GET /user?query=``
  matches an email exactly (case-insensitive) or a phone by its digits (the last 10 digits when
  both sides have at least 10).
- ``POST /access``: a user given by ``email`` or ``mobile`` that does not exist yet is created as
  a guest user (an assumption). Dates ``YYYY-MM-DD`` are required; times ``HH:mm`` default to
  00:00 and 23:59, ``timeZone`` to UTC. Resources in state: ``keys``, ``users``, ``accesses``
  and ``notifications``: one ``{type, channel, to, message: "notification sent to <to>"}``
  entry per email/SMS Keycafe would send the guest (access created, updated, cancelled) unless
  ``suppressGuestNotifications`` is true.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from typing import Any
from urllib.parse import urlencode

from flask import Response, jsonify, request

from local.sandboxes.framework import (
    IsoClock,
    Record,
    SandboxError,
    VendorSandbox,
    iso,
    utcnow,
)
from local.sandboxes.ratelimit import RateDecision, RateLimitConfig

ERROR_IDS = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    429: "TOO_MANY_REQUESTS",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}


def digits(value: Any) -> str:
    """Only the digits of a phone number."""
    return re.sub(r"\D", "", str(value or ""))


def same_phone(a: Any, b: Any) -> bool:
    """Phones equal after digit normalisation (last 10 digits when both have 10 or more)."""
    da, db = digits(a), digits(b)
    if not da or not db:
        return False
    if len(da) >= 10 and len(db) >= 10:
        return da[-10:] == db[-10:]
    return da == db


def bad_request(message: str, field: str | None = None) -> SandboxError:
    """A 400, with a field error when ``field`` is given."""
    errors = [{"field": field, "message": message}] if field else []
    return SandboxError(400, message, field_errors=errors)


def new_code(sb: KeycafeBase) -> tuple[str, str]:
    """A 6-digit booking code unused by active accesses, and a check-in link."""
    taken = {a.get("bookingCode") for a in sb.all("accesses") if a.get("status") == "ACTIVE"}
    code = f"{secrets.randbelow(10**6):06d}"
    while code in taken:
        code = f"{secrets.randbelow(10**6):06d}"
    return code, f"https://keycafe.com/c/{secrets.token_urlsafe(9)}"


class KeycafeBase(VendorSandbox):
    """Stateful fake of Keycafe: keys, users, accesses (bookings) and guest notifications;
    everything but the routes, which ``KeycafeSandbox`` (``sandbox.py``) adds."""

    name = "keycafe"
    api_root = "/v0"
    resources = ("keys", "users", "accesses", "notifications")
    rate_limit = RateLimitConfig(limit=60, window_seconds=60.0, block_seconds=60.0)
    page_size = 50

    def on_reset(self) -> None:
        """A fresh timestamp source."""
        self.clock = IsoClock()

    def default_credentials(self) -> dict[str, Any]:
        """The default account email and API token."""
        return {"email": "ops@sandbox.example", "token": "sandbox-keycafe-token"}

    def prepare_credentials(self, values: dict[str, Any]) -> dict[str, Any]:
        """Both ``email`` and ``token`` are required strings."""
        if not all(isinstance(values.get(k), str) for k in ("email", "token")):
            raise SandboxError(400, "credentials need email and token")
        return {"email": values["email"], "token": values["token"]}

    def authenticate(self) -> str | None:
        """The account email when ``<email>/token:<token>`` matches."""
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        email, _, suffix = username.rpartition("/")
        expected = self.credentials["email"].lower()
        ok = (
            suffix == "token"
            and email.lower() == expected
            and password == self.credentials["token"]
        )
        return expected if ok else None

    def unauthorized(self, message: str = "Invalid email or API token") -> SandboxError:
        """Keycafe's 401."""
        return SandboxError(401, message)

    def error_body(self, error: SandboxError) -> Any:
        """``{"error": {"errorId", "errorMessage"}, "fieldErrors": [...]}``."""
        return {
            "error": {
                "errorId": ERROR_IDS.get(error.status, "INTERNAL_ERROR"),
                "errorMessage": error.message,
            },
            "fieldErrors": error.field_errors,
        }

    def rate_limited_error(self, decision: RateDecision) -> SandboxError:
        """429 with ``Retry-After`` (the account is blocked for a minute)."""
        return SandboxError(
            429,
            "Rate limit exceeded: the account is blocked for one minute",
            headers={"Retry-After": decision.retry_after_header},
        )

    def prepare_seed(self, resource: str, record: Record) -> Record:
        """Defaults per resource."""
        now = iso(utcnow())
        defaults: dict[str, dict[str, Any]] = {
            "keys": {"name": "", "serialNumber": None, "status": "AVAILABLE"},
            "users": {"email": None, "mobile": None, "firstName": None, "lastName": None},
            "accesses": {
                "status": "ACTIVE",
                "name": None,
                "timeZone": "UTC",
                "accessStartTime": "00:00",
                "accessEndTime": "23:59",
                "returnReminder": False,
                "suppressGuestNotifications": False,
                "createdAt": now,
                "updatedAt": now,
            },
        }
        for key, value in defaults.get(resource, {}).items():
            record.setdefault(key, value)
        if resource == "keys":
            record.setdefault("keycafeLocation", None)
        if resource == "accesses":
            for ref in ("key", "user"):
                if isinstance(record.get(ref), dict):
                    record[ref] = {"id": record[ref].get("id")}
            code, link = new_code(self)
            record.setdefault("bookingCode", code)
            record.setdefault("checkinLink", link)
        return record

    def render(self, resource: str, record: Record) -> Record:
        """Accesses embed their key and user."""
        out = super().render(resource, record)
        if resource == "accesses":
            for ref, plural in (("key", "keys"), ("user", "users")):
                found = self.get(plural, (out.get(ref) or {}).get("id"))
                out[ref] = dict(found) if found else out.get(ref)
        return out

    def paged(self, resource: str, records: list[Record]) -> Response:
        """A page of 50 with ``Link`` and ``X-Total-Count`` headers."""
        raw = request.args.get("page", "1")
        if not raw.isdigit() or int(raw) < 1:
            raise bad_request("page must be a positive integer", "page")
        page = int(raw)
        start = (page - 1) * self.page_size
        response = jsonify(
            [self.render(resource, r) for r in records[start : start + self.page_size]]
        )
        links = []
        if start + self.page_size < len(records):
            links.append(f'<{self.page_url(page + 1)}>; rel="next"')
        if page > 1:
            links.append(f'<{self.page_url(page - 1)}>; rel="prev"')
        if links:
            response.headers["Link"] = ", ".join(links)
        response.headers["X-Total-Count"] = str(len(records))
        return response

    @staticmethod
    def page_url(page: int) -> str:
        """This request's URL with another ``page``."""
        args = request.args.to_dict() | {"page": str(page)}
        return f"{request.base_url}?{urlencode(args)}"

    # ----- key and user views (routed by ``KeycafeSandbox``) --------------------------------------
    def find(self, resource: str, record_id: Any, label: str) -> Record:
        """A stored record or Keycafe's 404."""
        record = self.get(resource, record_id)
        if record is None:
            raise SandboxError(404, f"{label} {record_id} not found")
        return record

    def list_keys(self) -> Response:
        """``GET /key?query=&page=``."""
        query = request.args.get("query", "").strip().lower()
        with self.lock:
            keys = [k for k in self.all("keys") if query in str(k.get("name") or "").lower()]
            return self.paged("keys", keys)

    def get_key(self, record_id: str) -> Record:
        """``GET /key/{id}``."""
        with self.lock:
            return self.render("keys", self.find("keys", record_id, "Key"))

    def list_users(self) -> Response:
        """``GET /user?query=<email or phone>``."""
        query = request.args.get("query", "").strip()
        with self.lock:
            users = self.all("users")
            if query:
                users = [u for u in users if self.user_matches(u, query)]
            return self.paged("users", users)

    @staticmethod
    def user_matches(user: Record, query: str) -> bool:
        """Exact email (case-insensitive) or the same phone digits."""
        if "@" in query:
            return str(user.get("email") or "").lower() == query.lower()
        return same_phone(user.get("mobile"), query)

    def get_user(self, record_id: str) -> Record:
        """``GET /user/{id}``."""
        with self.lock:
            return self.render("users", self.find("users", record_id, "User"))
