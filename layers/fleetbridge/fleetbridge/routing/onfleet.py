"""Onfleet run requests, and fetched Onfleet tasks/workers → Nextmv router input (issue 7, §4-7).

Pure: no network. The caller fetches (`walk_task_pages` takes the page fetcher as a function),
then `select_requested` and `build_onfleet_input`. Choices the issue leaves open:

- Compatibility flags switch only the native-field transforms; `nextmv:0.1:*` metadata
  (`routing.onfleet_metadata`) always applies and overrides the native value it competes with.
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
- Query params: snake_case or camelCase keys; lists are sent comma-separated; a workers `filter`
  always gets the fields the transform reads. `/tasks/all` is walked up to a page limit
  (`DEFAULT_TASK_PAGE_LIMIT` pages of 64, or `tasks.page_limit`), stopping early once every
  requested id was seen.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from fleetbridge.routing.onfleet_metadata import (
    Entity,
    RunInputError,
    parse_extensions,
    parse_position,
    parse_time,
    rfc3339,
    rfc3339_from_ms,
)

__all__ = [
    "DEFAULT_DIMENSION",
    "DEFAULT_TASK_PAGE_LIMIT",
    "Compatibility",
    "OnfleetRunRequest",
    "OnfleetTask",
    "OnfleetWorker",
    "RouterBuild",
    "RunInputError",
    "TaskParams",
    "WorkerParams",
    "build_onfleet_input",
    "build_router_input",
    "select_requested",
    "task_query_params",
    "walk_task_pages",
    "worker_query_params",
]

DEFAULT_TASK_PAGE_LIMIT = 50  # x 64 tasks a page = 3,200 tasks scanned
DEFAULT_DIMENSION = "default"
METADATA_DIMENSION = "metadata"  # the dimension of a plain-number metadata quantity/capacity
WORKER_FIELDS = ("id", "name", "tasks", "activeTask", "location", "capacity", "metadata")
OPEN_SIDE = timedelta(days=1)
TaskId = Annotated[str, Field(min_length=1)]


# ----------------------------------------------------------------------------- request models
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Params(BaseModel):
    """Query params: snake_case or Onfleet's camelCase keys; unknown keys are typos, so refused."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )


class TaskParams(_Params):
    """`GET /tasks/all` params (`lastId` is ours to page with)."""

    from_: int = Field(alias="from", ge=0, description="Unix ms, required by Onfleet")
    to: int | None = Field(default=None, ge=0)
    state: list[int] | int | str | None = None
    worker: str | None = None
    complete_before_before: int | None = None
    complete_after_after: int | None = None
    dependencies: bool | str | None = None


class WorkerParams(_Params):
    """`GET /workers` params."""

    filter: list[str] | str | None = None
    teams: list[str] | str | None = None
    states: list[int] | int | str | None = None
    phones: list[str] | str | None = None


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


class RunProfileRef(_Strict):
    id: str = Field(min_length=1)


class RoutingRequest(_Strict):
    run_profile: RunProfileRef
    options: dict[str, Any] | None = None
    defaults: dict[str, Any] | None = None


class TaskSelection(_Strict):
    ids: list[TaskId] = Field(min_length=1)
    params: TaskParams
    page_limit: int | None = Field(default=None, ge=1, le=1000, description="pages of 64")

    _dedupe = field_validator("ids")(_unique)


class WorkerSelection(_Strict):
    ids: list[TaskId] = Field(min_length=1)
    params: WorkerParams = Field(default_factory=lambda: WorkerParams())

    _dedupe = field_validator("ids")(_unique)


class DurationGroup(_Strict):
    group: list[TaskId] = Field(min_length=1)
    duration: int = Field(ge=0, description="seconds added once when the group is served")


