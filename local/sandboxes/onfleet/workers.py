"""Onfleet sandbox: worker, team and container routes.

Besides Onfleet's own worker fields, ``PUT /workers/{id}`` accepts ``onDuty`` and ``location``
so tests can put a driver on duty (the real API leaves those to the driver app).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from local.sandboxes.framework import Record, SandboxError, first_missing, now_ms
from local.sandboxes.onfleet.base import OnfleetBase, invalid, normalize_phone

MAX_CONTAINER_TASKS = 10_000
WORKER_EDITABLE = ("name", "displayName", "capacity", "vehicle", "metadata", "onDuty", "location")


def worker_state(worker: Record) -> int:
    """0 off duty, 1 idle (on duty, no active task), 2 active."""
    if not worker.get("onDuty"):
        return 0
    return 2 if worker.get("activeTask") else 1


def unique_phone(sb: OnfleetBase, value: Any, worker_id: str | None = None) -> str:
    """The E.164 phone, or 400 when invalid / 409 when another worker has it."""
    phone = normalize_phone(value)
    if phone is None:
        raise invalid(f"Invalid phone number {value!r}", cause="phone")
    for other in sb.all("workers"):
        if other["phone"] == phone and other["id"] != worker_id:
            raise SandboxError(409, f"A worker with phone number {phone} already exists")
    return phone


def check_teams(sb: OnfleetBase, value: Any) -> list[str]:
    """A non-empty list of existing team ids."""
    if not isinstance(value, list) or not value:
        raise invalid("teams must be a non-empty array of team ids", cause="teams")
    for team_id in value:
        if sb.get("teams", team_id) is None:
            raise invalid(f"team {team_id} does not exist", cause="teams")
    return list(dict.fromkeys(value))


def set_worker_teams(sb: OnfleetBase, worker: Record, teams: list[str]) -> None:
    """Set a worker's teams and keep every team's ``workers`` list in step."""
    for team in sb.all("teams"):
        members = [w for w in team["workers"] if w != worker["id"]]
        if team["id"] in teams:
            members.append(worker["id"])
        team["workers"] = members
    worker["teams"] = teams


def seed_worker(sb: OnfleetBase, record: Record) -> Record:
    """Defaults for a seeded worker; adds it to its teams."""
    ts = now_ms()
    record["phone"] = normalize_phone(record.get("phone")) or record.get("phone")
    for key, value in worker_defaults(sb, ts).items():
        record.setdefault(key, value)
    listed_by_teams = [t["id"] for t in sb.all("teams") if record["id"] in t["workers"]]
    teams = [t for t in record["teams"] if sb.get("teams", t)] + listed_by_teams
    set_worker_teams(sb, record, list(dict.fromkeys(teams)))
    return record


def worker_defaults(sb: OnfleetBase, ts: int) -> Record:
    """The fields a new worker starts with."""
    return {
        "organization": sb.organization["id"],
        "timeCreated": ts,
        "timeLastModified": ts,
        "timeLastSeen": None,
        "name": "",
        "displayName": None,
        "teams": [],
        "tasks": [],
        "activeTask": None,
        "onDuty": False,
        "location": None,
        "capacity": 0,
        "metadata": [],
        "vehicle": None,
        "accountStatus": "ACCEPTED",
        "imageUrl": None,
    }


def seed_team(sb: OnfleetBase, record: Record) -> Record:
    """Defaults for a seeded team."""
    ts = now_ms()
    for key, value in {
        "timeCreated": ts,
        "timeLastModified": ts,
        "workers": [],
        "managers": [],
        "hub": None,
        "enableSelfAssignment": False,
    }.items():
        record.setdefault(key, value)
    return record


def worker_container(sb: OnfleetBase, worker: Record) -> Record:
    """``GET /containers/workers/{id}``."""
    return {
        "id": worker["id"],
        "type": "WORKER",
        "worker": worker["id"],
        "organization": sb.organization["id"],
        "tasks": list(worker["tasks"]),
        "activeTask": worker.get("activeTask"),
        "timeCreated": worker["timeCreated"],
        "timeLastModified": worker["timeLastModified"],
    }


def register(bp: Blueprint, sb: OnfleetBase) -> None:
    """Add worker, team and container routes."""
    register_workers(bp, sb)
    register_teams(bp, sb)
    register_containers(bp, sb)


def register_workers(bp: Blueprint, sb: OnfleetBase) -> None:
    """``/workers`` routes."""

    @bp.post("/workers")
    def create_worker() -> Record:
        body = sb.json_body()
        missing = first_missing(body, ("name", "phone", "teams"))
        if missing:
            raise invalid(f"{missing} is required", cause=missing)
        with sb.lock:
            teams = check_teams(sb, body["teams"])
            worker = worker_defaults(sb, now_ms())
            worker.update({k: body[k] for k in WORKER_EDITABLE if k in body})
            worker.update(id=sb.new_id("workers"), phone=unique_phone(sb, body["phone"]))
            sb.insert("workers", worker)
            set_worker_teams(sb, worker, teams)
        sb.emit_trigger("workerCreated", worker=worker)
        return sb.render("workers", worker)

    @bp.get("/workers")
    def list_workers() -> list[Record]:
        args = request.args
        teams = set(args["teams"].split(",")) if args.get("teams") else None
        phones = (
            {normalize_phone(p) for p in args["phones"].split(",")} if "phones" in args else None
        )
        try:
            states = {int(s) for s in args["states"].split(",")} if args.get("states") else None
        except ValueError:
            raise invalid("states must be a comma separated list of 0, 1, 2") from None
        fields = args["filter"].split(",") if args.get("filter") else None
        with sb.lock:
            out = []
            for worker in sb.all("workers"):
                if teams is not None and not teams & set(worker["teams"]):
                    continue
                if phones is not None and worker["phone"] not in phones:
                    continue
                if states is not None and worker_state(worker) not in states:
                    continue
                rendered = sb.render("workers", worker)
                out.append(
                    {k: rendered[k] for k in fields if k in rendered} if fields else rendered
                )
            return out

    @bp.get("/workers/<worker_id>")
    def get_worker(worker_id: str) -> Record:
        with sb.lock:
            return sb.render("workers", sb.require("workers", worker_id))

    @bp.put("/workers/<worker_id>")
    def update_worker(worker_id: str) -> Record:
        body = sb.json_body()
        with sb.lock:
            worker = sb.require("workers", worker_id)
            changes = {k: body[k] for k in WORKER_EDITABLE if k in body}
            if "phone" in body:
                changes["phone"] = unique_phone(sb, body["phone"], worker_id)
            teams = check_teams(sb, body["teams"]) if "teams" in body else None
            worker.update(changes, timeLastModified=now_ms())
            if teams is not None:
                set_worker_teams(sb, worker, teams)
            return sb.render("workers", worker)

    @bp.delete("/workers/<worker_id>")
    def delete_worker(worker_id: str) -> Response:
        with sb.lock:
            worker = sb.require("workers", worker_id)
            if worker.get("activeTask"):
                raise invalid("A worker with an active task cannot be deleted", cause=worker_id)
            released = [sb.require("tasks", t) for t in worker["tasks"]]
            for task in released:
                sb.unassign(task)
            set_worker_teams(sb, worker, [])
            del sb.store["workers"][worker_id]
        for task in released:
            sb.emit_trigger("taskUnassigned", task=task)
        sb.emit_trigger("workerDeleted", worker=worker)
        return Response(status=200)


def register_teams(bp: Blueprint, sb: OnfleetBase) -> None:
    """``/teams`` routes."""

    def check_name(name: Any, team_id: str | None = None) -> str:
        if not isinstance(name, str) or not name.strip():
            raise invalid("name is required", cause="name")
        for team in sb.all("teams"):
            if team["name"].lower() == name.lower() and team["id"] != team_id:
                raise SandboxError(409, f"A team named {name!r} already exists")
        return name

    def set_members(team: Record, workers: Any) -> None:
        if not isinstance(workers, list) or not all(sb.get("workers", w) for w in workers):
            raise invalid("workers must be existing worker ids", cause="workers")
        for worker in sb.all("workers"):
            if worker["id"] in workers and team["id"] not in worker["teams"]:
                worker["teams"].append(team["id"])
            elif worker["id"] not in workers and team["id"] in worker["teams"]:
                worker["teams"].remove(team["id"])
        team["workers"] = list(dict.fromkeys(workers))

    @bp.post("/teams")
    def create_team() -> Record:
        body = sb.json_body()
        with sb.lock:
            team = seed_team(sb, {"id": sb.new_id("teams"), "name": check_name(body.get("name"))})
            team.update({k: body[k] for k in ("managers", "hub") if k in body})
            set_members(team, body.get("workers", []))
            sb.insert("teams", team)
            return sb.render("teams", team)

    @bp.get("/teams")
    def list_teams() -> list[Record]:
        with sb.lock:
            return [sb.render("teams", t) for t in sb.all("teams")]

    @bp.get("/teams/<team_id>")
    def get_team(team_id: str) -> Record:
        with sb.lock:
            return sb.render("teams", sb.require("teams", team_id))

    @bp.put("/teams/<team_id>")
    def update_team(team_id: str) -> Record:
        body = sb.json_body()
        with sb.lock:
            team = sb.require("teams", team_id)
            if "name" in body:
                team["name"] = check_name(body["name"], team_id)
            if "workers" in body:
                set_members(team, body["workers"])
            team.update({k: body[k] for k in ("managers", "hub") if k in body})
            team["timeLastModified"] = now_ms()
            return sb.render("teams", team)

    @bp.delete("/teams/<team_id>")
    def delete_team(team_id: str) -> Response:
        with sb.lock:
            team = sb.require("teams", team_id)
            set_members(team, [])
            for task in sb.all("tasks"):
                if task["state"] == 0 and (task.get("container") or {}).get("team") == team_id:
                    task["container"] = sb.org_container()
            del sb.store["teams"][team_id]
        return Response(status=200)


def register_containers(bp: Blueprint, sb: OnfleetBase) -> None:
    """``/containers`` routes."""

    @bp.get("/containers/workers/<worker_id>")
    def get_worker_container(worker_id: str) -> Record:
        with sb.lock:
            return worker_container(sb, sb.require("workers", worker_id))

    @bp.get("/containers/teams/<team_id>")
    def get_team_container(team_id: str) -> Record:
        with sb.lock:
            team = sb.require("teams", team_id)
            tasks = sb.render("teams", team)["tasks"]
            return {"id": team_id, "type": "TEAM", "team": team_id, "tasks": tasks}

    @bp.get("/containers/organizations/<org_id>")
    def get_org_container(org_id: str) -> Record:
        if org_id != sb.organization["id"]:
            raise SandboxError(404, f"organization {org_id} not found")
        with sb.lock:
            tasks = [
                t["id"]
                for t in sb.all("tasks")
                if t["state"] == 0 and t["container"].get("type") == "ORGANIZATION"
            ]
        return {"id": org_id, "type": "ORGANIZATION", "organization": org_id, "tasks": tasks}

    @bp.put("/containers/workers/<worker_id>")
    def put_worker_container(worker_id: str) -> Record:
        body = sb.json_body()
        with sb.lock:
            worker = sb.require("workers", worker_id)
            added, removed = replace_worker_tasks(sb, worker, body.get("tasks"))
            worker["timeLastModified"] = now_ms()
            container = worker_container(sb, worker)
        for task in removed:
            sb.emit_trigger("taskUnassigned", task=task)
        for task in added:
            sb.emit_trigger("taskAssigned", task=task)
        return container


def replace_worker_tasks(
    sb: OnfleetBase, worker: Record, value: Any
) -> tuple[list[Record], list[Record]]:
    """Onfleet's replace (``[ids]``) or insert (``[index, ids...]``, -1 appends) semantics."""
    if not isinstance(value, list):
        raise invalid("tasks must be an array", cause="tasks")
    insert_at = None
    if value and isinstance(value[0], int) and not isinstance(value[0], bool):
        insert_at, value = value[0], value[1:]
    ids = list(dict.fromkeys(value))
    if len(ids) > MAX_CONTAINER_TASKS:
        raise invalid(f"A container holds at most {MAX_CONTAINER_TASKS} tasks", cause="tasks")
    tasks = []
    for task_id in ids:
        task = sb.get("tasks", task_id) if isinstance(task_id, str) else None
        if task is None:
            raise invalid(f"task {task_id} does not exist", cause="tasks")
        if task["state"] == 3:
            raise invalid(f"task {task_id} is completed", cause="tasks")
        tasks.append(task)
    old = list(worker["tasks"])
    if insert_at is None:
        new = ids
    else:
        rest = [t for t in old if t not in ids]
        index = len(rest) if insert_at < 0 else min(insert_at, len(rest))
        new = rest[:index] + ids + rest[index:]
    removed = [sb.require("tasks", t) for t in old if t not in new]
    for task in removed:
        sb.unassign(task)
    added = [t for t in tasks if t["id"] not in old]
    for task in tasks:
        sb.assign(task, worker["id"])
        task["timeLastModified"] = now_ms()
    worker["tasks"] = new
    return added, removed
