"""One Onfleet task → one router stop (position, window, quantity, duration, precedence), with
the record of what each transform did. The window is closed later, for the whole run.
"""

from __future__ import annotations

from typing import Any

from fleetbridge.routing.onfleet.metadata import parse_extensions
from fleetbridge.routing.onfleet.models import PlanningTask
from fleetbridge.routing.onfleet.records import (
    EntityLog,
    TransformContext,
    Window,
    fail,
    merge_quantity,
    native_amount,
    native_position,
)
from fleetbridge.routing.onfleet.request import TaskCompatibility, show_ids

__all__ = ["task_stop"]


def _task_position(
    task: PlanningTask, ext: dict[str, Any], on: bool, log: EntityLog
) -> dict[str, float]:
    location = task.destination.location if task.destination else None
    if "position" in ext:
        log("position", "metadata nextmv:0.1:position", value=ext["position"])
        return ext["position"]  # type: ignore[no-any-return]
    if location and on:
        position = native_position("task", task.id, location)
        log("position", "destination.location", value=position)
        return position
    if location:
        log.skipped("position", "destination.location", "location")
    raise fail(
        "task",
        task.id,
        "position",
        " has no position: no destination.location (or compatibility.tasks.location is false)"
        " and no nextmv:0.1:position metadata",
    )


def _task_window(task: PlanningTask, on: bool, log: EntityLog) -> Window | None:
    after, before = task.complete_after, task.complete_before
    if after is None and before is None:
        return None
    if not on:
        log.skipped("hard_window", "completeAfter/completeBefore", "complete_before_after")
        return None
    if after is not None and before is not None and after > before:
        raise fail("task", task.id, "hard_window", ": completeAfter is later than completeBefore")
    return (after, before)


def _task_quantity(task: PlanningTask, ext: dict[str, Any], on: bool, log: EntityLog) -> Any:
    native = native_amount(task.quantity, on, log, "task", task.id, "quantity")
    if native is not None:
        native = -native if task.pickup_task else native
        log(
            "quantity",
            "quantity, negated for a pickup" if task.pickup_task else "quantity",
            value=native,
        )
    extension = ext.get("quantity")
    if extension is not None and task.pickup_task:  # a pick-up is negative however it is set
        if isinstance(extension, dict):
            extension = {key: -abs(amount) for key, amount in extension.items()}
        else:
            extension = -abs(extension)
    quantity = merge_quantity(native, extension, "task", task.id, "quantity")
    if "quantity" in ext:
        source = "metadata nextmv:0.1:quantity" + (
            ", negated for a pickup" if task.pickup_task else ""
        )
        log("quantity", source, value=quantity)
    return quantity


def task_stop(
    task: PlanningTask, flags: TaskCompatibility, ctx: TransformContext
) -> tuple[dict[str, Any], Window | None]:
    """The router stop of `task` and its still-open Onfleet window (closed for the whole run later)."""
    ext = parse_extensions("task", task.id, task.metadata)
    log = EntityLog(ctx, "tasks", task.id)
    stop: dict[str, Any] = {
        "id": task.id,
        "position": _task_position(task, ext, flags.location, log),
    }
    window = _task_window(task, flags.complete_before_after, log)

    alternate = task.id not in ctx.routed
    if alternate and (banned := sorted(ext.keys() & {"precedes", "compatibility_attributes"})):
        raise fail(
            "task",
            task.id,
            banned[0],
            f": metadata nextmv:0.1:{banned[0]} is not allowed on an alternate stop",
        )
    if task.dependencies and not flags.dependencies:
        log.skipped("succeeds", "dependencies", "dependencies")
    elif task.dependencies and alternate:
        log("succeeds", "dependencies", dropped=task.dependencies, note="an alternate stop")
    elif task.dependencies and (kept := log.kept("succeeds", "dependencies", task.dependencies)):
        stop["succeeds"] = kept

    if (quantity := _task_quantity(task, ext, flags.quantity, log)) is not None:
        stop["quantity"] = quantity
    if task.service_time is not None and task.service_time < 0 and flags.service_time:
        raise fail(
            "task", task.id, "serviceTime", f": serviceTime {task.service_time:g} is negative"
        )
    if task.service_time and not flags.service_time:
        log.skipped("stop_duration", "serviceTime", "service_time")
    elif task.service_time:
        stop["stop_duration"] = round(task.service_time * 60)
        log("stop_duration", "serviceTime (minutes x 60)", value=stop["stop_duration"])

    if outside := [i for i in ext.get("precedes", []) if i not in ctx.routed or i == task.id]:
        raise fail(
            "task",
            task.id,
            "precedes",
            ": metadata nextmv:0.1:precedes names tasks that are not other stops of this run: "
            + show_ids(outside),
            outside,
        )
    for attribute in ext.keys() - {"position", "quantity"}:
        stop[attribute] = ext[attribute]
        log(attribute, f"metadata nextmv:0.1:{attribute}", value=ext[attribute])
    return stop, window
