"""One Onfleet worker → one router vehicle (start, capacity, backlog, alternate stops), with the
record of what each transform did.
"""

from __future__ import annotations

from typing import Any

from fleetbridge.routing.onfleet.metadata import parse_extensions
from fleetbridge.routing.onfleet.models import PlanningWorker
from fleetbridge.routing.onfleet.records import (
    EntityLog,
    TransformContext,
    fail,
    merge_quantity,
    native_amount,
    native_position,
)
from fleetbridge.routing.onfleet.request import WorkerCompatibility, show_ids, unique_ids

__all__ = ["worker_vehicle"]


def _vehicle_capacity(worker: PlanningWorker, ext: dict[str, Any], on: bool, log: EntityLog) -> Any:
    native = native_amount(worker.capacity, on, log, "worker", worker.id, "capacity")
    if native is not None:
        log("capacity", "capacity", value=native)
    elif worker.capacity == 0 and on:
        log("capacity", "capacity", note="0 means never set in Onfleet: no capacity")
    capacity = merge_quantity(native, ext.get("capacity"), "worker", worker.id, "capacity")
    if "capacity" in ext:
        log("capacity", "metadata nextmv:0.1:capacity", value=capacity)
    return capacity


def _vehicle_backlog(
    worker: PlanningWorker, ext: dict[str, Any], flags: WorkerCompatibility, log: EntityLog
) -> list[str]:
    backlog: list[str] = []
    if worker.active_task and not flags.active_task:
        log.skipped("backlog", "activeTask", "active_task")
    elif worker.active_task:
        backlog += log.kept("backlog", "activeTask", [worker.active_task])
    if worker.tasks and not flags.tasks:
        log.skipped("backlog", "tasks", "tasks")
    elif worker.tasks:
        backlog += log.kept("backlog", "tasks", worker.tasks)
    if "backlog" in ext:
        if outside := [i for i in ext["backlog"] if i not in log.ctx.routed]:
            raise fail(
                "worker",
                worker.id,
                "backlog",
                ": metadata nextmv:0.1:backlog names tasks that are not stops of this run: "
                + show_ids(outside),
                outside,
            )
        backlog += ext["backlog"]
        log("backlog", "metadata nextmv:0.1:backlog", value=ext["backlog"])
    return unique_ids(backlog)


def worker_vehicle(
    worker: PlanningWorker, flags: WorkerCompatibility, ctx: TransformContext
) -> dict[str, Any]:
    """The router vehicle of `worker`."""
    ext = parse_extensions("worker", worker.id, worker.metadata)
    log = EntityLog(ctx, "workers", worker.id)
    vehicle: dict[str, Any] = {"id": worker.id}

    if "start" in ext:
        vehicle["start"] = ext["start"]
        log("start", "metadata nextmv:0.1:start", value=ext["start"])
    elif worker.location and flags.location:
        vehicle["start"] = native_position("worker", worker.id, worker.location)
        log("start", "location", value=vehicle["start"])
    elif worker.location:
        log.skipped("start", "location", "location")

    if (capacity := _vehicle_capacity(worker, ext, flags.capacity, log)) is not None:
        vehicle["capacity"] = capacity
    if backlog := _vehicle_backlog(worker, ext, flags, log):
        vehicle["backlog"] = backlog

    if "alternate_stops" in ext:
        if outside := [i for i in ext["alternate_stops"] if i not in ctx.alternates]:
            raise fail(
                "worker",
                worker.id,
                "alternate_stops",
                ": metadata nextmv:0.1:alternate_stops names tasks not in "
                f"onfleet.alternate_stops: {show_ids(outside)}",
                outside,
            )
        theirs = [
            i for i in ext["alternate_stops"] if ctx.alternate_owner.get(i, worker.id) != worker.id
        ]
        if theirs:
            raise fail(
                "worker",
                worker.id,
                "alternate_stops",
                ": metadata nextmv:0.1:alternate_stops names alternate tasks assigned to another "
                "worker in Onfleet: "
                + ", ".join(f"{i} (worker {ctx.alternate_owner[i]})" for i in theirs),
                theirs,
            )
        vehicle["alternate_stops"] = ext["alternate_stops"]
        log("alternate_stops", "metadata nextmv:0.1:alternate_stops", value=ext["alternate_stops"])
    elif ctx.alternates:
        usable = [i for i in ctx.alternates if ctx.alternate_owner.get(i, worker.id) == worker.id]
        others = [i for i in ctx.alternates if i not in usable]
        vehicle["alternate_stops"] = usable
        log(
            "alternate_stops",
            "onfleet.alternate_stops (all but those assigned to other workers)",
            value=usable,
            **(
                {"dropped": others, "note": "assigned to another worker in Onfleet"}
                if others
                else {}
            ),
        )

    for attribute in ext.keys() - {"start", "capacity", "backlog", "alternate_stops"}:
        vehicle[attribute] = ext[attribute]
        log(attribute, f"metadata nextmv:0.1:{attribute}", value=ext[attribute])
    return vehicle