class OnfleetSelection(_Strict):
    tasks: TaskSelection
    workers: WorkerSelection
    stop_groups: list[Annotated[list[TaskId], Field(min_length=2)]] = Field(default_factory=list)
    alternate_stops: list[TaskId] = Field(default_factory=list)
    duration_groups: list[DurationGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _groups_name_routed_tasks(self) -> OnfleetSelection:
        requested, alternates = set(self.tasks.ids), set(self.alternate_stops)
        if missing := [i for i in self.alternate_stops if i not in requested]:
            raise ValueError(f"alternate_stops not in tasks.ids: {_ids(missing)}")
        grouped = [i for g in self.stop_groups for i in g]
        for name, ids in (("stop_groups", grouped), ("duration_groups", self._duration_ids())):
            if missing := [i for i in ids if i not in requested]:
                raise ValueError(f"{name} name tasks not in tasks.ids: {_ids(missing)}")
            if alternate := [i for i in ids if i in alternates]:
                raise ValueError(f"{name} name alternate stops: {_ids(alternate)}")
        if twice := sorted({i for i in grouped if grouped.count(i) > 1}):
            raise ValueError(f"tasks in more than one stop group: {_ids(twice)}")
        return self

    def _duration_ids(self) -> list[str]:
        return [i for g in self.duration_groups for i in g.group]


class OnfleetRunRequest(_Strict):
    """Body of `POST /v1/integrations/onfleet/run`."""

    routing: RoutingRequest
    onfleet: OnfleetSelection


# ----------------------------------------------------------------------------- compatibility
class _Flags(_Strict):
    @field_validator("*", mode="before")
    @classmethod
    def _unset_is_true(cls, value: Any) -> Any:
        return True if value is None else value  # "any flag not explicitly false is true"


class TaskCompatibility(_Flags):
    complete_before_after: StrictBool = True
    dependencies: StrictBool = True
    location: StrictBool = True
    quantity: StrictBool = True
    service_time: StrictBool = True


class WorkerCompatibility(_Flags):
    active_task: StrictBool = True
    capacity: StrictBool = True
    location: StrictBool = True
    tasks: StrictBool = True


class Compatibility(_Strict):
    """Integration profile `configuration.compatibility`: which native fields are transformed."""

    tasks: TaskCompatibility = Field(default_factory=TaskCompatibility)
    workers: WorkerCompatibility = Field(default_factory=WorkerCompatibility)

    @field_validator("tasks", "workers", mode="before")
    @classmethod
    def _unset_is_default(cls, value: Any) -> Any:
        return {} if value is None else value

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, Any] | None) -> Compatibility:
        """The flags of an integration profile's `configuration` (all true when absent)."""
        return cls.model_validate((configuration or {}).get("compatibility") or {})


# ----------------------------------------------------------------------------- query params
def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_query_value(item) for item in value)
    return str(value)


def task_query_params(params: TaskParams, last_id: str | None = None) -> dict[str, str]:
    """`GET /tasks/all` query string values, camelCase, with `lastId` when paging on."""
    query = {
        k: _query_value(v) for k, v in params.model_dump(by_alias=True).items() if v is not None
    }
    if last_id:
        query["lastId"] = last_id
    return query


def worker_query_params(params: WorkerParams) -> dict[str, str]:
    """`GET /workers` query string values; a `filter` keeps the fields the transform needs."""
    dumped = params.model_dump(by_alias=True, exclude_none=True)
    if "filter" in dumped:
        asked = dumped["filter"] if isinstance(dumped["filter"], list) else [dumped["filter"]]
        fields = [f.strip() for item in asked for f in item.split(",") if f.strip()]
        dumped["filter"] = _unique(fields + list(WORKER_FIELDS))
    return {key: _query_value(value) for key, value in dumped.items()}


# ----------------------------------------------------------------------------- fetch results
FetchPage = Callable[[dict[str, str]], Mapping[str, Any]]


