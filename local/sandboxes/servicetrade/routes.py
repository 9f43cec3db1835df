"""ServiceTrade sandbox: API routes (auth, appointments, users, clock events, Service Link)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request

from local.sandboxes.framework import Record, SandboxError
from local.sandboxes.servicetrade import records
from local.sandboxes.servicetrade.base import (
    COOKIE,
    ServiceTradeBase,
    bad_request,
    envelope,
    unix_now,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def query_int(name: str, default: int | None = None) -> int | None:
    """An integer query parameter, or 400."""
    raw = request.args.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer") from None


def query_bool(name: str) -> bool | None:
    """``true``/``false`` (also 1/0), None when absent, else 400."""
    raw = request.args.get(name, "").lower()
    if raw == "":
        return None
    if raw not in ("true", "false", "1", "0"):
        raise bad_request(f"{name} must be true or false")
    return raw in ("true", "1")


def paged(
    sb: ServiceTradeBase, resource: str, key: str, keep: Callable[[Record], bool]
) -> dict[str, Any]:
    """``{"totalPages", "page", key: [...]}`` of the records ``keep`` selects, by id."""
    page = query_int("page", 1)
    limit = query_int("limit", DEFAULT_LIMIT)
    assert page is not None and limit is not None  # defaults given
    if page < 1 or not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"page must be 1 or more and limit between 1 and {MAX_LIMIT}")
    with sb.lock:
        chosen = sorted((r for r in sb.all(resource) if keep(r)), key=lambda r: r["id"])
        chunk = [sb.render(resource, r) for r in chosen[(page - 1) * limit : page * limit]]
    return envelope({"totalPages": math.ceil(len(chosen) / limit), "page": page, key: chunk})


def find(sb: ServiceTradeBase, resource: str, record_id: Any, what: str) -> Record:
    """The record with this integer id, or 404."""
    record = sb.get(resource, record_id) if str(record_id).isdigit() else None
    if record is None:
        raise SandboxError(404, f"{what} {record_id} not found")
    return record


def appointment_filter() -> Callable[[Record], bool]:
    """``updatedAfter``, ``status`` (comma-separated), ``windowBeginsAfter`` and
    ``windowEndsBefore``: all inclusive."""
    updated_after = query_int("updatedAfter")
    begins_after = query_int("windowBeginsAfter")
    ends_before = query_int("windowEndsBefore")
    statuses = {s for s in request.args.get("status", "").split(",") if s}
    if statuses - records.STATUSES:
        raise bad_request(f"status must be among {sorted(records.STATUSES)}")

    def keep(appointment: Record) -> bool:
        start, end = appointment.get("windowStart"), appointment.get("windowEnd")
        return (
            (updated_after is None or (appointment.get("updated") or 0) >= updated_after)
            and (not statuses or appointment["status"] in statuses)
            and (begins_after is None or (start is not None and start >= begins_after))
            and (ends_before is None or (end is not None and end <= ends_before))
        )

    return keep


def register(bp: Blueprint, sb: ServiceTradeBase) -> None:
    """Add the ServiceTrade routes."""

    @bp.post("/auth")
    def auth() -> Response:
        ttl = float(sb.credentials["token_ttl_seconds"])
        session = sb.tokens.issue(sb.account(), ttl)
        response = jsonify(envelope({"authenticated": True, "user": {"username": sb.account()}}))
        response.set_cookie(COOKIE, session, path="/", httponly=True, secure=False)
        return response

    @bp.get("/appointment")
    def list_appointments() -> dict[str, Any]:
        return paged(sb, "appointments", "appointments", appointment_filter())

    @bp.get("/appointment/<appointment_id>")
    def get_appointment(appointment_id: str) -> dict[str, Any]:
        with sb.lock:
            found = find(sb, "appointments", appointment_id, "Appointment")
            return envelope(sb.render("appointments", found))

    @bp.get("/user")
    def list_users() -> dict[str, Any]:
        is_tech = query_bool("isTech")
        return paged(
            sb, "users", "users", lambda u: is_tech is None or bool(u.get("isTech")) == is_tech
        )

    @bp.get("/clock")
    def list_clock_events() -> dict[str, Any]:
        wanted = {k: query_int(k) for k in ("userId", "jobId")}
        activity = request.args.get("activity") or None
        clocked_in = query_bool("clockedIn")

        def keep(event: Record) -> bool:
            return (
                all(v is None or event.get(k) == v for k, v in wanted.items())
                and activity in (None, event["activity"])
                and (clocked_in is None or (event.get("clockOut") is None) == clocked_in)
            )

        return paged(sb, "clock_events", "clockEvents", keep)

    @bp.post("/job/<job_id>/clockin")
    def clock_in(job_id: str) -> dict[str, Any]:
        return envelope(clock(sb, job_id, clocking_in=True))

    @bp.post("/job/<job_id>/clockout")
    def clock_out(job_id: str) -> dict[str, Any]:
        return envelope(clock(sb, job_id, clocking_in=False))

    @bp.post("/message")
    def message() -> dict[str, Any]:
        return envelope(send_message(sb, sb.json_body()))


def clock(sb: ServiceTradeBase, job_id: str, *, clocking_in: bool) -> Record:
    """Open (clock in) or close (clock out) the tech's clock event for a job and activity;
    fires a ``clock`` webhook (``created`` or ``updated``)."""
    body = sb.json_body()
    with sb.lock:
        job = find(sb, "jobs", job_id, "Job")
        user_id = records.int_id(body.get("userId"), "userId")
        find(sb, "users", user_id, "User")
        activity = body.get("activity")
        if activity not in records.ACTIVITIES:
            raise bad_request(f"activity must be one of {sorted(records.ACTIVITIES)}")
        at = unix_now() if body.get("time") is None else records.unix(body["time"], "time")
        appointment = body.get("appointmentId")
        if appointment is not None:
            appointment = find(sb, "appointments", appointment, "Appointment")["id"]
        open_events = [
            e
            for e in sb.all("clock_events")
            if (e["userId"], e["jobId"], e["activity"]) == (user_id, job["id"], activity)
            and e.get("clockOut") is None
        ]
        if clocking_in:
            if open_events:
                raise bad_request(f"User {user_id} is already clocked in ({activity})")
            event: Record = {
                "userId": user_id,
                "jobId": job["id"],
                "appointmentId": appointment,
                "activity": activity,
                "clockIn": at,
                "clockOut": None,
                "created": at,
                "updated": at,
            }
            sb.insert("clock_events", event)
            action, changeset = "created", sb.render("clock_events", event)
        else:
            if not open_events:
                raise bad_request(f"User {user_id} is not clocked in ({activity})")
            event = open_events[-1]
            if at < event["clockIn"]:
                raise bad_request("time is before the clock-in")
            event.update(clockOut=at, updated=at)
            action, changeset = "updated", {"clockOut": at}
        rendered = sb.render("clock_events", event)
    sb.notify([(action, "clock_events", event["id"], changeset, user_id)])
    return rendered


def send_message(sb: ServiceTradeBase, body: Record) -> Record:
    """Record a Service Link message (servicetrade.md leaves the real shape open)."""
    recipients = {k: body.get(k) for k in ("contactIds", "emails") if body.get(k) is not None}
    if len(recipients) != 1:
        raise bad_request("give exactly one of contactIds or emails")
    ((kind, values),) = recipients.items()
    if not isinstance(values, list) or not values:
        raise bad_request(f"{kind} must be a non-empty list")
    params = body.get("params")
    if not isinstance(params, dict) or params.get("jobId") in (None, ""):
        raise bad_request("params.jobId is required")
    if not isinstance(body.get("template"), str) or not body["template"]:
        raise bad_request("template is required")
    with sb.lock:
        find(sb, "jobs", params["jobId"], "Job")
        record = {
            "id": None,
            kind: list(values),
            "mode": body.get("mode", "email"),
            "template": body["template"],
            "send": bool(body.get("send", False)),
            "params": dict(params),
            "created": unix_now(),
        }
        sb.insert("messages", record)
        return {"id": record["id"], "sent": record["send"]}
