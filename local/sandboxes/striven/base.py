"""Striven API sandbox, mounted at ``/striven`` (paths ``/striven/v2/...``; vendors/striven.md).

- Auth: ``POST /accesstoken`` with HTTP Basic ``ClientID:ClientSecret`` and the form
  ``grant_type=client_credentials`` -> ``{"access_token", "token_type": "bearer", "expires_in"}``;
  then ``Authorization: Bearer <token>``. Tokens live ``token_ttl_seconds`` (credentials, default
  86400) on the sandbox clock (divided by the time factor); a missing, unknown or expired token
  answers 401. Defaults: ``sandbox-striven-client`` / ``sandbox-striven-secret``.
- Errors (striven.md leaves the shape open): ``{"code", "message"}``, e.g. ``Unauthorized``,
  ``BadRequest``, ``NotFound``, ``RateLimitExceeded``, ``DailyQuotaExceeded``.
- Rate limits per tenant (client id): a minute quota (the framework limiter: Standard 100/min,
  scaled by the time factor, changeable through ``/_sandbox/striven/rate-limit``) and a day
  quota (5,000/day, also scaled). Over the minute quota -> 429 ``RateLimitExceeded`` with
  ``Retry-After: 60`` (vendor seconds, i.e. ``ceil(60 / time_factor)``) and
  ``X-RateLimit-Scope: minute``; day quota used up -> 429 ``DailyQuotaExceeded`` with
  ``X-RateLimit-Scope: day`` and ``Retry-After`` = seconds until the day window has room. Once
  the day is used up every call answers the day error, even when the minute is full too.
- Tasks: ``POST /v2/tasks/search`` with ``PageIndex`` (0-based), ``PageSize`` (1..1000, default
  100), ``TypeIDs``, ``StatusIDs``, ``AssignedToIDs``, ``CustomerID``, ``DateCreatedRange`` and
  ``LastUpdatedDateRange`` (``{"DateFrom", "DateTo"}``, both inclusive; keys are matched
  case-insensitively as ASP.NET does) -> ``{"totalCount", "data"}`` sorted by id.
  ``GET /v2/tasks/{id}`` -> the task. Employees: ``GET /v1/employees?PageIndex=&PageSize=`` ->
  ``{"totalCount", "data"}``; ``GET /v1/employees/{id}``. ``GET /v1/task-types`` ->
  ``{"totalCount", "data": [{id, name}]}``.
- Teams (sandbox only: the real API has none, striven.md): ``GET /v1/teams`` ->
  ``[{"id", "name", "memberIds"}]``, the "endpoint" source of the client's team adapter.
- Dates are the tenant's local time without offset (``2024-05-01T09:00:00``), in
  ``settings.time_zone``. ``lastUpdatedDate`` moves forward (milliseconds, strictly increasing)
  whenever a task is seeded or changed.

Seed (``POST /_sandbox/striven/seed``), resources in this order: ``task_types`` ``{id, name}``,
``employees`` ``{id, firstName, lastName, name?, email, phones: [{phoneType, number,
isPreferred?, active?}], active?}`` (``phoneType`` may be a name or id of Mobile 1, Work 2, Home
3, Fax 4, Other 5), ``teams`` ``{id, name, memberIds}``, ``tasks`` ``{id, title, description,
status, type, customer, assignedTo | assignments, startDate, dueDate, dateCreated, location}``.
``status`` may be a name or id of Open 1, In Progress 2, On Hold 3, Completed 4, Canceled 5;
``type`` a task type id; ``assignedTo`` employee ids or ``{id, name}``; ``customer`` ``{id,
name, phone?}``, an id or null; ``location`` ``{id, name, address: {address1, address2, city,
state, postalCode, country}, latitude?, longitude?}``; ``deleted_tasks`` (ids) deletes tasks.
Seeding an existing id changes that
record (the fields given replace those fields): that is how tests edit or cancel a task, e.g.
``{"tasks": [{"id": 7, "status": "Canceled"}]}``; its ``lastUpdatedDate`` moves to now unless
given. ``settings``: ``{"plan": "standard"|"enterprise", "per_minute", "per_day",
"time_zone", "assignee_field": "assignedTo"|"assignments"}`` (the plan sets both quotas,
explicit numbers win; a quota change forgets the counts). State shows ``settings``,
``live_tokens`` and the default client's remaining ``quota``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import g

from local.sandboxes.framework import (
    IsoClock,
    Record,
    SandboxError,
    parse_iso,
    parse_iso_as_given,
)
from local.sandboxes.ratelimit import RateDecision, RateLimitConfig, RateLimiter
from local.sandboxes.tokens import ClientCredentialsSandbox, token_ttl

STATUSES = {1: "Open", 2: "In Progress", 3: "On Hold", 4: "Completed", 5: "Canceled"}
PHONE_TYPES = {1: "Mobile", 2: "Work", 3: "Home", 4: "Fax", 5: "Other"}
PLANS = {"standard": (100, 5000), "enterprise": (500, 25000)}
TASK_FIELDS = (
    "id",
    "title",
    "description",
    "status",
    "type",
    "customer",
    "assignedTo",
    "startDate",
    "dueDate",
    "dateCreated",
    "lastUpdatedDate",
    "location",
)
EMPLOYEE_FIELDS = ("id", "name", "firstName", "lastName", "email", "phones", "active")
ERROR_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    404: "NotFound",
    405: "MethodNotAllowed",
    429: "RateLimitExceeded",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
DEFAULT_TOKEN_TTL = 86400.0
DAY_SECONDS = 86400.0
MINUTE_RETRY_AFTER = 60.0  # striven.md: "429 with Retry-After: 60"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
SETTINGS_KEYS = frozenset({"plan", "per_minute", "per_day", "time_zone", "assignee_field"})


def bad_request(message: str) -> SandboxError:
    """A 400 ``BadRequest``."""
    return SandboxError(400, message, code="BadRequest")


def int_id(value: Any, what: str) -> int:
    """An integer id (digit strings accepted), or 400."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise bad_request(f"{what} must be an integer id")


