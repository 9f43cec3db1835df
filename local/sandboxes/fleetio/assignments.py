"""Fleetio sandbox: vehicle assignment routes (list, get, create, patch, unassign, delete)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from local.sandboxes.fleetio.base import FleetioBase
from local.sandboxes.framework import Record, SandboxError, iso, parse_iso, utcnow

PATH = "/v1/vehicle_assignments"


def clean(sb: FleetioBase, values: Record, current: Record | None) -> Record:
    """Validate a create (``current`` None) or partial update; the changes to store, or 422."""
    errors: list[dict[str, str]] = []
    changes: Record = {}

    def fail(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    for field, resource in (("vehicle_id", "vehicles"), ("contact_id", "contacts")):
        if field not in values and current is not None:
            continue
        target = sb.get(resource, values.get(field)) if values.get(field) is not None else None
        if values.get(field) in (None, ""):
            fail(field, "can't be blank")
        elif target is None:
            fail(field, "must exist")
        else:
            changes[field] = target["id"]
    for field in ("started_at", "ended_at"):
        if field not in values:
            continue
        parsed = parse_iso(values[field])
        if values[field] is None and field == "ended_at":
            changes[field] = None
        elif parsed is None:
            fail(field, "is not a valid datetime")
        else:
            changes[field] = iso(parsed)
    if current is None and "started_at" not in values:
        changes["started_at"] = iso(utcnow())
    if "comments" in values:
        if values["comments"] is not None and not isinstance(values["comments"], str):
            fail("comments", "must be text")
        changes["comments"] = values["comments"]
    if "custom_fields" in values:
        if not isinstance(values["custom_fields"], dict):
            fail("custom_fields", "must be an object")
        else:
            base = dict((current or {}).get("custom_fields") or {})
            changes["custom_fields"] = base | values["custom_fields"]
    merged = {**(current or {}), **changes}
    started, ended = parse_iso(merged.get("started_at")), parse_iso(merged.get("ended_at"))
    if started and ended and ended < started:
        fail("ended_at", "must be after started_at")
    if errors:
        raise SandboxError(422, errors[0]["message"], field_errors=errors)
    return changes


def body_of(sb: FleetioBase) -> Record:
    """The request body, bare or wrapped in ``{"vehicle_assignment": {...}}``."""
    body = sb.json_body()
    wrapped = body.get("vehicle_assignment")
    return wrapped if isinstance(wrapped, dict) else body


def register(bp: Blueprint, sb: FleetioBase) -> None:
    """Add the vehicle assignment routes."""
    resource = "vehicle_assignments"

    def find(record_id: str) -> Record:
        record = sb.get(resource, record_id)
        if record is None:
            raise SandboxError(404, "Record not found")
        return record

    def change(record_id: str, values: Record, event: str) -> Record:
        with sb.lock:
            record = find(record_id)
            record.update(clean(sb, values, record))
            record["updated_at"] = sb.clock.next(after=record.get("updated_at"))
            rendered = sb.render(resource, record)
        sb.emit_assignment(event, rendered)
        return rendered

    @bp.get(PATH)
    def list_assignments() -> Response:
        return sb.listing(resource)

    bp.add_url_rule(f"{PATH}/<record_id>", view_func=sb.one(resource))

    @bp.post(PATH)
    def create_assignment() -> tuple[Record, int]:
        values = body_of(sb)
        with sb.lock:
            record = clean(sb, values, None)
            now = sb.clock.next()
            record = {"id": sb.new_id(resource), "ended_at": None, "comments": None} | record
            record.setdefault("custom_fields", {})
            record.update(created_at=now, updated_at=now)
            sb.insert(resource, record)
            rendered = sb.render(resource, record)
        sb.emit_assignment("vehicle_assignment_created", rendered)
        return rendered, 201

    @bp.patch(f"{PATH}/<record_id>")
    def update_assignment(record_id: str) -> Record:
        values = body_of(sb)
        allowed = {"vehicle_id", "contact_id", "started_at", "ended_at", "comments"}
        known: dict[str, Any] = {k: v for k, v in values.items() if k in allowed}
        if "custom_fields" in values:
            known["custom_fields"] = values["custom_fields"]
        return change(record_id, known, "vehicle_assignment_updated")

    @bp.patch(f"{PATH}/<record_id>/unassign")
    def unassign(record_id: str) -> Record:
        now = utcnow()
        with sb.lock:
            ended = parse_iso(find(record_id).get("ended_at"))
            if ended is not None and ended <= now:
                raise SandboxError(
                    422,
                    "has already ended",
                    field_errors=[{"field": "ended_at", "message": "has already ended"}],
                )
        return change(record_id, {"ended_at": iso(now)}, "vehicle_assignment_updated")

    @bp.delete(f"{PATH}/<record_id>")
    def delete_assignment(record_id: str) -> Response:
        with sb.lock:
            record = find(record_id)
            rendered = sb.render(resource, record)
            del sb.store[resource][str(record["id"])]
        sb.emit_assignment("vehicle_assignment_deleted", rendered)
        return Response(status=204)
