"""Fetched Onfleet tasks/workers → Nextmv router input, for a whole run (issue 7, §4-7).

Pure: no network. The caller fetches (`onfleet.fetch`), then calls `build_onfleet_input`, which
turns each task into a stop (`onfleet.stops`) and each worker into a vehicle
(`onfleet.vehicles`), then settles what needs the whole run: backlogs, windows, dimensions.
Choices the issue leaves open:

- Compatibility flags switch only the native-field transforms; `nextmv:0.1:*` metadata
  (`onfleet.metadata`) always applies and overrides the native value it competes with.
- References to tasks outside the run: native Onfleet ones (a task's `dependencies`, a worker's
  `tasks`/`activeTask`) are dropped and recorded in the transforms, as they are usually completed
  or someone else's work; explicit ones (request groups, metadata `precedes`, `backlog`,
  `alternate_stops`) fail the run, naming them. "In the run" means a requested task that is not
  an alternate stop.
- `hard_window` is `[completeAfter, completeBefore]` in RFC 3339 (UTC). A side Onfleet leaves open
  is closed at the run's horizon: the earliest start known (completeAfter, shift_start, defaults)
  or the latest end known (completeBefore, shift_end, defaults); with none known, the earliest
  (latest) time in the run minus (plus) one day. The solver only knows closed windows.
- Quantities: the native `quantity` is dimension `"default"`; metadata adds dimensions next to
  it (task value plus metadata -> multi-dimension): a metadata number is dimension
  `"metadata"`, a metadata object's keys are its dimensions (a `"default"` key beside a native
  value fails the run). A pickup's quantity is negative however it is set (native, metadata
  number or object). When anything in the run (stops, vehicles, defaults) is multi-dimension,
  every scalar becomes `{"default": n}` so the dimensions agree. Capacities combine the same
  way (never negated). Onfleet's capacity 0 means "never set": no capacity. A quantity 0 or
  service time 0 sets nothing.
- `backlog` = `[activeTask] + tasks` (each behind its flag) + metadata `backlog`, deduplicated; a
  task in two backlogs fails the run.
- Alternate stops: the tasks listed in `onfleet.alternate_stops` become the router's top-level
  `alternate_stops` (full stop objects) instead of `stops`, with `exclusive_alternate_stops`
  (an Onfleet task belongs to one worker: no result puts one on two workers). A vehicle gets
  the ids in its `nextmv:0.1:alternate_stops` metadata (a subset of the run's), or all of them
  without it; an alternate task already assigned to a worker in Onfleet (its `worker`, or the
  worker's `tasks`/`activeTask`) is that worker's only (metadata naming another's fails).
- `stop_groups` and `duration_groups` pass through with task ids as stop ids; a task may be in
  one stop group at most, and alternate stops may not be grouped.
- Stops follow `tasks.ids` order and vehicles `workers.ids` order. `defaults`/`options` given as
  arguments (e.g. the run profile's) are deep-merged under the request's `routing` ones.
- Fetching (query params, paging) is described in `onfleet.fetch`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fleetbridge.routing.onfleet.fetch import select_requested
from fleetbridge.routing.onfleet.metadata import parse_time, rfc3339, rfc3339_from_ms
from fleetbridge.routing.onfleet.models import PlanningTask, PlanningWorker, parse_planning
from fleetbridge.routing.onfleet.records import (
    DEFAULT_DIMENSION,
    TransformContext,
    Window,
    fail,
)
from fleetbridge.routing.onfleet.request import Compatibility, OnfleetRunRequest
from fleetbridge.routing.onfleet.stops import task_stop
from fleetbridge.routing.onfleet.vehicles import worker_vehicle

__all__ = ["RouterBuild", "build_onfleet_input"]

OPEN_SIDE = timedelta(days=1)


@dataclass
class RouterBuild:
    """The router input and, per task/worker, what each transform did (the "parsed input")."""

    router_input: dict[str, Any]
    transforms: dict[str, Any] = field(default_factory=dict)


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _times(*values: Any) -> list[datetime]:
    found = []
    for value in values:
        try:
            found.append(parse_time(value))
        except ValueError:
            continue  # absent, or the solver's to reject (defaults are not ours to check)
    return found


def _close_windows(
    pending: dict[str, Window],
    stops: dict[str, dict[str, Any]],
    vehicles: list[dict[str, Any]],
    defaults: Mapping[str, Any],
    ctx: TransformContext,
) -> None:
    """Write each hard_window, closing open sides at the run's horizon (see module doc)."""
    vehicle_defaults = defaults.get("vehicles") or {}
    starts = _times(*(a for a, _ in pending.values() if a is not None))
    starts += _times(*(v.get("shift_start") for v in vehicles), vehicle_defaults.get("shift_start"))
    ends = _times(*(b for _, b in pending.values() if b is not None))
    ends += _times(*(v.get("shift_end") for v in vehicles), vehicle_defaults.get("shift_end"))
    if not (starts or ends):
        return
    horizon_start = min(starts) if starts else min(ends) - OPEN_SIDE
    horizon_end = max(ends) if ends else max(starts) + OPEN_SIDE
    for task_id, (after, before) in pending.items():
        start = parse_time(after) if after is not None else min(horizon_start, parse_time(before))
        end = parse_time(before) if before is not None else max(horizon_end, start)
        window = [rfc3339_from_ms(after) if after is not None else rfc3339(start)]
        window.append(rfc3339_from_ms(before) if before is not None else rfc3339(end))
        stops[task_id]["hard_window"] = window
        open_side = "" if None not in (after, before) else "; open side closed at the run horizon"
        source = f"completeAfter/completeBefore{open_side}"
        ctx.note("tasks", task_id, "hard_window", source, value=window)


