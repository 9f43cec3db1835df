"""ServiceTrade API sandbox, mounted at ``/servicetrade/api`` (vendors/servicetrade.md).

- Envelope: every answer is ``{"messages": {"error": [], "warning": [], "info": []}, "data"}``;
  an error answer carries its text in ``messages.error`` and ``data: null``.
- Auth: ``POST /auth {"username", "password"}`` sets the session cookie ``PHPSESSID`` (data
  ``{"authenticated": true, "user": {"username"}}``); every other call needs that cookie. A
  missing, unknown or expired session answers 401. Sessions live ``token_ttl_seconds``
  (credentials, default 86400, an assumption) on the sandbox clock. Defaults:
  ``sandbox-st-user`` / ``sandbox-st-pass``; ``user_id`` (default 1) is the API user's id, the
  ``userId`` of the webhooks its changes cause.
- Paging: ``?page=`` (1-based) and ``?limit=`` (default 100, at most 1000: assumptions) ->
  ``data: {"totalPages", "page", "<items>": [...]}``; records listed by ascending id.
- ``updatedAfter`` (unix seconds) and the window filters are inclusive (the sandbox's choice:
  a poll from the last ``updated`` it saw re-reads that second rather than losing it).
- Rate limit: not documented; the sandbox assumes 600 requests/minute per account (scaled by
  the time factor, changeable through ``/_sandbox/servicetrade/rate-limit``), 429 with
  ``Retry-After``.
- Webhooks (seeded ``{url, events}``, events among ``appointment``, ``job``, ``clock`` or
  ``*``): no signature (the secret is in the URL we register); each change POSTs
  ``{"messageId", "timestamp", "data": [{"action", "timestamp", "userId", "entity": {"type",
  "id", "uri"}, "changeset"}]}``: one delivery per seed or API call, its changes batched;
  ``changeset`` holds the changed fields' new values (every field when created, none when
  deleted; the real format is not documented). Tried 3 times. Whether clock events
  arrive as webhooks is unknown (servicetrade.md): ``settings.clock_webhooks`` (default true).

Seed (``POST /_sandbox/servicetrade/seed``), resources in this order: ``users`` ``{id,
firstName, lastName, name?, email, status?, isTech?}``, ``locations`` ``{id, name, address:
{street, city, state, postalCode}, lat, lon, email, primaryContact: {id, name, email}}``,
``jobs`` ``{id, number, location?}``, ``appointments`` ``{id, status, windowStart, windowEnd,
job, location, techs, released, updated?}`` (``job``/``location`` an id or an object, ``techs``
ids or objects; an object with more than its id is stored in its own resource too),
``clock_events`` ``{id, userId, jobId, appointmentId?, activity, clockIn, clockOut?}`` and
``messages`` (what ``POST /message`` recorded). Seeding an existing id changes that record (the
fields given replace those fields, ``updated`` moves to now when something changed) and fires
the webhooks like a change in ServiceTrade's UI; ``deleted_appointments`` (ids) deletes;
``"silent": true`` seeds without webhooks; ``settings`` ``{"clock_webhooks": bool}``.
"""

from __future__ import annotations

import copy
import hmac
import json
import time
import uuid
from typing import Any

from flask import has_request_context, request

from local.sandboxes.framework import Record, SandboxError, VendorSandbox
from local.sandboxes.ratelimit import RateDecision, RateLimitConfig
from local.sandboxes.servicetrade import records
from local.sandboxes.tokens import TokenStore, token_ttl

REAL_BASE = "https://api.servicetrade.com/api"
COOKIE = "PHPSESSID"
DEFAULT_TOKEN_TTL = 86400.0
ENTITY_TYPES = {"appointments": "appointment", "jobs": "job", "clock_events": "clock"}
WEBHOOK_EVENTS = frozenset(ENTITY_TYPES.values())
DELIVERY_ATTEMPTS = 3  # servicetrade.md: "tried 3 times"
Change = tuple[str, str, Any, Record, Any]  # (action, resource, id, changeset, userId)


def bad_request(message: str) -> SandboxError:
    """A 400 in the envelope."""
    return SandboxError(400, message)


def envelope(data: Any) -> dict[str, Any]:
    """The success envelope."""
    return {"messages": {"error": [], "warning": [], "info": []}, "data": data}


