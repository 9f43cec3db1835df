"""Onfleet API v2 sandbox, mounted at ``/onfleet/api/v2`` (vendors/onfleet.md).

- Auth: HTTP Basic, the API key as username and an empty password; ``base64(key)`` without the
  colon is accepted too. Keys in state ``credentials.api_keys`` (default ``sandbox-onfleet-key``).
- Rate limit: 20 requests/second per API key; every answer carries ``X-RateLimit-Limit`` and
  ``X-RateLimit-Remaining``; a 429 has no ``Retry-After``.
- Errors: ``{"code", "message": {"error", "message", "cause", "request"}}``. 409 (unique name or
  phone) uses code ``Conflict`` / error 1004 (an assumption: Onfleet does not document it).
- Webhooks: ``POST /webhooks`` validates the URL with ``GET <url>?check=<token>`` through
  ``url_checker`` (skipped when a ``webhook_sender`` is injected and no checker is given);
  deliveries are signed with ``X-Onfleet-Signature`` = hex HMAC-SHA512 of the raw body keyed
  with ``credentials.webhook_secret`` hex-decoded (the organization's secret; a seeded webhook
  may carry its own hex ``secret`` instead). Seeded webhooks are ``{url, trigger}`` or
  ``{url, events: [trigger names or ids], secret?}``.
- Addresses are not geocoded: a destination without ``location`` gets a stable pseudo location
  in San Francisco derived from a hash of its address.
- ``POST /tasks/batch`` (at most 100) creates the valid tasks and answers ``{"tasks": [...],
  "errors": [{"index", "code", "message"}]}``; ``POST /tasks/{id}/complete`` completes an
  assigned task (state 3; ``success: false`` fires taskFailed).
- Not modelled: 412 on concurrent container changes, ``considerDependencies`` ordering checks,
  ``/tasks/batch-async``, task ETA/arrival triggers.
- Task, worker, team and container routes live in ``tasks.py`` and ``workers.py``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import string
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from flask import Response, g, request

from local.sandboxes.framework import Record, SandboxError, VendorSandbox, now_ms
from local.sandboxes.ratelimit import RateDecision, RateLimitConfig
from local.sandboxes.webhooks import WebhookSender

UrlChecker = Callable[[str, str], bool]

DEFAULT_API_KEY = "sandbox-onfleet-key"
ID_ALPHABET = string.ascii_letters + string.digits + "~"
TRIGGERS = {
    "taskStarted": 0,
    "taskEta": 1,
    "taskArrival": 2,
    "taskCompleted": 3,
    "taskFailed": 4,
    "workerDuty": 5,
    "taskCreated": 6,
    "taskUpdated": 7,
    "taskDeleted": 8,
    "taskAssigned": 9,
    "taskUnassigned": 10,
    "taskDelayed": 12,
    "taskCloned": 13,
    "workerCreated": 15,
    "workerDeleted": 16,
}
TRIGGER_NAMES = {number: name for name, number in TRIGGERS.items()}
ERRORS = {  # status -> (code, error number)
    400: ("InvalidArgument", 1000),
    401: ("InvalidCredentials", 1102),
    404: ("ResourceNotFound", 1402),
    409: ("Conflict", 1004),
    412: ("PreconditionFailed", 2000),
    429: ("TooManyRequests", 2300),
    503: ("ServiceUnavailable", 2500),
    504: ("GatewayTimeout", 2501),
}


def http_url_checker(url: str, token: str) -> bool:
    """Onfleet's URL validation: ``GET <url>?check=<token>`` must answer 200 with the token."""
    try:
        response = httpx.get(url, params={"check": token}, timeout=5.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.text.strip() == token


def normalize_phone(value: Any) -> str | None:
    """E.164 form of a phone number (10 bare digits are taken as US), or None if invalid."""
    if not isinstance(value, str):
        return None
    digits = re.sub(r"\D", "", value)
    if value.strip().startswith("+"):
        return f"+{digits}" if 8 <= len(digits) <= 15 else None
    if len(digits) == 10:
        return f"+1{digits}"
    if len(digits) == 11 and digits.startswith("1"):
        return f"+{digits}"
    return None


def invalid(message: str, cause: str | None = None) -> SandboxError:
    """A 400 ``InvalidArgument``."""
    return SandboxError(400, message, code="InvalidArgument", cause=cause)


class OnfleetBase(VendorSandbox):
    """Stateful fake of Onfleet: tasks, workers, teams, containers, webhooks; everything but the
    seeding of linked records and the routes, which ``OnfleetSandbox`` (``sandbox.py``) adds."""

    name = "onfleet"
    api_root = "/api/v2"
    resources = ("teams", "workers", "destinations", "recipients", "tasks")
    rate_limit = RateLimitConfig(limit=20, window_seconds=1.0)
    page_size = 64

    def __init__(
        self,
        time_factor: float = 1.0,
        webhook_sender: WebhookSender | None = None,
        url_checker: UrlChecker | None = None,
    ) -> None:
        self.default_webhook_secret = secrets.token_hex(32)
        if url_checker is None:
            url_checker = (lambda url, token: True) if webhook_sender else http_url_checker
        self.url_checker = url_checker
        self.organization: Record = {}
        super().__init__(time_factor, webhook_sender)

    # ----- framework hooks ----------------------------------------------------------------------
    def on_reset(self) -> None:
        """A fresh organization (ids change on every reset)."""
        ts = now_ms()
        self.organization = {
            "id": self.new_id("organizations"),
            "name": "Sandbox Organization",
            "email": "dispatch@sandbox.example",
            "timezone": "America/Los_Angeles",
            "country": "US",
            "timeCreated": ts,
            "timeLastModified": ts,
        }
        self.admin_id = self.new_id("admins")

    def default_credentials(self) -> dict[str, Any]:
        """The default key and a webhook secret generated once per sandbox."""
        return {"api_keys": [DEFAULT_API_KEY], "webhook_secret": self.default_webhook_secret}

    def prepare_credentials(self, values: dict[str, Any]) -> dict[str, Any]:
        """Accept ``api_keys`` (or one ``api_key``); keep the webhook secret unless given."""
        keys = values.get("api_keys", [values["api_key"]] if "api_key" in values else [])
        if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
            raise invalid("credentials.api_keys must be a list of strings")
        secret = values.get("webhook_secret") or self.credentials.get(
            "webhook_secret", self.default_webhook_secret
        )
        try:
            bytes.fromhex(secret)
        except (TypeError, ValueError):
            raise invalid("credentials.webhook_secret must be a hex string") from None
        return {"api_keys": keys, "webhook_secret": secret}

    def new_id(self, resource: str) -> str:
        """Onfleet-style 24-character ids."""
        return "".join(secrets.choice(ID_ALPHABET) for _ in range(24))

    def authenticate(self) -> str | None:
        """The API key from Basic auth (``key:`` or bare ``key``)."""
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        key = decoded.split(":", 1)[0]
        return key if key in self.credentials.get("api_keys", []) else None

    def unauthorized(self, message: str = "The API key provided is invalid.") -> SandboxError:
        """Onfleet's 401."""
        return SandboxError(401, message, cause="This key does not exist or is no longer active.")

    def error_body(self, error: SandboxError) -> Any:
        """``{"code", "message": {"error", "message", "cause", "request"}}``."""
        code, number = ERRORS.get(error.status, ("InternalServerError", 2500))
        return {
            "code": code,
            "message": {
                "error": number,
                "message": error.message,
                "cause": error.cause or error.message,
                "request": str(uuid.uuid4()),
            },
        }

    def rate_limited_error(self, decision: RateDecision) -> SandboxError:
        """429 with the rate-limit headers and no ``Retry-After``."""
        return SandboxError(
            429,
            "You have exceeded the rate limit.",
            headers={"X-RateLimit-Limit": str(decision.limit), "X-RateLimit-Remaining": "0"},
        )

    def decorate(self, response: Response) -> None:
        """``X-RateLimit-Limit`` and ``X-RateLimit-Remaining`` on every answer."""
        account = g.get("sandbox_account")
        remaining = self.limiter.peek(account) if account else self.limiter.config.limit
        response.headers.setdefault("X-RateLimit-Limit", str(self.limiter.config.limit))
        response.headers.setdefault("X-RateLimit-Remaining", str(remaining))

    def extra_state(self) -> dict[str, Any]:
        """The organization, and each webhook's signing secret."""
        return {
            "organization": dict(self.organization),
            "webhooks": [{**hook, "secret": self.hook_secret(hook)} for hook in self.webhooks],
        }

    def hook_secret(self, hook: Record) -> str:
        """The hex secret signing ``hook``: its own when seeded with one, else the org's."""
        return hook.get("secret") or self.credentials["webhook_secret"]

    def prepare_webhook(self, hook: Record) -> Record:
        """Seeded ``{url, trigger}`` or ``{url, events: [names or ids]}``."""
        if not isinstance(hook.get("url"), str):
            raise invalid("a webhook needs a url")
        events = hook.get("events")
        if events is None:
            events = [hook.get("trigger")]
        if not isinstance(events, list) or not events:
            raise invalid("a webhook needs a trigger or events")
        names = [self.trigger_name(e) for e in events]
        if hook.get("secret") is not None:
            try:
                bytes.fromhex(hook["secret"])
            except (TypeError, ValueError):
                raise invalid("a webhook secret must be a hex string") from None
        hook.update(events=names, trigger=TRIGGERS[names[0]])
        hook.setdefault("threshold", None)
        hook.setdefault("isEnabled", True)
        hook.setdefault("count", 0)
        hook.setdefault("name", None)
        return hook

    @staticmethod
    def trigger_name(value: Any) -> str:
        """The trigger name for a trigger id or name (400 if unknown)."""
        if isinstance(value, str) and value in TRIGGERS:
            return value
        if isinstance(value, int) and value in TRIGGER_NAMES:
            return TRIGGER_NAMES[value]
        raise invalid(f"unknown webhook trigger {value!r}")

    def webhook_headers(self, hook: Record, body: bytes) -> dict[str, str]:
        """``X-Onfleet-Signature``: HMAC-SHA512 keyed with the hex-decoded secret."""
        key = bytes.fromhex(self.hook_secret(hook))
        return {"X-Onfleet-Signature": hmac.new(key, body, hashlib.sha512).hexdigest()}

    def emit_trigger(
        self, trigger: str, *, task: Record | None = None, worker: Record | None = None
    ) -> None:
        """Send an Onfleet webhook payload for ``trigger`` about a task or a worker."""
        with self.lock:
            for hook in self.webhooks:
                if self.webhook_matches(hook, trigger):
                    hook["count"] += 1
            data = {"task": self.render("tasks", task)} if task else {}
            if worker:
                data["worker"] = self.render("workers", worker)
        payload = {
            "actionContext": {"type": "API", "id": self.admin_id},
            "adminId": self.admin_id,
            "taskId": task["id"] if task else None,
            "workerId": (task or {}).get("worker") or (worker or {}).get("id"),
            "time": now_ms(),
            "triggerId": TRIGGERS[trigger],
            "triggerName": trigger,
            "data": data,
        }
        self.emit(trigger, payload)

    def render(self, resource: str, record: Record) -> Record:
        """Teams list their unassigned tasks."""
        out = super().render(resource, record)
        if resource == "teams":
            out["tasks"] = [
                t["id"]
                for t in self.all("tasks")
                if t["state"] == 0 and (t.get("container") or {}).get("team") == record["id"]
            ]
        return out

    # ----- assignment helpers shared by tasks and containers ------------------------------------
    def org_container(self) -> Record:
        """The organization container reference."""
        return {"type": "ORGANIZATION", "organization": self.organization["id"]}

    def assign(self, task: Record, worker_id: str) -> bool:
        """Put ``task`` in ``worker_id``'s container; True if the worker changed."""
        previous = task.get("worker")
        if previous and previous != worker_id:
            self.detach(task)
        worker = self.require("workers", worker_id)
        task.update(worker=worker_id, container={"type": "WORKER", "worker": worker_id})
        if task["state"] == 0:
            task["state"] = 1
        if task["id"] not in worker["tasks"]:
            worker["tasks"].append(task["id"])
        return previous != worker_id

    def detach(self, task: Record) -> None:
        """Remove ``task`` from its worker's task list (the task keeps its fields)."""
        worker = self.get("workers", task.get("worker"))
        if worker is not None:
            worker["tasks"] = [t for t in worker["tasks"] if t != task["id"]]
            if worker.get("activeTask") == task["id"]:
                worker["activeTask"] = None

    def unassign(self, task: Record, container: Record | None = None) -> None:
        """Back to unassigned in ``container`` (default: the organization)."""
        self.detach(task)
        task.update(worker=None, state=0, container=container or self.org_container())
        task["timeLastModified"] = now_ms()

    # ----- auth test and webhook views (routed by ``OnfleetSandbox``) ----------------------------
    def auth_test(self) -> Record:
        """``GET /auth/test``."""
        return {
            "message": f"Hello organization '{self.organization['id']}' "
            "You have been successfully authenticated!"
        }

    @staticmethod
    def public_webhook(hook: Record) -> Record:
        """A webhook as Onfleet's API shows it."""
        keys = ("id", "name", "url", "trigger", "threshold", "isEnabled", "count")
        return {key: hook.get(key) for key in keys}

    def list_webhooks(self) -> list[Record]:
        """``GET /webhooks``."""
        with self.lock:
            return [self.public_webhook(h) for h in self.webhooks]

    def create_webhook(self) -> Record:
        """``POST /webhooks {url, trigger, threshold?, name?}`` with URL validation."""
        body = self.json_body()
        url, trigger = body.get("url"), body.get("trigger")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise invalid("url must be an http(s) URL")
        if not isinstance(trigger, int) or trigger not in TRIGGER_NAMES:
            raise invalid("trigger must be a known trigger id")
        with self.lock:
            if any(h["url"] == url and h["trigger"] == trigger for h in self.webhooks):
                raise SandboxError(409, "A webhook with this url and trigger already exists")
        token = secrets.token_hex(16)
        if not self.url_checker(url, token):
            raise SandboxError(
                400, "The webhook URL provided did not pass our validation test.", cause=url
            )
        hook = self.add_webhook(
            {"url": url, "trigger": trigger, "threshold": body.get("threshold")}
            | ({"name": body["name"]} if "name" in body else {})
        )
        return self.public_webhook(hook)

    def delete_webhook(self, hook_id: str) -> Response:
        """``DELETE /webhooks/{id}``."""
        with self.lock:
            if not any(h["id"] == hook_id for h in self.webhooks):
                raise SandboxError(404, f"webhook {hook_id} not found")
            self.webhooks = [h for h in self.webhooks if h["id"] != hook_id]
        return Response(status=200)
