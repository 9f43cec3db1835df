"""ServiceTrade sandbox records: seeding defaults and references, the vendor's JSON, changes.

Stored appointments keep references (``job`` and ``location`` ids, ``techs`` user ids) and
``render`` embeds the referenced records as ServiceTrade shows them.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

from local.sandboxes.framework import Record, SandboxError


class ServiceTradeBase(Protocol):
    """What these helpers use of the sandbox (``base.ServiceTradeBase``, which imports them)."""

    def get(self, resource: str, record_id: Any) -> Record | None: ...

    def insert(self, resource: str, record: Record) -> Record: ...

    def prepare_seed(self, resource: str, record: Record) -> Record: ...

    def uri(self, entity: str, record_id: Any) -> str: ...


STATUSES = frozenset(
    {
        "unscheduled",
        "scheduled",
        "canceled_by_vendor",
        "canceled_by_customer",
        "completed",
        "no_show",
    }
)
ACTIVITIES = frozenset({"enroute", "onsite"})
UNCOMPARED = frozenset({"updated", "created", "uri"})  # bookkeeping, not a change
CLOCK_FIELDS = ("id", "userId", "jobId", "appointmentId", "activity", "clockIn", "clockOut")


def bad_request(message: str) -> SandboxError:
    """A 400 in the envelope."""
    return SandboxError(400, message)


def int_id(value: Any, what: str) -> int:
    """An integer id (digit strings accepted), or 400."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise bad_request(f"{what} must be an integer id")


def unix(value: Any, what: str) -> int:
    """Unix seconds (an integer, a whole float or digits), or 400."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return int_id(value, what) if value not in (None, "") else _missing(what)


def _missing(what: str) -> int:
    raise bad_request(f"{what} is required (unix seconds)")


def changed(old: Record, new: Record) -> bool:
    """Whether ``new`` differs from ``old`` in anything but bookkeeping."""
    return any(old.get(k) != new.get(k) for k in set(old) | set(new) if k not in UNCOMPARED)


def diff(old: Record | None, new: Record) -> tuple[str, Record] | None:
    """``("created", fields)``, ``("updated", changed fields)`` or None (unchanged)."""
    if old is None:
        return "created", {k: v for k, v in new.items() if k not in UNCOMPARED}
    keys = sorted((set(old) | set(new)) - UNCOMPARED)
    changeset = {k: new.get(k) for k in keys if old.get(k) != new.get(k)}
    return ("updated", changeset) if changeset else None


def reference(sb: ServiceTradeBase, resource: str, value: Any, what: str) -> int | None:
    """A referenced id; an object with more than its id is stored (merged) first."""
    if value is None:
        return None
    if isinstance(value, dict):
        ref_id = int_id(value.get("id"), f"{what}.id")
        if set(value) - {"id", "uri"}:
            sb.insert(resource, sb.prepare_seed(resource, copy.deepcopy(value)))
        value = ref_id
    ref_id = int_id(value, what)
    if sb.get(resource, ref_id) is None:
        raise bad_request(f"unknown {what} {ref_id}")
    return ref_id


def prepare(sb: ServiceTradeBase, resource: str, record: Record) -> Record:
    """The resource's defaults and checks."""
    if resource == "users":
        record.setdefault("firstName", None)
        record.setdefault("lastName", None)
        record.setdefault("email", None)
        record.setdefault("status", "active")
        record.setdefault("isTech", True)
        if not record.get("name"):
            parts = [record["firstName"], record["lastName"]]
            record["name"] = " ".join(p for p in parts if p) or None
    elif resource == "locations":
        address = record.get("address") or {}
        record["address"] = {k: address.get(k) for k in ("street", "city", "state", "postalCode")}
        for field in ("name", "lat", "lon", "email", "primaryContact"):
            record.setdefault(field, None)
    elif resource == "jobs":
        record.setdefault("number", str(record.get("id") or ""))
        record["location"] = reference(sb, "locations", record.get("location"), "location")
    elif resource == "appointments":
        prepare_appointment(sb, record)
    elif resource == "clock_events":
        prepare_clock(sb, record)
    return record


def prepare_appointment(sb: ServiceTradeBase, record: Record) -> None:
    """Status checked, window in unix seconds, references resolved to ids."""
    record.setdefault("status", "scheduled")
    if record["status"] not in STATUSES:
        raise bad_request(f"status must be one of {sorted(STATUSES)}")
    for field in ("windowStart", "windowEnd"):
        value = record.get(field)
        record[field] = None if value is None else unix(value, field)
    record["job"] = reference(sb, "jobs", record.get("job"), "job")
    record["location"] = reference(sb, "locations", record.get("location"), "location")
    techs = record.get("techs") or []
    if not isinstance(techs, list):
        raise bad_request("techs must be a list of users")
    record["techs"] = [reference(sb, "users", t, "tech") for t in techs]
    record["released"] = bool(record.get("released", True))


def prepare_clock(sb: ServiceTradeBase, record: Record) -> None:
    """A clock event of a known user and job, ``enroute`` or ``onsite``."""
    record["userId"] = reference(sb, "users", record.get("userId"), "userId")
    record["jobId"] = reference(sb, "jobs", record.get("jobId"), "jobId")
    appointment = record.get("appointmentId")
    record["appointmentId"] = reference(sb, "appointments", appointment, "appointmentId")
    if record.get("activity") not in ACTIVITIES:
        raise bad_request(f"activity must be one of {sorted(ACTIVITIES)}")
    record["clockIn"] = unix(record.get("clockIn"), "clockIn")
    clock_out = record.get("clockOut")
    record["clockOut"] = None if clock_out is None else unix(clock_out, "clockOut")


def render(sb: ServiceTradeBase, resource: str, record: Record) -> Record:
    """ServiceTrade's JSON of a stored record."""
    if resource == "appointments":
        return {
            "id": record["id"],
            "uri": sb.uri("appointment", record["id"]),
            "status": record["status"],
            "windowStart": record["windowStart"],
            "windowEnd": record["windowEnd"],
            "job": job_ref(sb, record["job"]),
            "location": location(sb, record["location"]),
            "techs": [tech(sb, t) for t in record["techs"]],
            "released": record["released"],
            "created": record.get("created"),
            "updated": record.get("updated"),
        }
    if resource == "users":
        fields = ("id", "name", "firstName", "lastName", "email", "status", "isTech")
        return {f: record.get(f) for f in fields}
    if resource == "locations":
        return location(sb, record["id"]) or {}
    if resource == "jobs":
        return {**(job_ref(sb, record["id"]) or {}), "location": location(sb, record["location"])}
    if resource == "clock_events":
        return {f: record.get(f) for f in CLOCK_FIELDS}
    return copy.deepcopy(record)


def job_ref(sb: ServiceTradeBase, job_id: int | None) -> Record | None:
    """``{id, number, uri}``."""
    job = sb.get("jobs", job_id) if job_id is not None else None
    if job is None:
        return None
    return {"id": job["id"], "number": job.get("number"), "uri": sb.uri("job", job["id"])}


def location(sb: ServiceTradeBase, location_id: int | None) -> Record | None:
    """``{id, name, address, lat, lon, email, primaryContact}``."""
    found = sb.get("locations", location_id) if location_id is not None else None
    if found is None:
        return None
    fields = ("id", "name", "address", "lat", "lon", "email", "primaryContact")
    return {f: copy.deepcopy(found.get(f)) for f in fields}


def tech(sb: ServiceTradeBase, user_id: int) -> Record:
    """``{id, name, email}``."""
    user = sb.get("users", user_id) or {}
    return {"id": user_id, "name": user.get("name"), "email": user.get("email")}
