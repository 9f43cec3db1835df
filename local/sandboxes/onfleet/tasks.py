"""Onfleet sandbox: task routes (create, read, update, delete, list, batch, complete)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from flask import Blueprint, Response, request

from local.sandboxes.framework import Record, SandboxError, now_ms
from local.sandboxes.onfleet.base import OnfleetBase, invalid, normalize_phone

ADDRESS_FIELDS = ("number", "street", "apartment", "city", "state", "postalCode", "country")
ACTIVE_EDITABLE = {"notes", "metadata", "quantity", "serviceTime", "recipients"}
BATCH_LIMIT = 100
SF_BOX = (-122.52, 37.70, -122.36, 37.81)  # lon/lat box for pseudo geocoding


def pseudo_location(unparsed: str) -> list[float]:
    """A stable ``[lon, lat]`` in San Francisco derived from the address text."""
    digest = hashlib.sha256(unparsed.strip().lower().encode()).digest()
    fx = int.from_bytes(digest[:4]) / 2**32
    fy = int.from_bytes(digest[4:8]) / 2**32
    west, south, east, north = SF_BOX
    return [round(west + fx * (east - west), 6), round(south + fy * (north - south), 6)]


def build_destination(sb: OnfleetBase, value: Any) -> Record:
    """Validate a destination object (or an existing destination id) and store it."""
    if isinstance(value, str):
        found = sb.get("destinations", value)
        if found is None:
            raise invalid(f"destination {value} does not exist")
        return found
    if not isinstance(value, dict):
        raise invalid("destination is required", cause="destination")
    address = value.get("address") or {}
    location = value.get("location")
    if not isinstance(address, dict):
        raise invalid("destination.address must be an object")
    has_address = bool(address.get("unparsed")) or all(
        address.get(k) for k in ("number", "street", "city")
    )
    if location is not None and not (
        isinstance(location, list)
        and len(location) == 2
        and all(isinstance(c, int | float) for c in location)
        and -180 <= location[0] <= 180
        and -90 <= location[1] <= 90
    ):
        raise invalid("destination.location must be [longitude, latitude]")
    if not has_address and location is None:
        raise invalid(
            "destination needs an address (unparsed, or number, street and city) or a location",
            cause="destination",
        )
    full = {k: address.get(k, "") for k in ADDRESS_FIELDS}
    full["unparsed"] = address.get("unparsed") or " ".join(
        str(full[k]) for k in ("number", "street", "city", "state", "postalCode") if full[k]
    )
    ts = now_ms()
    destination = {
        "id": sb.new_id("destinations"),
        "timeCreated": ts,
        "timeLastModified": ts,
        "address": full,
        "location": location or pseudo_location(full["unparsed"]),
        "notes": value.get("notes", ""),
        "metadata": value.get("metadata", []),
        "warnings": [],
    }
    return sb.insert("destinations", destination)


def build_recipients(sb: OnfleetBase, value: Any) -> list[Record]:
    """Validate recipients (objects with name and phone, or existing ids) and store new ones."""
    if not isinstance(value, list):
        raise invalid("recipients must be an array")
    out = []
    for item in value:
        if isinstance(item, str):
            out.append(sb.require("recipients", item))
            continue
        if not isinstance(item, dict) or not item.get("name"):
            raise invalid("a recipient needs a name")
        phone = normalize_phone(item.get("phone"))
        if phone is None:
            raise SandboxError(400, f"Invalid phone number {item.get('phone')!r}", cause="phone")
        ts = now_ms()
        recipient = {
            "id": sb.new_id("recipients"),
            "organization": sb.organization["id"],
            "timeCreated": ts,
            "timeLastModified": ts,
            "name": item["name"],
            "phone": phone,
            "notes": item.get("notes", ""),
            "skipSMSNotifications": bool(item.get("skipSMSNotifications", False)),
            "metadata": item.get("metadata", []),
        }
        out.append(sb.insert("recipients", recipient))
    return out


def check_times(task: Record) -> None:
    """``completeAfter``/``completeBefore`` are ms timestamps, in order."""
    after, before = task.get("completeAfter"), task.get("completeBefore")
    for name, value in (("completeAfter", after), ("completeBefore", before)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise invalid(f"{name} must be a timestamp in milliseconds")
    if after is not None and before is not None and after >= before:
        raise invalid("Invalid time constraints specified", cause="completeAfter")


def resolve_container(sb: OnfleetBase, value: Any) -> tuple[Record, str | None]:
    """The container reference and the worker id (when the container is a worker)."""
    if value is None:
        return sb.org_container(), None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "WORKER":
        if sb.get("workers", value.get("worker")) is None:
            raise invalid(f"worker {value.get('worker')} does not exist", cause="container")
        return {"type": "WORKER", "worker": value["worker"]}, value["worker"]
    if kind == "TEAM":
        if sb.get("teams", value.get("team")) is None:
            raise invalid(f"team {value.get('team')} does not exist", cause="container")
        return {"type": "TEAM", "team": value["team"]}, None
    if kind == "ORGANIZATION":
        return sb.org_container(), None
    raise invalid("container.type must be WORKER, TEAM or ORGANIZATION")


def check_dependencies(sb: OnfleetBase, value: Any) -> list[str]:
    """Dependencies must be existing task ids."""
    if not isinstance(value, list) or not all(sb.get("tasks", t) for t in value):
        raise invalid("dependencies must be existing task ids")
    return list(value)


def new_task(sb: OnfleetBase, body: Record) -> tuple[Record, str | None]:
    """Validate a create body and build the task (not stored yet) and its worker id."""
    if body.get("destination") is None:
        raise invalid("destination is required", cause="destination")
    container, worker_id = resolve_container(sb, body.get("container"))
    dependencies = check_dependencies(sb, body.get("dependencies", []))
    metadata = body.get("metadata", [])
    if not isinstance(metadata, list):
        raise invalid("metadata must be an array")
    short_id = secrets.token_hex(4)
    ts = now_ms()
    org = sb.organization["id"]
    task = {
        "id": sb.new_id("tasks"),
        "shortId": short_id,
        "trackingURL": f"https://onf.lt/{short_id}",
        "timeCreated": ts,
        "timeLastModified": ts,
        "organization": org,
        "merchant": org,
        "executor": org,
        "creator": sb.admin_id,
        "state": 0,
        "worker": None,
        "container": container,
        "notes": body.get("notes", ""),
        "completeAfter": body.get("completeAfter"),
        "completeBefore": body.get("completeBefore"),
        "pickupTask": bool(body.get("pickupTask", False)),
        "dependencies": dependencies,
        "quantity": body.get("quantity", 0),
        "serviceTime": body.get("serviceTime", 0),
        "metadata": metadata,
        "completionDetails": {"success": False, "time": None, "notes": "", "events": []},
        "estimatedArrivalTime": None,
        "estimatedCompletionTime": None,
    }
    check_times(task)
    task["destination"] = build_destination(sb, body["destination"])
    task["recipients"] = build_recipients(sb, body.get("recipients", []))
    return task, worker_id


def seed_task(sb: OnfleetBase, record: Record) -> Record:
    """Defaults for a seeded task; links it to its worker."""
    short_id = record.setdefault("shortId", secrets.token_hex(4))
    ts = now_ms()
    for key, value in {
        "trackingURL": f"https://onf.lt/{short_id}",
        "timeCreated": ts,
        "timeLastModified": ts,
        "organization": sb.organization["id"],
        "notes": "",
        "completeAfter": None,
        "completeBefore": None,
        "pickupTask": False,
        "dependencies": [],
        "quantity": 0,
        "serviceTime": 0,
        "metadata": [],
        "recipients": [],
        "completionDetails": {"success": False, "time": None, "notes": "", "events": []},
    }.items():
        record.setdefault(key, value)
    if isinstance(record.get("destination"), dict) and "id" not in record["destination"]:
        record["destination"] = build_destination(sb, record["destination"])
    worker_id = record.get("worker") or (record.get("container") or {}).get("worker")
    record.setdefault("state", 1 if worker_id else 0)
    record["worker"] = worker_id
    record.setdefault("container", sb.org_container())
    worker = sb.get("workers", worker_id) if worker_id else None
    if worker is not None:
        record["container"] = {"type": "WORKER", "worker": worker_id}
        if record["state"] in (1, 2) and record["id"] not in worker["tasks"]:
            worker["tasks"].append(record["id"])
        if record["state"] == 2:
            worker["activeTask"] = record["id"]
    return record


def register(bp: Blueprint, sb: OnfleetBase) -> None:
    """Add the task routes."""

    def create_one(body: Record) -> Record:
        with sb.lock:
            task, worker_id = new_task(sb, body)
            sb.insert("tasks", task)
            if worker_id:
                sb.assign(task, worker_id)
        sb.emit_trigger("taskCreated", task=task)
        if worker_id:
            sb.emit_trigger("taskAssigned", task=task)
        return sb.render("tasks", task)

    @bp.post("/tasks")
    def create_task() -> Record:
        return create_one(sb.json_body())

    @bp.post("/tasks/batch")
    def create_batch() -> Record:
        items = sb.json_body().get("tasks")
        if not isinstance(items, list) or not items or len(items) > BATCH_LIMIT:
            raise invalid(f"tasks must be an array of 1 to {BATCH_LIMIT} tasks")
        created, errors = [], []
        for index, item in enumerate(items):
            try:
                created.append(create_one(item if isinstance(item, dict) else {}))
            except SandboxError as exc:
                errors.append({"index": index, **sb.error_body(exc)})
        return {"tasks": created, "errors": errors}

    @bp.get("/tasks/<task_id>")
    def get_task(task_id: str) -> Record:
        with sb.lock:
            return sb.render("tasks", sb.require("tasks", task_id))

    @bp.get("/tasks/shortId/<short_id>")
    def get_task_by_short_id(short_id: str) -> Record:
        with sb.lock:
            for task in sb.all("tasks"):
                if task.get("shortId") == short_id:
                    return sb.render("tasks", task)
        raise SandboxError(404, f"task with shortId {short_id} not found")

    @bp.put("/tasks/<task_id>")
    def update_task(task_id: str) -> Record:
        body = sb.json_body()
        with sb.lock:
            task = sb.require("tasks", task_id)
            was_worker = task.get("worker")
            apply_update(sb, task, body)
            now_worker = task.get("worker")
        sb.emit_trigger("taskUpdated", task=task)
        if now_worker and now_worker != was_worker:
            sb.emit_trigger("taskAssigned", task=task)
        elif was_worker and not now_worker:
            sb.emit_trigger("taskUnassigned", task=task)
        return sb.render("tasks", task)

    @bp.delete("/tasks/<task_id>")
    def delete_task(task_id: str) -> Response:
        with sb.lock:
            task = sb.require("tasks", task_id)
            if task["state"] == 3:
                raise invalid("Completed tasks cannot be deleted", cause=task_id)
            sb.detach(task)
            del sb.store["tasks"][task_id]
        sb.emit_trigger("taskDeleted", task=task)
        return Response(status=200)

    @bp.post("/tasks/<task_id>/complete")
    def complete_task(task_id: str) -> Response:
        details = sb.json_body().get("completionDetails")
        if not isinstance(details, dict) or not isinstance(details.get("success"), bool):
            raise invalid("completionDetails.success (boolean) is required")
        with sb.lock:
            task = sb.require("tasks", task_id)
            if task["state"] == 3:
                raise invalid("Task has already been completed", cause=task_id)
            if not task.get("worker"):
                raise invalid("Only tasks assigned to a worker can be completed", cause=task_id)
            sb.detach(task)
            ts = now_ms()
            task["state"] = 3
            task["timeLastModified"] = ts
            task["completionDetails"] = {
                **task.get("completionDetails", {}),
                "success": details["success"],
                "notes": details.get("notes", ""),
                "time": ts,
            }
        sb.emit_trigger("taskCompleted" if details["success"] else "taskFailed", task=task)
        return Response(status=200)

    @bp.get("/tasks/all")
    def list_tasks() -> Record:
        args = request.args
        try:
            start = int(args["from"])
            end = int(args["to"]) if "to" in args else None
            states = {int(s) for s in args["state"].split(",")} if args.get("state") else None
            before = int(args["completeBeforeBefore"]) if "completeBeforeBefore" in args else None
            after = int(args["completeAfterAfter"]) if "completeAfterAfter" in args else None
        except KeyError:
            raise invalid("from is required", cause="from") from None
        except ValueError:
            raise invalid("from, to, state and time filters must be integers") from None
        with sb.lock:
            tasks = [
                t
                for t in sb.all("tasks")
                if t["timeCreated"] >= start
                and (end is None or t["timeCreated"] <= end)
                and (states is None or t["state"] in states)
                and (not args.get("worker") or t.get("worker") == args["worker"])
                and (before is None or (t.get("completeBefore") or 0) <= before)
                and (after is None or (t.get("completeAfter") or 0) >= after)
                and (not args.get("dependencies") or args["dependencies"] in t["dependencies"])
            ]
            offset = 0
            if args.get("lastId"):
                ids = [t["id"] for t in tasks]
                if args["lastId"] not in ids:
                    raise invalid("lastId is not a task of this listing", cause="lastId")
                offset = ids.index(args["lastId"]) + 1
            page = tasks[offset : offset + sb.page_size]
            out: Record = {"tasks": [sb.render("tasks", t) for t in page]}
            if offset + sb.page_size < len(tasks):
                out["lastId"] = page[-1]["id"]
            return out


def apply_update(sb: OnfleetBase, task: Record, body: Record) -> None:
    """Apply a partial ``PUT /tasks/{id}`` (under the sandbox lock)."""
    if task["state"] == 3:
        raise invalid("Task has been completed and cannot be modified", cause=task["id"])
    if task["state"] == 2 and set(body) - ACTIVE_EDITABLE - {"id"}:
        fields = sorted(set(body) - ACTIVE_EDITABLE - {"id"})
        raise invalid(f"Active tasks cannot change {', '.join(fields)}", cause=task["id"])
    changes: Record = {}
    for key in ("notes", "completeAfter", "completeBefore", "quantity", "serviceTime"):
        if key in body:
            changes[key] = body[key]
    if "pickupTask" in body:
        changes["pickupTask"] = bool(body["pickupTask"])
    if "metadata" in body:
        if not isinstance(body["metadata"], list):
            raise invalid("metadata must be an array")
        changes["metadata"] = body["metadata"]
    if "dependencies" in body:
        changes["dependencies"] = check_dependencies(sb, body["dependencies"])
    container = worker_id = None
    if "container" in body:
        container, worker_id = resolve_container(sb, body["container"])
    check_times({**task, **changes})
    if "destination" in body:
        changes["destination"] = build_destination(sb, body["destination"])
    if "recipients" in body:
        changes["recipients"] = build_recipients(sb, body["recipients"])
    task.update(changes)
    if worker_id:
        sb.assign(task, worker_id)
    elif container is not None:
        sb.unassign(task, container)
    task["timeLastModified"] = now_ms()
