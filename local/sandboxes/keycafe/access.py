"""Keycafe sandbox: access (booking) routes and guest notifications."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Response

from local.sandboxes.framework import Record, SandboxError
from local.sandboxes.keycafe.base import KeycafeBase, digits, new_code, same_phone

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
WINDOW = ("accessStartDate", "accessStartTime", "accessEndDate", "accessEndTime", "timeZone")
EDITABLE = {"accessStartDate", "accessStartTime", "accessEndDate", "accessEndTime", "name"}
FieldErrors = list[dict[str, str]]


def check_window(values: Record, errors: FieldErrors) -> None:
    """Dates ``YYYY-MM-DD``, times ``HH:mm``, a known time zone, and the end after the start."""
    ok = True
    for field in ("accessStartDate", "accessEndDate"):
        value = values.get(field)
        try:
            valid = isinstance(value, str) and bool(DATE.match(value)) and date.fromisoformat(value)
        except ValueError:
            valid = False
        if not valid:
            errors.append({"field": field, "message": "must be a date YYYY-MM-DD"})
            ok = False
    for field in ("accessStartTime", "accessEndTime"):
        if not isinstance(values.get(field), str) or not TIME.match(values[field]):
            errors.append({"field": field, "message": "must be a time HH:mm"})
            ok = False
    try:
        ZoneInfo(str(values.get("timeZone")))
    except (ZoneInfoNotFoundError, ValueError):
        errors.append({"field": "timeZone", "message": "must be an IANA time zone"})
        ok = False
    if ok:
        start = datetime.fromisoformat(f"{values['accessStartDate']}T{values['accessStartTime']}")
        end = datetime.fromisoformat(f"{values['accessEndDate']}T{values['accessEndTime']}")
        if end <= start:
            errors.append({"field": "accessEndDate", "message": "must be after the start"})


def resolve_user(sb: KeycafeBase, value: Any, errors: FieldErrors) -> Record | None:
    """The user by id, email or mobile; an unknown email/mobile becomes a new guest (unsaved)."""
    if not isinstance(value, dict) or not any(value.get(k) for k in ("id", "email", "mobile")):
        errors.append(
            {"field": "user", "message": "user.id, user.email or user.mobile is required"}
        )
        return None
    if value.get("id") is not None:
        user = sb.get("users", value["id"])
        if user is None:
            errors.append({"field": "user.id", "message": "user not found"})
        return user
    for user in sb.all("users"):
        if value.get("email") and str(user.get("email") or "").lower() == value["email"].lower():
            return user
        if value.get("mobile") and same_phone(user.get("mobile"), value["mobile"]):
            return user
    if value.get("mobile") and len(digits(value["mobile"])) < 7:
        errors.append({"field": "user.mobile", "message": "is not a phone number"})
        return None
    return {
        "email": value.get("email"),
        "mobile": value.get("mobile"),
        "firstName": value.get("firstName"),
        "lastName": value.get("lastName"),
    }


def resolve_key(sb: KeycafeBase, value: Any, errors: FieldErrors) -> Record | None:
    """The key by id or serial number."""
    if not isinstance(value, dict) or not any(value.get(k) for k in ("id", "serialNumber")):
        errors.append({"field": "key", "message": "key.id or key.serialNumber is required"})
        return None
    if value.get("id") is not None:
        key = sb.get("keys", value["id"])
    else:
        key = next(
            (k for k in sb.all("keys") if k.get("serialNumber") == value["serialNumber"]), None
        )
    if key is None:
        errors.append({"field": "key", "message": "key not found"})
    return key


def notify(sb: KeycafeBase, access: Record, kind: str) -> None:
    """Record the email/SMS Keycafe sends the guest, unless suppressed."""
    if access.get("suppressGuestNotifications"):
        return
    user = sb.get("users", access["user"]["id"]) or {}
    to = user.get("email") or user.get("mobile")
    sb.insert(
        "notifications",
        {
            "accessId": access["id"],
            "userId": user.get("id"),
            "type": kind,
            "channel": "email" if user.get("email") else "sms",
            "to": to,
            "message": f"notification sent to {to}",
            "time": sb.clock.next(),
        },
    )


def register(bp: Blueprint, sb: KeycafeBase) -> None:
    """Add the ``/access`` routes."""

    def find(access_id: str) -> Record:
        return sb.find("accesses", access_id, "Access")

    @bp.post("/access")
    def create_access() -> Record:
        body = sb.json_body()
        errors: FieldErrors = []
        with sb.lock:
            user = resolve_user(sb, body.get("user"), errors)
            key = resolve_key(sb, body.get("key"), errors)
            values = {"accessStartTime": "00:00", "accessEndTime": "23:59", "timeZone": "UTC"}
            values |= {k: body[k] for k in WINDOW if body.get(k) is not None}
            check_window(values, errors)
            if body.get("name") is not None and not isinstance(body["name"], str):
                errors.append({"field": "name", "message": "must be text"})
            for flag in ("returnReminder", "suppressGuestNotifications"):
                if flag in body and not isinstance(body[flag], bool):
                    errors.append({"field": flag, "message": "must be true or false"})
            if errors or user is None or key is None:
                raise SandboxError(400, "The request is invalid", field_errors=errors)
            if "id" not in user:
                sb.insert("users", user)
            code, link = new_code(sb)
            now = sb.clock.next()
            access = values | {
                "id": sb.new_id("accesses"),
                "bookingCode": code,
                "checkinLink": link,
                "status": "ACTIVE",
                "key": {"id": key["id"]},
                "user": {"id": user["id"]},
                "name": body.get("name"),
                "returnReminder": body.get("returnReminder", False),
                "suppressGuestNotifications": body.get("suppressGuestNotifications", False),
                "createdAt": now,
                "updatedAt": now,
            }
            sb.insert("accesses", access)
            notify(sb, access, "ACCESS_CREATED")
            return sb.render("accesses", access)

    @bp.get("/access")
    def list_accesses() -> Response:
        # keycafe.md documents no filter on accesses: every access, oldest first, 50 a page.
        with sb.lock:
            return sb.paged("accesses", sb.all("accesses"))

    @bp.get("/access/<access_id>")
    def get_access(access_id: str) -> Record:
        with sb.lock:
            return sb.render("accesses", find(access_id))

    @bp.put("/access/<access_id>")
    def update_access(access_id: str) -> Record:
        body = sb.json_body()
        with sb.lock:
            access = find(access_id)
            other = sorted(k for k in body if k not in EDITABLE and k != "id")
            if other:
                fixed = [{"field": k, "message": "cannot be changed"} for k in other]
                raise SandboxError(400, "Only dates and name can be changed", field_errors=fixed)
            if access["status"] != "ACTIVE":
                raise SandboxError(409, f"Access {access_id} is {access['status']}")
            errors: FieldErrors = []
            values = {k: access[k] for k in WINDOW} | {k: body[k] for k in WINDOW if k in body}
            check_window(values, errors)
            if "name" in body and body["name"] is not None and not isinstance(body["name"], str):
                errors.append({"field": "name", "message": "must be text"})
            if errors:
                raise SandboxError(400, "The request is invalid", field_errors=errors)
            access.update(values)
            if "name" in body:
                access["name"] = body["name"]
            access["updatedAt"] = sb.clock.next(after=access.get("updatedAt"))
            notify(sb, access, "ACCESS_UPDATED")
            return sb.render("accesses", access)

    @bp.delete("/access/<access_id>")
    def cancel_access(access_id: str) -> Record:
        with sb.lock:
            access = find(access_id)
            if access["status"] == "CANCELLED":
                raise SandboxError(409, f"Access {access_id} is already cancelled")
            access.update(status="CANCELLED", updatedAt=sb.clock.next(after=access["updatedAt"]))
            notify(sb, access, "ACCESS_CANCELLED")
            return sb.render("accesses", access)
