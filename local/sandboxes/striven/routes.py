"""Striven sandbox: API routes (token, task search, tasks, employees, task types, teams)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, request

from local.sandboxes.framework import Record, SandboxError
from local.sandboxes.striven.base import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    StrivenBase,
    bad_request,
    int_id,
)

ID_FILTERS = {  # search key (lower case) -> the task's ids it matches
    "typeids": lambda t: {(t.get("type") or {}).get("id")},
    "statusids": lambda t: {(t.get("status") or {}).get("id")},
    "assignedtoids": lambda t: {a.get("id") for a in t.get("assignedTo") or []},
}
RANGES = {"datecreatedrange": "dateCreated", "lastupdateddaterange": "lastUpdatedDate"}


def lower_keys(value: Any, what: str) -> dict[str, Any]:
    """An object's keys in lower case (ASP.NET binds JSON case-insensitively), or 400."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request(f"{what} must be an object")
    return {str(k).lower(): v for k, v in value.items()}


def paging(values: dict[str, Any]) -> tuple[int, int]:
    """``(PageIndex, PageSize)`` from lower-cased parameters: index >= 0, size 1..1000."""
    try:
        index = int(values.get("pageindex", 0))
        size = int(values.get("pagesize", DEFAULT_PAGE_SIZE))
    except (TypeError, ValueError):
        raise bad_request("PageIndex and PageSize must be integers") from None
    if index < 0:
        raise bad_request("PageIndex must be 0 or more")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise bad_request(f"PageSize must be between 1 and {MAX_PAGE_SIZE}")
    return index, size


def page(
    records: list[Record], index: int, size: int, render: Callable[[Record], Record]
) -> Record:
    """``{"totalCount", "data"}`` for one page of ``records``."""
    chunk = records[index * size : (index + 1) * size]
    return {"totalCount": len(records), "data": [render(r) for r in chunk]}


def task_filter(sb: StrivenBase, body: dict[str, Any]) -> Callable[[Record], bool]:
    """The predicate of a search body (lower-cased keys)."""
    ids: dict[str, set[int]] = {}
    for key in ID_FILTERS:
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise bad_request(f"{key} must be a list of ids")
        ids[key] = {int_id(v, key) for v in value}
    customer = body.get("customerid")
    customer_id = None if customer is None else int_id(customer, "CustomerID")
    ranges: dict[str, tuple[datetime | None, datetime | None]] = {}
    for key, field in RANGES.items():
        bounds = lower_keys(body.get(key), key)
        parsed = []
        for end in ("datefrom", "dateto"):
            raw = bounds.get(end)
            value = sb.parse_local(raw)
            if raw not in (None, "") and value is None:
                raise bad_request(f"{key}.{end} is not a date: {raw!r}")
            parsed.append(value)
        ranges[field] = (parsed[0], parsed[1])

    def matches(task: Record) -> bool:
        for key, wanted in ids.items():
            if wanted and not wanted & ID_FILTERS[key](task):
                return False
        if customer_id is not None and (task.get("customer") or {}).get("id") != customer_id:
            return False
        for field, (start, end) in ranges.items():
            if start is None and end is None:
                continue
            value = sb.parse_local(task.get(field))
            if value is None or (start and value < start) or (end and value > end):
                return False
        return True

    return matches


def register(bp: Blueprint, sb: StrivenBase) -> None:
    """Add the Striven routes."""

    @bp.post("/accesstoken")
    def token() -> Record:
        if request.form.get("grant_type") != "client_credentials":
            raise bad_request("grant_type must be client_credentials")
        return sb.issue_token()

    @bp.post("/v2/tasks/search")
    def search_tasks() -> Record:
        body = lower_keys(request.get_json(silent=True), "the search body")
        index, size = paging(body)
        matches = task_filter(sb, body)
        with sb.lock:
            tasks = sorted((t for t in sb.all("tasks") if matches(t)), key=lambda t: t["id"])
            return page(tasks, index, size, lambda t: sb.render("tasks", t))

    @bp.get("/v2/tasks/<task_id>")
    def get_task(task_id: str) -> Record:
        with sb.lock:
            return sb.render("tasks", find(sb, "tasks", task_id, "Task"))

    @bp.get("/v1/employees")
    def list_employees() -> Record:
        index, size = paging(lower_keys(request.args.to_dict(), "query"))
        with sb.lock:
            employees = sorted(sb.all("employees"), key=lambda e: e["id"])
            return page(employees, index, size, lambda e: sb.render("employees", e))

    @bp.get("/v1/employees/<employee_id>")
    def get_employee(employee_id: str) -> Record:
        with sb.lock:
            return sb.render("employees", find(sb, "employees", employee_id, "Employee"))

    @bp.get("/v1/task-types")
    def list_task_types() -> Record:
        with sb.lock:
            types = [sb.render("task_types", t) for t in sb.all("task_types")]
        return {"totalCount": len(types), "data": types}

    @bp.get("/v1/teams")
    def list_teams() -> list[Record]:
        with sb.lock:
            return [
                {"id": t["id"], "name": t.get("name"), "memberIds": list(t["memberIds"])}
                for t in sb.all("teams")
            ]


def find(sb: StrivenBase, resource: str, record_id: str, what: str) -> Record:
    """The record with this integer id, or 404."""
    record = sb.get(resource, record_id) if record_id.isdigit() else None
    if record is None:
        raise SandboxError(404, f"{what} {record_id} not found", code="NotFound")
    return record