def walk_task_pages(
    fetch_page: FetchPage, selection: TaskSelection, page_limit: int | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """Walk `GET /tasks/all` pages through `fetch_page(query)` by `lastId`.

    Stops at the last page, once every requested id was seen, or at the page limit (the
    request's `page_limit`, else `page_limit`, else `DEFAULT_TASK_PAGE_LIMIT`). Returns the tasks
    seen and whether the limit stopped the walk with ids still unseen.
    """
    limit = selection.page_limit or page_limit or DEFAULT_TASK_PAGE_LIMIT
    wanted, seen, last_id = set(selection.ids), list[dict[str, Any]](), None
    for _ in range(limit):
        page = fetch_page(task_query_params(selection.params, last_id))
        batch = list(page.get("tasks") or [])
        seen.extend(batch)
        wanted.difference_update(task.get("id") for task in batch)
        last_id = page.get("lastId")
        if not wanted or not last_id:
            return seen, False
    return seen, True


def _ids(ids: Sequence[str], shown: int = 20) -> str:
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more


def select_requested(
    items: Iterable[Mapping[str, Any]],
    ids: Sequence[str],
    page_limit_hit: bool = False,
    *,
    kind: str = "task",
    page_limit: int | None = None,
) -> list[dict[str, Any]]:
    """The fetched Onfleet objects with the requested ids, in request order.

    Raises `RunInputError` naming every id not found (and, for tasks, that the page limit hit).
    """
    by_id = {item.get("id"): dict(item) for item in items}
    missing = [i for i in ids if i not in by_id]
    if missing:
        message = f"onfleet {kind}s not found: {_ids(missing)}"
        if page_limit_hit:
            pages = f"{page_limit} pages" if page_limit else "the page limit"
            message += (
                f" (stopped at {pages} of GET /tasks/all before seeing them: narrow "
                "tasks.params such as from/to/state, or raise tasks.page_limit)"
            )
        raise RunInputError(message, ids=missing, field=f"onfleet.{kind}s.ids")
    return [by_id[i] for i in ids]


# ----------------------------------------------------------------------------- Onfleet objects
class _Onfleet(BaseModel):
    model_config = ConfigDict(
        extra="ignore", alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )


class _Destination(_Onfleet):
    location: list[float] | None = None


class OnfleetTask(_Onfleet):
    """The task fields the transform reads."""

    id: str
    worker: str | None = None
    complete_after: float | None = None
    complete_before: float | None = None
    pickup_task: bool | None = None
    dependencies: list[str] | None = None
    quantity: float | None = None
    service_time: float | None = None
    destination: _Destination | None = None
    metadata: list[Any] | None = None


class OnfleetWorker(_Onfleet):
    """The worker fields the transform reads."""

    id: str
    tasks: list[str] | None = None
    active_task: str | None = None
    location: list[float] | None = None
    capacity: float | None = None
    metadata: list[Any] | None = None


def _parse[M: _Onfleet](model: type[M], kind: str, item: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(item)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RunInputError(
            f"{kind} {item.get('id')}: unexpected Onfleet {where}: {first['msg']}",
            ids=[str(item.get("id"))],
        ) from None


# ----------------------------------------------------------------------------- transform
Window = tuple[float | None, float | None]  # Onfleet ms: (completeAfter, completeBefore)
NOT_IN_RUN = "not stops of this run"


@dataclass
class RouterBuild:
    """The router input and, per task/worker, what each transform did (the "parsed input")."""

    router_input: dict[str, Any]
    transforms: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Context:
    routed: set[str]  # requested tasks that are regular stops
    alternates: list[str]
    alternate_owner: dict[str, str] = field(default_factory=dict)  # assigned in Onfleet
    records: dict[str, dict[str, list[dict[str, Any]]]] = field(
        default_factory=lambda: {"tasks": {}, "workers": {}}
    )
    run_notes: list[str] = field(default_factory=list)

    def note(self, kind: str, entity_id: str, field_: str, source: str, **extra: Any) -> None:
        entry = {"field": field_, "from": source, **extra}
        self.records[kind].setdefault(entity_id, []).append(entry)


@dataclass
class _Log:
    """Records the transforms of one task or worker."""

    ctx: _Context
    kind: str  # "tasks" | "workers"
    entity_id: str

    def __call__(self, field_: str, source: str, **extra: Any) -> None:
        self.ctx.note(self.kind, self.entity_id, field_, source, **extra)

    def skipped(self, field_: str, source: str, flag: str) -> None:
        self(field_, source, skipped=f"compatibility.{self.kind}.{flag} is false")

    def kept(self, field_: str, source: str, ids: Sequence[str]) -> list[str]:
        """The ids that are stops of the run; the others are dropped, and noted."""
        kept = [i for i in _unique(list(ids)) if i in self.ctx.routed and i != self.entity_id]
        dropped = [i for i in ids if i not in kept]
        self(
            field_,
            source,
            value=kept,
            **({"dropped": dropped, "note": NOT_IN_RUN} if dropped else {}),
        )
        return kept


def _fail(
    entity: Entity, entity_id: str, attribute: str, message: str, ids: Sequence[str] = ()
) -> RunInputError:
    return RunInputError(
        f"{entity} {entity_id}{message}",
        ids=ids or [entity_id],
        entity=entity,
        entity_id=entity_id,
        attribute=attribute,
    )


def _integral(value: float, entity: Entity, entity_id: str, attribute: str) -> int:
    if not float(value).is_integer():
        raise _fail(entity, entity_id, attribute, f": {attribute} {value:g} is not a whole number")
    return int(value)


def _merge_quantity(
    native: int | None, extension: Any, entity: Entity, entity_id: str, attribute: str
) -> int | dict[str, int] | None:
    """The native value plus the metadata one, each in its own dimension (see the module doc)."""
    if extension is None:
        return native
    added = dict(extension) if isinstance(extension, dict) else {METADATA_DIMENSION: extension}
    if native is None:
        return added
    if DEFAULT_DIMENSION in added:
        raise _fail(
            entity,
            entity_id,
            attribute,
            f': metadata nextmv:0.1:{attribute} names the dimension "{DEFAULT_DIMENSION}", '
            f"which holds the native {attribute}: give the metadata dimension another name",
        )
    return {DEFAULT_DIMENSION: native, **added}


def _native_position(entity: Entity, entity_id: str, location: list[float]) -> dict[str, float]:
    try:
        return parse_position(location)
    except ValueError:
        raise _fail(
            entity, entity_id, "location", f": location {location} is not [lon, lat]"
        ) from None


def _task_position(task: OnfleetTask, ext: dict[str, Any], on: bool, log: _Log) -> dict[str, float]:
    location = task.destination.location if task.destination else None
    if "position" in ext:
        log("position", "metadata nextmv:0.1:position", value=ext["position"])
        return ext["position"]  # type: ignore[no-any-return]
    if location and on:
        position = _native_position("task", task.id, location)
        log("position", "destination.location", value=position)
        return position
    if location:
        log.skipped("position", "destination.location", "location")
    raise _fail(
        "task",
        task.id,
        "position",
        " has no position: no destination.location (or compatibility.tasks.location is false)"
        " and no nextmv:0.1:position metadata",
    )


def _task_window(task: OnfleetTask, on: bool, log: _Log) -> Window | None:
    after, before = task.complete_after, task.complete_before
    if after is None and before is None:
        return None
    if not on:
        log.skipped("hard_window", "completeAfter/completeBefore", "complete_before_after")
        return None
    if after is not None and before is not None and after > before:
        raise _fail("task", task.id, "hard_window", ": completeAfter is later than completeBefore")
    return (after, before)


def _task_quantity(task: OnfleetTask, ext: dict[str, Any], on: bool, log: _Log) -> Any:
    native = None
    if task.quantity and not on:
        log.skipped("quantity", "quantity", "quantity")
    elif task.quantity:
        native = _integral(task.quantity, "task", task.id, "quantity")
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
    quantity = _merge_quantity(native, extension, "task", task.id, "quantity")
    if "quantity" in ext:
        source = "metadata nextmv:0.1:quantity" + (
            ", negated for a pickup" if task.pickup_task else ""
        )
        log("quantity", source, value=quantity)
    return quantity


def _stop(
    task: OnfleetTask, flags: TaskCompatibility, ctx: _Context
) -> tuple[dict[str, Any], Window | None]:
    ext = parse_extensions("task", task.id, task.metadata)
    log = _Log(ctx, "tasks", task.id)
    stop: dict[str, Any] = {
        "id": task.id,
        "position": _task_position(task, ext, flags.location, log),
    }
    window = _task_window(task, flags.complete_before_after, log)

    alternate = task.id not in ctx.routed
    if alternate and (banned := sorted(ext.keys() & {"precedes", "compatibility_attributes"})):
        raise _fail(
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
        raise _fail(
            "task", task.id, "serviceTime", f": serviceTime {task.service_time:g} is negative"
        )
    if task.service_time and not flags.service_time:
        log.skipped("stop_duration", "serviceTime", "service_time")
    elif task.service_time:
        stop["stop_duration"] = round(task.service_time * 60)
        log("stop_duration", "serviceTime (minutes x 60)", value=stop["stop_duration"])

    if outside := [i for i in ext.get("precedes", []) if i not in ctx.routed or i == task.id]:
        raise _fail(
            "task",
            task.id,
            "precedes",
            ": metadata nextmv:0.1:precedes names tasks that are not other stops of this run: "
            + _ids(outside),
            outside,
        )
    for attribute in ext.keys() - {"position", "quantity"}:
        stop[attribute] = ext[attribute]
        log(attribute, f"metadata nextmv:0.1:{attribute}", value=ext[attribute])
    return stop, window


def _vehicle_capacity(worker: OnfleetWorker, ext: dict[str, Any], on: bool, log: _Log) -> Any:
    native = None
    if worker.capacity and not on:
        log.skipped("capacity", "capacity", "capacity")
    elif worker.capacity:
        native = _integral(worker.capacity, "worker", worker.id, "capacity")
        log("capacity", "capacity", value=native)
    elif worker.capacity == 0 and on:
        log("capacity", "capacity", note="0 means never set in Onfleet: no capacity")
    capacity = _merge_quantity(native, ext.get("capacity"), "worker", worker.id, "capacity")
    if "capacity" in ext:
        log("capacity", "metadata nextmv:0.1:capacity", value=capacity)
    return capacity


def _vehicle_backlog(
    worker: OnfleetWorker, ext: dict[str, Any], flags: WorkerCompatibility, log: _Log
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
            raise _fail(
                "worker",
                worker.id,
                "backlog",
                ": metadata nextmv:0.1:backlog names tasks that are not stops of this run: "
                + _ids(outside),
                outside,
            )
        backlog += ext["backlog"]
        log("backlog", "metadata nextmv:0.1:backlog", value=ext["backlog"])
    return _unique(backlog)


def _vehicle(worker: OnfleetWorker, flags: WorkerCompatibility, ctx: _Context) -> dict[str, Any]:
    ext = parse_extensions("worker", worker.id, worker.metadata)
    log = _Log(ctx, "workers", worker.id)
    vehicle: dict[str, Any] = {"id": worker.id}

    if "start" in ext:
        vehicle["start"] = ext["start"]
        log("start", "metadata nextmv:0.1:start", value=ext["start"])
    elif worker.location and flags.location:
        vehicle["start"] = _native_position("worker", worker.id, worker.location)
        log("start", "location", value=vehicle["start"])
    elif worker.location:
        log.skipped("start", "location", "location")

    if (capacity := _vehicle_capacity(worker, ext, flags.capacity, log)) is not None:
        vehicle["capacity"] = capacity
    if backlog := _vehicle_backlog(worker, ext, flags, log):
        vehicle["backlog"] = backlog

    if "alternate_stops" in ext:
        if outside := [i for i in ext["alternate_stops"] if i not in ctx.alternates]:
            raise _fail(
                "worker",
                worker.id,
                "alternate_stops",
                ": metadata nextmv:0.1:alternate_stops names tasks not in "
                f"onfleet.alternate_stops: {_ids(outside)}",
                outside,
            )
        theirs = [
            i for i in ext["alternate_stops"] if ctx.alternate_owner.get(i, worker.id) != worker.id
        ]
        if theirs:
            raise _fail(
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
    ctx: _Context,
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
    ctx: _Context,
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
    tasks: Sequence[OnfleetTask], workers: Sequence[OnfleetWorker], alternates: Sequence[str]
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
    ctx = _Context(routed=routed, alternates=alternates)
    # deep copies: the dimension normalisation below writes into the defaults
    merged_defaults = copy.deepcopy(_deep_merge(defaults or {}, run_request.routing.defaults or {}))
    merged_options = copy.deepcopy(_deep_merge(options or {}, run_request.routing.options or {}))

    parsed_tasks = [_parse(OnfleetTask, "task", item) for item in picked_tasks]
    parsed_workers = [_parse(OnfleetWorker, "worker", w) for w in picked_workers]
    ctx.alternate_owner = _alternate_owners(parsed_tasks, parsed_workers, alternates)
    stops: dict[str, dict[str, Any]] = {}
    pending: dict[str, Window] = {}
    for task in parsed_tasks:
        stop, window = _stop(task, flags.tasks, ctx)
        stops[stop["id"]] = stop
        if window is not None:
            pending[stop["id"]] = window
    vehicles = [_vehicle(worker, flags.workers, ctx) for worker in parsed_workers]

    owner: dict[str, str] = {}
    for vehicle in vehicles:
        for task_id in vehicle.get("backlog", []):
            if task_id in owner:
                raise _fail(
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


def build_router_input(
    tasks: Sequence[Mapping[str, Any]],
    workers: Sequence[Mapping[str, Any]],
    run_request: OnfleetRunRequest,
    compatibility: Compatibility | None = None,
    defaults: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Just the router input of `build_onfleet_input` (what the solver's `solve` takes)."""
    return build_onfleet_input(
        tasks, workers, run_request, compatibility, defaults, options
    ).router_input