def unix_now() -> int:
    """Now in unix seconds."""
    return int(time.time())


class ServiceTradeBase(VendorSandbox):
    """Stateful fake of ServiceTrade: sessions, users, locations, jobs, appointments, clock
    events, Service Link messages and webhooks; everything but the routes (``routes.py``)."""

    name = "servicetrade"
    api_root = "/api"
    resources = ("users", "locations", "jobs", "appointments", "clock_events", "messages")
    rate_limit = RateLimitConfig(limit=600, window_seconds=60.0)
    redacted_params = frozenset({"password"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.emitter.retries = DELIVERY_ATTEMPTS - 1

    def on_reset(self) -> None:
        """No sessions; clock events arrive as webhooks."""
        self.tokens = TokenStore(self.time_factor)
        self.settings: dict[str, Any] = {"clock_webhooks": True}

    def default_credentials(self) -> dict[str, Any]:
        """The default API user."""
        return {
            "username": "sandbox-st-user",
            "password": "sandbox-st-pass",
            "user_id": 1,
            "token_ttl_seconds": DEFAULT_TOKEN_TTL,
        }

    def prepare_credentials(self, values: dict[str, Any]) -> dict[str, Any]:
        """``username`` and ``password`` required; ``user_id`` and a positive TTL optional."""
        if not all(isinstance(values.get(k), str) for k in ("username", "password")):
            raise bad_request("credentials need username and password")
        return {
            "username": values["username"],
            "password": values["password"],
            "user_id": values.get("user_id", 1),
            "token_ttl_seconds": token_ttl(values, DEFAULT_TOKEN_TTL, bad_request),
        }

    def extra_state(self) -> dict[str, Any]:
        """Settings and the live sessions."""
        return {"settings": dict(self.settings), "live_sessions": self.tokens.count()}

    # ----- envelope, auth, errors ---------------------------------------------------------------
    def error_body(self, error: SandboxError) -> Any:
        """``{"messages": {"error": [message], ...}, "data": null}``."""
        return {"messages": {"error": [error.message], "warning": [], "info": []}, "data": None}

    def authenticate(self) -> str | None:
        """``POST /auth`` checks the body's credentials; every other call the session cookie."""
        if request.path.rstrip("/").endswith(f"{self.api_root}/auth"):
            body = request.get_json(silent=True)
            body = body if isinstance(body, dict) else {}
            valid = body.get("username") == self.credentials["username"] and hmac.compare_digest(
                str(body.get("password", "")), self.credentials["password"]
            )
            if not valid:
                raise self.unauthorized("Invalid username or password")
            return str(self.credentials["username"])
        session = request.cookies.get(COOKIE)
        if not session:
            raise self.unauthorized("Authentication required: no session")
        account, problem = self.tokens.check(session)
        if account is None:
            raise self.unauthorized(f"Session is {problem}: authenticate again")
        return account

    def unauthorized(self, message: str = "Invalid credentials") -> SandboxError:
        """HTTP 401 in the envelope."""
        return SandboxError(401, message)

    def rate_limited_error(self, decision: RateDecision) -> SandboxError:
        """429 in the envelope, with ``Retry-After``."""
        return SandboxError(
            429, "Too many requests", headers={"Retry-After": decision.retry_after_header}
        )

    # ----- records ------------------------------------------------------------------------------
    def uri(self, entity: str, record_id: Any) -> str:
        """The entity's API URI (on this sandbox when serving a request)."""
        base = REAL_BASE
        if has_request_context():
            base = f"{request.host_url.rstrip('/')}/{self.name}{self.api_root}"
        return f"{base}/{entity}/{record_id}"

    def prepare_seed(self, resource: str, record: Record) -> Record:
        """Merge into an existing record with the same id, then the resource's own defaults;
        ``updated`` moves to now when the record changed (unless given)."""
        existing = None
        if record.get("id") not in (None, ""):
            record["id"] = records.int_id(record["id"], f"{resource} id")
            existing = self.get(resource, record["id"])
        given_update = record.get("updated")
        merged = {**copy.deepcopy(existing), **record} if existing else record
        if resource == "users" and {"firstName", "lastName"} & set(record) and "name" not in record:
            merged.pop("name", None)  # derived again from the new first/last name
        prepared = records.prepare(self, resource, merged)
        if resource in ENTITY_TYPES:
            if given_update is not None:
                prepared["updated"] = records.unix(given_update, "updated")
            elif existing is None or records.changed(existing, prepared):
                prepared["updated"] = unix_now()
            prepared.setdefault("created", prepared["updated"])
        return prepared

    def render(self, resource: str, record: Record) -> Record:
        """The vendor's JSON (appointments embed their job, location and techs)."""
        return records.render(self, resource, record)

    def seed(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The framework's seed plus ``settings``, ``deleted_appointments`` and ``silent``; the
        changes to appointments, jobs and clock events fire the webhooks."""
        payload = dict(payload)
        settings = payload.pop("settings", None)
        deleted = payload.pop("deleted_appointments", None)
        silent = payload.pop("silent", False)
        out: dict[str, Any] = {}
        changes: list[Change] = []
        with self.lock:
            if settings is not None:
                out["settings"] = self.apply_settings(settings)
            before = {
                resource: {
                    str(r.get("id")): self.render(resource, found)
                    for r in payload.get(resource) or []
                    if isinstance(r, dict) and (found := self.get(resource, r.get("id")))
                }
                for resource in ENTITY_TYPES
            }
            out |= super().seed(payload)
            actor = self.credentials["user_id"]
            for resource, old in before.items():
                for new in out.get(resource, []):
                    change = records.diff(old.get(str(new["id"])), new)
                    if change is not None:
                        action, changeset = change
                        user = new.get("userId") if resource == "clock_events" else actor
                        changes.append((action, resource, new["id"], changeset, user))
            if deleted is not None:
                if not isinstance(deleted, list):
                    raise bad_request("deleted_appointments must be a list of ids")
                gone = [i for i in deleted if self.store["appointments"].pop(str(i), None)]
                out["deleted_appointments"] = gone
                changes += [("deleted", "appointments", i, {}, actor) for i in gone]
        if not silent:
            self.notify(changes)
        return out

    def apply_settings(self, values: Any) -> dict[str, Any]:
        """``{"clock_webhooks": bool}``."""
        if not isinstance(values, dict) or set(values) - {"clock_webhooks"}:
            raise bad_request("settings accepts only clock_webhooks")
        if not isinstance(values.get("clock_webhooks", True), bool):
            raise bad_request("clock_webhooks must be a boolean")
        self.settings.update(values)
        return dict(self.settings)

    # ----- webhooks -----------------------------------------------------------------------------
    def prepare_webhook(self, hook: Record) -> Record:
        """``{url, events}``: no secret (ServiceTrade signs nothing; the secret is in the URL)."""
        if not isinstance(hook.get("url"), str):
            raise bad_request("a webhook needs a url")
        events = hook.get("events") or ["*"]
        if not isinstance(events, list) or not set(events) <= WEBHOOK_EVENTS | {"*"}:
            raise bad_request(f"webhook events must be among {sorted(WEBHOOK_EVENTS)} or '*'")
        return {**hook, "secret": None, "events": events}

    def notify(self, changes: list[Change]) -> None:
        """One delivery per subscribed webhook with the changes it subscribes to."""
        if not self.settings["clock_webhooks"]:
            changes = [c for c in changes if c[1] != "clock_events"]
        if not changes:
            return
        stamp = unix_now()
        items = [
            {
                "action": action,
                "timestamp": stamp,
                "userId": user,
                "entity": {
                    "type": ENTITY_TYPES[resource],
                    "id": record_id,
                    "uri": self.uri(ENTITY_TYPES[resource], record_id),
                },
                "changeset": changeset,
            }
            for action, resource, record_id, changeset, user in changes
        ]
        with self.lock:
            hooks = list(self.webhooks)
        for hook in hooks:
            chosen = [i for i in items if self.webhook_matches(hook, i["entity"]["type"])]
            if not chosen:
                continue
            body = {"messageId": uuid.uuid4().hex, "timestamp": stamp, "data": chosen}
            event = ",".join(f"{i['entity']['type']}.{i['action']}" for i in chosen)
            raw = json.dumps(body, separators=(",", ":")).encode()
            self.emitter.send(hook["url"], event, raw, {"Content-Type": "application/json"})