def lookup(value: Any, table: Mapping[int, str | None], what: str) -> Record:
    """``{"id", "name"}`` from an id, a name (case-insensitive) or an object; 400 if unknown."""
    if isinstance(value, dict):
        ref_id = int_id(value.get("id"), f"{what}.id")
        return {"id": ref_id, "name": value.get("name") or table.get(ref_id)}
    if isinstance(value, str) and not value.strip().isdigit():
        for ref_id, name in table.items():
            if name and name.casefold() == value.strip().casefold():
                return {"id": ref_id, "name": name}
        raise bad_request(f"unknown {what} {value!r}")
    ref_id = int_id(value, what)
    return {"id": ref_id, "name": table.get(ref_id)}


class StrivenBase(ClientCredentialsSandbox):
    """Stateful fake of Striven: client-credential tokens, tasks, employees, task types, teams;
    everything but the routes, which ``StrivenSandbox`` (``sandbox.py``) adds."""

    name = "striven"
    api_root = ""
    resources = ("task_types", "employees", "teams", "tasks")
    rate_limit = RateLimitConfig(limit=100, window_seconds=60.0)
    redacted_params = frozenset({"client_secret", "access_token"})
    token_path = "/accesstoken"
    token_type = "bearer"

    def on_reset(self) -> None:
        """No tokens, Standard quotas, Central time, ``assignedTo`` spelling."""
        super().on_reset()
        self.clock = IsoClock()
        self.settings: dict[str, Any] = {
            "plan": "standard",
            "time_zone": "America/Chicago",
            "assignee_field": "assignedTo",
        }
        self.zone = ZoneInfo(self.settings["time_zone"])
        per_day = PLANS["standard"][1]
        self.day_limiter = RateLimiter(RateLimitConfig(per_day, DAY_SECONDS), self.time_factor)

    def default_credentials(self) -> dict[str, Any]:
        """The default client id and secret."""
        return {
            "client_id": "sandbox-striven-client",
            "client_secret": "sandbox-striven-secret",
            "token_ttl_seconds": DEFAULT_TOKEN_TTL,
        }

    def prepare_credentials(self, values: dict[str, Any]) -> dict[str, Any]:
        """``client_id`` and ``client_secret`` required; a positive TTL."""
        if not all(isinstance(values.get(k), str) for k in ("client_id", "client_secret")):
            raise bad_request("credentials need client_id and client_secret")
        return {
            "client_id": values["client_id"],
            "client_secret": values["client_secret"],
            "token_ttl_seconds": token_ttl(values, DEFAULT_TOKEN_TTL, bad_request),
        }

    # ----- settings and quotas ------------------------------------------------------------------
    def seed(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The framework's seed, plus ``settings`` (applied first: dates use its time zone) and
        ``deleted_tasks`` (ids, applied last): tasks deleted as a Striven user can (the API then
        answers 404 for them and the search no longer returns them)."""
        payload = dict(payload)
        settings = payload.pop("settings", None)
        deleted = payload.pop("deleted_tasks", None)
        out: dict[str, Any] = {}
        if settings is not None:
            out["settings"] = self.apply_settings(settings)
        out |= super().seed(payload)
        if deleted is not None:
            if not isinstance(deleted, list):
                raise bad_request("deleted_tasks must be a list of task ids")
            with self.lock:
                tasks = self.store["tasks"]
                out["deleted_tasks"] = [i for i in deleted if tasks.pop(str(i), None)]
        return out

    def apply_settings(self, values: Any) -> dict[str, Any]:
        """Validate and apply seeded settings; answers the current settings."""
        if not isinstance(values, dict) or set(values) - SETTINGS_KEYS:
            raise bad_request(f"settings accepts only {sorted(SETTINGS_KEYS)}")
        plan = values.get("plan", self.settings["plan"])
        if plan not in PLANS:
            raise bad_request(f"plan must be one of {sorted(PLANS)}")
        zone_name = values.get("time_zone", self.settings["time_zone"])
        try:
            zone = ZoneInfo(str(zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            raise bad_request(f"unknown time zone {zone_name!r}") from None
        field = values.get("assignee_field", self.settings["assignee_field"])
        if field not in ("assignedTo", "assignments"):
            raise bad_request("assignee_field must be assignedTo or assignments")
        quotas = {}
        for key, default in zip(("per_minute", "per_day"), PLANS[plan], strict=True):
            value = values.get(key, default if "plan" in values else None)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise bad_request(f"{key} must be a positive integer")
            if value is not None and value < 1:
                raise bad_request(f"{key} must be a positive integer")
            quotas[key] = value
        with self.lock:
            self.settings.update(plan=plan, time_zone=zone_name, assignee_field=field)
            self.zone = zone
            if quotas["per_minute"] is not None:
                self.limiter.reconfigure(RateLimitConfig(quotas["per_minute"], 60.0))
            if quotas["per_day"] is not None:
                self.day_limiter.reconfigure(RateLimitConfig(quotas["per_day"], DAY_SECONDS))
            return self.current_settings()

    def current_settings(self) -> dict[str, Any]:
        """Settings with the live quotas."""
        return {
            **self.settings,
            "per_minute": self.limiter.config.limit,
            "per_day": self.day_limiter.config.limit,
        }

    def extra_state(self) -> dict[str, Any]:
        """Settings, live tokens and the default client's remaining quota."""
        client = self.credentials["client_id"]
        return {
            "settings": self.current_settings(),
            "live_tokens": self.tokens.count(),
            "quota": {
                "minute_remaining": self.limiter.peek(client),
                "day_remaining": self.day_limiter.peek(client),
            },
        }

    def before_request(self) -> None:
        """The framework pipeline (faults, auth, minute quota), then the day quota."""
        super().before_request()
        decision = self.day_limiter.hit(self.account())
        if not decision.allowed:
            raise self.quota_error(decision)

    def rate_limited_error(self, decision: RateDecision) -> SandboxError:
        """Minute 429 with ``Retry-After: 60`` (scaled); the day error once the day is used up."""
        account = g.get("sandbox_account")
        if account and self.day_limiter.peek(account) == 0:
            limit = self.day_limiter.config.limit
            return self.quota_error(RateDecision(False, limit, 0, self.day_limiter.window))
        retry_after = max(1, math.ceil(MINUTE_RETRY_AFTER / self.time_factor))
        return SandboxError(
            429,
            f"Rate limit of {decision.limit} requests per minute exceeded",
            code="RateLimitExceeded",
            headers={"Retry-After": str(retry_after), "X-RateLimit-Scope": "minute"},
        )

    def quota_error(self, decision: RateDecision) -> SandboxError:
        """The day quota is used up."""
        return SandboxError(
            429,
            f"Daily API quota of {decision.limit} requests exceeded",
            code="DailyQuotaExceeded",
            headers={"Retry-After": decision.retry_after_header, "X-RateLimit-Scope": "day"},
        )

    # ----- errors and auth ----------------------------------------------------------------------
    def error_body(self, error: SandboxError) -> Any:
        """``{"code", "message"}``: the code follows the status, but for the day quota's own."""
        code = error.code if error.code == "DailyQuotaExceeded" else None
        return {
            "code": code or ERROR_CODES.get(error.status, "InternalServerError"),
            "message": error.message,
        }

    def unauthorized(self, message: str = "Invalid client credentials") -> SandboxError:
        """HTTP 401."""
        return SandboxError(401, message, code="Unauthorized")

    # ----- dates --------------------------------------------------------------------------------
    def local_now(self, after: str | None = None) -> str:
        """Now in the tenant's zone without offset, later than ``after`` (strictly increasing)."""
        stamp = parse_iso(self.clock.next())
        assert stamp is not None
        now = stamp.astimezone(self.zone).replace(tzinfo=None)
        previous = self.parse_local(after)
        if previous is not None and now <= previous:
            now = previous + timedelta(milliseconds=1)
        return now.isoformat(timespec="milliseconds")

    def parse_local(self, value: Any) -> datetime | None:
        """A naive tenant-local datetime (an offset, if given, is converted); None if invalid."""
        parsed = parse_iso_as_given(value)
        if parsed is None:
            return None
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(self.zone).replace(tzinfo=None)
        return parsed

    # ----- seeding ------------------------------------------------------------------------------
    def prepare_seed(self, resource: str, record: Record) -> Record:
        """Merge into an existing record with the same id, then fill the resource's defaults."""
        given_update = record.get("lastUpdatedDate")
        previous = None
        if record.get("id") not in (None, ""):
            record["id"] = int_id(record["id"], f"{resource} id")
            existing = self.get(resource, record["id"])
            if existing is not None:
                previous = existing.get("lastUpdatedDate")
                if resource == "tasks" and "assignments" in record:
                    record["assignedTo"] = record.pop("assignments")
                renamed = {"firstName", "lastName"} & set(record) and "name" not in record
                record = {**copy.deepcopy(existing), **record}
                if resource == "employees" and renamed:
                    record.pop("name", None)  # derived again from the new first/last name
        if resource == "tasks":
            record = self.prepare_task(record)
            record["lastUpdatedDate"] = given_update or self.local_now(after=previous)
            record["dateCreated"] = record.get("dateCreated") or record["lastUpdatedDate"]
            return record
        prepare = {
            "task_types": self.prepare_type,
            "employees": self.prepare_employee,
            "teams": self.prepare_team,
        }[resource]
        return prepare(record)

    def prepare_type(self, record: Record) -> Record:
        """A task type needs a name."""
        if not isinstance(record.get("name"), str) or not record["name"]:
            raise bad_request("a task type needs a name")
        return record

    def prepare_employee(self, record: Record) -> Record:
        """Names, ``active`` and phones in Striven's shape."""
        record.setdefault("firstName", None)
        record.setdefault("lastName", None)
        record.setdefault("email", None)
        record.setdefault("active", True)
        if not record.get("name"):
            parts = [record["firstName"], record["lastName"]]
            record["name"] = " ".join(p for p in parts if p) or None
        phones = record.get("phones") or []
        if not isinstance(phones, list) or not all(isinstance(p, dict) for p in phones):
            raise bad_request("phones must be a list of objects")
        record["phones"] = [
            {
                "phoneType": lookup(p.get("phoneType", "Mobile"), PHONE_TYPES, "phoneType"),
                "number": p.get("number"),
                "isPreferred": bool(p.get("isPreferred", False)),
                "active": bool(p.get("active", True)),
            }
            for p in phones
        ]
        return record

    def prepare_team(self, record: Record) -> Record:
        """``memberIds`` are employee ids (not checked: the adapter only reads them)."""
        members = record.get("memberIds") or []
        if not isinstance(members, list):
            raise bad_request("memberIds must be a list of employee ids")
        record["memberIds"] = [int_id(m, "memberIds") for m in members]
        record.setdefault("name", f"Team {record.get('id', '')}".strip())
        return record

    def prepare_task(self, record: Record) -> Record:
        """References resolved to ``{id, name}``, dates defaulted, ``lastUpdatedDate`` moved."""
        types = {int(t["id"]): t["name"] for t in self.all("task_types")}
        employees = {int(e["id"]): e.get("name") for e in self.all("employees")}
        if "assignments" in record:
            record["assignedTo"] = record.pop("assignments")
        assignees = record.get("assignedTo") or []
        if not isinstance(assignees, list):
            assignees = [assignees]
        record["assignedTo"] = [lookup(a, employees, "assignee") for a in assignees]
        record["status"] = lookup(record.get("status") or 1, STATUSES, "status")
        record["type"] = lookup(record["type"], types, "type") if record.get("type") else None
        customer = record.get("customer")
        if customer is not None and not isinstance(customer, dict):
            customer = {"id": int_id(customer, "customer"), "name": f"Customer {customer}"}
        record["customer"] = customer
        record.setdefault("title", "")
        record.setdefault("description", "")
        record.setdefault("location", None)
        for field in ("startDate", "dueDate"):
            record.setdefault(field, None)
        return record

    def render(self, resource: str, record: Record) -> Record:
        """Tasks and employees in Striven's field order (assignees under the chosen spelling)."""
        if resource == "tasks":
            out = {f: copy.deepcopy(record.get(f)) for f in TASK_FIELDS}
            out.update({k: copy.deepcopy(v) for k, v in record.items() if k not in out})
            field = self.settings["assignee_field"]
            if field != "assignedTo":
                out = {(field if k == "assignedTo" else k): v for k, v in out.items()}
            return out
        if resource == "employees":
            out = {f: copy.deepcopy(record.get(f)) for f in EMPLOYEE_FIELDS}
            out.update({k: copy.deepcopy(v) for k, v in record.items() if k not in out})
            return out
        return super().render(resource, record)
