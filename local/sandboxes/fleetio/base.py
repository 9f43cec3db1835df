"""Fleetio sandbox, mounted at ``/fleetio/api`` (vendors/fleetio.md).

- Auth: ``Authorization: Token <api key>`` plus ``Account-Token: <account token>``; defaults
  ``sandbox-fleetio-key`` / ``sandbox-fleetio-account``. ``X-Api-Version`` defaults to
  ``2024-06-30``.
- Paging: versions from 2024-01-01 page by cursor (``per_page`` 2..100, default 50,
  ``start_cursor``) and answer ``{start_cursor, next_cursor, per_page,
  estimated_remaining_count, filtered_by, sorted_by, records}``; older versions page by
  ``page``/``per_page`` (1..100, default 100) with ``X-Pagination-*`` headers and a plain array.
  Records are listed by ascending id. Filters: ``filter[<field>][eq|like|in]=<value>``
  (``like`` is a case-insensitive substring match) on the fields a record shows, including an
  assignment's ``current`` and ``future`` (``filter[current][eq]=true``).
- Errors: ``{"error": "..."}`` (401, 404, 429, 503, 504); 422 ``{"errors": {field: [msg]}}``.
- Rate limit: Fleetio does not document one; the sandbox uses **3000 requests per 300 seconds
  per account token** (``FleetioSandbox.rate_limit``; change it at run time with
  ``POST /_sandbox/fleetio/rate-limit``). Over it: 429 with ``Retry-After`` in seconds.
- Webhooks: seeded ``{url, secret, events}``; events ``vehicle_assignment_created``,
  ``_updated`` (PATCH and unassign) and ``_deleted``; body ``{id, event, timestamp,
  triggered_by, payload}``, header ``X-Fleetio-Webhook-Signature`` = hex HMAC-SHA256 of the
  raw body keyed with the webhook's secret. ``triggered_by`` is ``{"type": "api", "name":
  "Sandbox API"}`` (the real value is not documented).
- A deleted assignment answers 404 afterwards.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Response, jsonify, request

from local.sandboxes.framework import (
    IsoClock,
    Record,
    SandboxError,
    VendorSandbox,
    iso,
    parse_iso,
    utcnow,
)
from local.sandboxes.ratelimit import RateLimitConfig

DEFAULT_VERSION = "2024-06-30"
CURSOR_VERSION = date(2024, 1, 1)
ASSIGNMENT_EVENTS = (
    "vehicle_assignment_created",
    "vehicle_assignment_updated",
    "vehicle_assignment_deleted",
)
FILTER_ARG = re.compile(r"^filter\[(\w+)\]\[(\w+)\]$")


def unprocessable(field: str, message: str) -> SandboxError:
    """A 422 for one field."""
    return SandboxError(422, message, field_errors=[{"field": field, "message": message}])


def id_key(record: Record) -> tuple[int, Any]:
    """Sort integer ids numerically, anything else after them as text."""
    value = record["id"]
    return (0, value) if isinstance(value, int) else (1, str(value))


class FleetioBase(VendorSandbox):
    """Stateful fake of Fleetio: vehicles, contacts, vehicle assignments, webhooks; everything but
    the routes, which ``FleetioSandbox`` (``sandbox.py``) adds from this package's modules."""

    name = "fleetio"
    api_root = "/api"
    resources = ("vehicles", "contacts", "vehicle_assignments")
    rate_limit = RateLimitConfig(limit=3000, window_seconds=300.0)

    def on_reset(self) -> None:
        """A fresh timestamp source."""
        self.clock = IsoClock()

    # ----- framework hooks ----------------------------------------------------------------------
    def default_credentials(self) -> dict[str, Any]:
        """The default API key and account token."""
        return {"api_key": "sandbox-fleetio-key", "account_token": "sandbox-fleetio-account"}

    def prepare_credentials(self, values: dict[str, Any]) -> dict[str, Any]:
        """Both ``api_key`` and ``account_token`` are required strings."""
        if not all(isinstance(values.get(k), str) for k in ("api_key", "account_token")):
            raise SandboxError(400, "credentials need api_key and account_token")
        return {"api_key": values["api_key"], "account_token": values["account_token"]}

    def authenticate(self) -> str | None:
        """The account token when both headers match."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        account = request.headers.get("Account-Token", "")
        ok = (
            scheme == "Token"
            and token.strip() == self.credentials["api_key"]
            and account == self.credentials["account_token"]
        )
        return account if ok else None

    def unauthorized(self, message: str = "") -> SandboxError:
        """Fleetio's 401."""
        return SandboxError(401, message or "You are not authorized to perform this action.")

    def error_body(self, error: SandboxError) -> Any:
        """``{"errors": {field: [messages]}}`` for 422, ``{"error": message}`` otherwise."""
        if error.status == 422:
            errors: dict[str, list[str]] = {}
            for item in error.field_errors or [{"field": "base", "message": error.message}]:
                errors.setdefault(item["field"], []).append(item["message"])
            return {"errors": errors}
        return {"error": error.message}

    def prepare_webhook(self, hook: Record) -> Record:
        """``{url, secret, events}``; events default to the three assignment events."""
        hook = super().prepare_webhook(hook)
        if hook["events"] == ["*"]:
            hook["events"] = list(ASSIGNMENT_EVENTS)
        return hook

    def webhook_headers(self, hook: Record, body: bytes) -> dict[str, str]:
        """``X-Fleetio-Webhook-Signature``: hex HMAC-SHA256 keyed with the webhook secret."""
        signature = hmac.new(str(hook["secret"]).encode(), body, hashlib.sha256).hexdigest()
        return {"X-Fleetio-Webhook-Signature": signature}

    def prepare_seed(self, resource: str, record: Record) -> Record:
        """Timestamps (wall clock) and defaults per resource."""
        now = iso(utcnow())
        record.setdefault("created_at", now)
        record.setdefault("updated_at", now)
        if resource == "vehicles":
            for key in ("vin", "license_plate", "make", "model", "year", "group_name"):
                record.setdefault(key, None)
            record.setdefault("vehicle_status_name", "Active")
            record.setdefault("archived_at", None)
        elif resource == "contacts":
            record.setdefault("first_name", None)
            record.setdefault("last_name", None)
            full = " ".join(p for p in (record["first_name"], record["last_name"]) if p)
            record.setdefault("name", full or None)
            record.setdefault("email", None)
            record.setdefault("mobile_phone_number", None)
            record.setdefault("employee", True)
        else:
            record.setdefault("started_at", record["created_at"])
            record.setdefault("ended_at", None)
            record.setdefault("comments", None)
            record.setdefault("custom_fields", {})
        return record

    def render(self, resource: str, record: Record) -> Record:
        """Assignments get ``current``/``future`` and contact/vehicle summaries."""
        out = super().render(resource, record)
        if resource != "vehicle_assignments":
            return out
        now = utcnow()
        started, ended = parse_iso(out.get("started_at")), parse_iso(out.get("ended_at"))
        out["future"] = bool(started and started > now)
        out["current"] = (started is None or started <= now) and (ended is None or ended > now)
        contact = self.get("contacts", out.get("contact_id"))
        vehicle = self.get("vehicles", out.get("vehicle_id"))
        out["contact"] = (
            {k: contact.get(k) for k in ("id", "name", "email", "mobile_phone_number")}
            if contact
            else None
        )
        out["vehicle"] = {"id": vehicle["id"], "name": vehicle.get("name")} if vehicle else None
        return out

    # ----- listing ------------------------------------------------------------------------------
    def api_version(self) -> date:
        """The request's ``X-Api-Version`` (default 2024-06-30)."""
        value = request.headers.get("X-Api-Version") or DEFAULT_VERSION
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise unprocessable("X-Api-Version", f"{value!r} is not a valid version") from None

    def field_text(self, resource: str, record: Record, field: str) -> str:
        """A field as a filter compares it: the rendered record's (so ``current``/``future`` of
        assignments filter too), booleans as ``true``/``false``."""
        value = record.get(field) if field in record else self.render(resource, record).get(field)
        return str(value).lower() if isinstance(value, bool) else str(value)

    def filtered(self, resource: str) -> tuple[list[Record], list[Record]]:
        """Records matching the request's ``filter[field][op]`` arguments, by id."""
        records = sorted(self.all(resource), key=id_key)
        applied = []
        for arg, value in request.args.items():
            match = FILTER_ARG.match(arg)
            if not match:
                continue
            field, op = match.groups()
            if op not in ("eq", "like", "in"):
                raise unprocessable(arg, f"unsupported filter operator {op}")
            applied.append({field: {op: value}})
            wanted = value.lower()
            choices = set(value.split(","))
            records = [
                r
                for r in records
                if (op == "eq" and self.field_text(resource, r, field) == value)
                or (op == "like" and wanted in str(r.get(field) or "").lower())
                or (op == "in" and self.field_text(resource, r, field) in choices)
            ]
        return records, applied

    def listing(self, resource: str) -> Response:
        """One page of a resource in the paging style of the request's API version."""
        version = self.api_version()
        with self.lock:
            records, applied = self.filtered(resource)
            rendered = [self.render(resource, r) for r in records]
        if version < CURSOR_VERSION:
            return self.page_listing(rendered)
        per_page = self.int_arg("per_page", 50, 2, 100)
        start = request.args.get("start_cursor") or None
        offset = 0
        if start:
            try:
                after = json.loads(base64.urlsafe_b64decode(start.encode()))["after"]
            except (binascii.Error, ValueError, KeyError, TypeError):
                raise unprocessable("start_cursor", "is invalid") from None
            offset = sum(1 for r in rendered if id_key(r) <= id_key({"id": after}))
        page = rendered[offset : offset + per_page]
        remaining = max(0, len(rendered) - offset - len(page))
        next_cursor = None
        if remaining:
            raw = json.dumps({"after": page[-1]["id"]}).encode()
            next_cursor = base64.urlsafe_b64encode(raw).decode()
        return jsonify(
            start_cursor=start,
            next_cursor=next_cursor,
            per_page=per_page,
            estimated_remaining_count=remaining,
            filtered_by=applied,
            sorted_by=[{"id": "asc"}],
            records=page,
        )

    def page_listing(self, rendered: list[Record]) -> Response:
        """Legacy paging: a plain array with ``X-Pagination-*`` headers."""
        per_page = self.int_arg("per_page", 100, 1, 100)
        page = self.int_arg("page", 1, 1, None)
        total_pages = max(1, -(-len(rendered) // per_page))
        response = jsonify(rendered[(page - 1) * per_page : page * per_page])
        response.headers.update(
            {
                "X-Pagination-Current-Page": str(page),
                "X-Pagination-Total-Pages": str(total_pages),
                "X-Pagination-Total-Count": str(len(rendered)),
                "X-Pagination-Per-Page": str(per_page),
            }
        )
        return response

    @staticmethod
    def int_arg(name: str, default: int, low: int, high: int | None) -> int:
        """An integer query argument within bounds, or 422."""
        raw = request.args.get(name)
        try:
            value = default if raw in (None, "") else int(raw)
        except ValueError:
            raise unprocessable(name, "must be an integer") from None
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high else f"at least {low}"
            raise unprocessable(name, f"must be {bounds}")
        return value

    # ----- helpers for routes -------------------------------------------------------------------
    def one(self, resource: str) -> Callable[[str], Record]:
        """A view answering one record of ``resource`` by id."""

        def view(record_id: str) -> Record:
            with self.lock:
                record = self.get(resource, record_id)
                if record is None:
                    raise SandboxError(404, "Record not found")
                return self.render(resource, record)

        view.__name__ = f"get_{resource}"
        return view

    def emit_assignment(self, event: str, record: Record) -> None:
        """Send a Fleetio webhook about a vehicle assignment."""
        payload = {
            "id": str(uuid.uuid4()),
            "event": event,
            "timestamp": iso(utcnow()),
            "triggered_by": {"type": "api", "name": "Sandbox API"},
            "payload": record,
        }
        self.emit(event, payload)