def _normalise_dimensions(
    stops: Iterable[dict[str, Any]],
    vehicles: list[dict[str, Any]],
    defaults: dict[str, Any],
    ctx: TransformContext,
) -> None:
    """When any quantity or capacity is a map, wrap every scalar as `{"default": n}`."""
    holders = [(stop, "quantity") for stop in stops] + [(v, "capacity") for v in vehicles]
    if isinstance(defaults.get("stops"), dict):
        holders.append((defaults["stops"], "quantity"))
    if isinstance(defaults.get("vehicles"), dict):
        holders.append((defaults["vehicles"], "capacity"))
    if not any(isinstance(holder.get(key), dict) for holder, key in holders):
        return
    for holder, key in holders:
        if isinstance(holder.get(key), int | float):
            holder[key] = {DEFAULT_DIMENSION: holder[key]}
    ctx.run_notes.append(
        "multi-dimension quantities: scalar quantities and capacities go under "
        f'"{DEFAULT_DIMENSION}"'
    )


def _alternate_owners(
    tasks: Sequence[PlanningTask], workers: Sequence[PlanningWorker], alternates: Sequence[str]
) -> dict[str, str]:
    """Alternate tasks already assigned in Onfleet (task `worker`, or a worker's `tasks` /
    `activeTask`), with their worker: only that worker may use them."""
    wanted = set(alternates)
    owner = {t.id: t.worker for t in tasks if t.id in wanted and t.worker}
    for worker in workers:
        for task_id in [
            *(worker.tasks or []),
            *([worker.active_task] if worker.active_task else []),
        ]:
            if task_id in wanted:
                owner.setdefault(task_id, worker.id)
    return owner


def build_onfleet_input(
    tasks: Sequence[Mapping[str, Any]],
    workers: Sequence[Mapping[str, Any]],
    run_request: OnfleetRunRequest,
    compatibility: Compatibility | None = None,
    defaults: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> RouterBuild:
    """The Nextmv router input for the requested tasks and workers, with a record of transforms.

    `tasks`/`workers` are the fetched Onfleet objects (a superset is fine); `defaults`/`options`
    (e.g. from the run profile) sit under the request's own. Raises `RunInputError`.
    """
    selection, flags = run_request.onfleet, compatibility or Compatibility()
    picked_tasks = select_requested(tasks, selection.tasks.ids, kind="task")
    picked_workers = select_requested(workers, selection.workers.ids, kind="worker")
    alternates = list(selection.alternate_stops)
    routed = {i for i in selection.tasks.ids if i not in set(alternates)}
    ctx = TransformContext(routed=routed, alternates=alternates)
    # deep copies: the dimension normalisation below writes into the defaults
    merged_defaults = copy.deepcopy(_deep_merge(defaults or {}, run_request.routing.defaults or {}))
    merged_options = copy.deepcopy(_deep_merge(options or {}, run_request.routing.options or {}))

    parsed_tasks = [parse_planning(PlanningTask, "task", item) for item in picked_tasks]
    parsed_workers = [parse_planning(PlanningWorker, "worker", w) for w in picked_workers]
    ctx.alternate_owner = _alternate_owners(parsed_tasks, parsed_workers, alternates)
    stops: dict[str, dict[str, Any]] = {}
    pending: dict[str, Window] = {}
    for task in parsed_tasks:
        stop, window = task_stop(task, flags.tasks, ctx)
        stops[stop["id"]] = stop
        if window is not None:
            pending[stop["id"]] = window
    vehicles = [worker_vehicle(worker, flags.workers, ctx) for worker in parsed_workers]

    owner: dict[str, str] = {}
    for vehicle in vehicles:
        for task_id in vehicle.get("backlog", []):
            if task_id in owner:
                raise fail(
                    "task",
                    task_id,
                    "backlog",
                    f" is in the backlog of workers {owner[task_id]} and {vehicle['id']}",
                )
            owner[task_id] = vehicle["id"]

    _close_windows(pending, stops, vehicles, merged_defaults, ctx)
    _normalise_dimensions(stops.values(), vehicles, merged_defaults, ctx)

    router: dict[str, Any] = {}
    if merged_options:
        router["options"] = merged_options
    if merged_defaults:
        router["defaults"] = merged_defaults
    router["vehicles"] = vehicles
    router["stops"] = [stops[i] for i in selection.tasks.ids if i in routed]
    if selection.stop_groups:
        router["stop_groups"] = [list(group) for group in selection.stop_groups]
    if alternates:
        router["alternate_stops"] = [stops[i] for i in alternates]
        router["exclusive_alternate_stops"] = True  # an Onfleet task belongs to one worker
    if selection.duration_groups:
        router["duration_groups"] = [g.model_dump() for g in selection.duration_groups]
    transforms = {**ctx.records, "run": ctx.run_notes}
    return RouterBuild(router_input=router, transforms=transforms)
