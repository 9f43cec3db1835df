"""The Nextmv (legacy router) input schema as pydantic models, plus our matrix extension.

`parse_input(raw)` validates a `/v0/run` body and merges `defaults.vehicles` / `defaults.stops`
into every vehicle / stop (a field set on the item wins, even when set to null). Unknown fields
are ignored, as the Nextmv API does. Times are RFC 3339 with an offset. Quantities and
capacities are an integer (dimension "default") or an object of integers per dimension.

Extension (DESIGN.md §6): `distance_matrix` (meters) and `duration_matrix` (seconds) are square
arrays over the location list: the stops in input order, then for each vehicle in input order
its start and then its end, then (our addition) the alternate stops in input order; or keyed by
ids, `{"<from>": {"<to>": value}}`, where a vehicle's start and end are `<vehicle id>-start` and
`<vehicle id>-end` (as in the result's routes). They override haversine distances and `speed`. `exclusive_alternate_stops: true` (set by Onfleet
runs, where a task belongs to one worker): no alternate stop is visited by two vehicles.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from fleetbridge.routing.errors import InvalidRouterInput, field_path

Quantity = int | dict[str, int]
Cell = Annotated[float, Field(allow_inf_nan=False)]
Matrix = list[list[Cell]] | dict[str, dict[str, Cell]]  # rows in index order, or keyed by ids


def _as_list(value: Any) -> Any:
    """`precedes: "a"` is shorthand for `precedes: ["a"]`."""
    return [value] if isinstance(value, str) else value


IdList = Annotated[list[str], BeforeValidator(_as_list)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Position(_Model):
    """A point on Earth, in degrees."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class StopFields(_Model):
    """Every stop field but `id`: what `defaults.stops` may set."""

    position: Position | None = None
    quantity: Quantity | None = None
    unassigned_penalty: float | None = Field(default=None, ge=0)
    precedes: IdList | None = None
    succeeds: IdList | None = None
    hard_window: tuple[AwareDatetime, AwareDatetime] | None = None
    max_wait: float | None = Field(default=None, ge=-1)
    stop_duration: float | None = Field(default=None, ge=0)
    target_time: AwareDatetime | None = None
    earliness_penalty: float | None = Field(default=None, ge=0)
    lateness_penalty: float | None = Field(default=None, ge=0)
    compatibility_attributes: list[str] | None = None

    @model_validator(mode="after")
    def _window_order(self) -> StopFields:
        if self.hard_window is not None and self.hard_window[0] > self.hard_window[1]:
            raise ValueError("hard_window ends before it starts")
        return self


class Stop(StopFields):
    """A stop to serve."""

    id: str = Field(min_length=1)


class AlternateStop(Stop):
    """A stop of which each vehicle listing it in `alternate_stops` serves exactly one of its
    list; never precedence or compatibility rules."""

    @model_validator(mode="after")
    def _no_stop_only_fields(self) -> AlternateStop:
        for name in ("precedes", "succeeds", "compatibility_attributes"):
            if getattr(self, name):
                raise ValueError(f"an alternate stop cannot have {name}")
        return self


class VehicleFields(_Model):
    """Every vehicle field but `id`: what `defaults.vehicles` may set."""

    start: Position | None = None
    end: Position | None = None
    speed: float | None = Field(default=None, gt=0)
    capacity: Quantity | None = None
    shift_start: AwareDatetime | None = None
    shift_end: AwareDatetime | None = None
    compatibility_attributes: list[str] | None = None
    max_stops: int | None = Field(default=None, ge=0)
    max_distance: float | None = Field(default=None, ge=0)
    max_duration: float | None = Field(default=None, ge=0)
    stop_duration_multiplier: float | None = Field(default=None, gt=0)
    backlog: IdList | None = None
    alternate_stops: IdList | None = None
    initialization_cost: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _shift_order(self) -> VehicleFields:
        if self.shift_start and self.shift_end and self.shift_start > self.shift_end:
            raise ValueError("shift_end is before shift_start")
        return self


class Vehicle(VehicleFields):
    """A vehicle (and its driver)."""

    id: str = Field(min_length=1)


class Defaults(_Model):
    """Values every vehicle / stop gets unless it sets the field itself."""

    vehicles: VehicleFields | None = None
    stops: StopFields | None = None


class DurationGroup(_Model):
    """`duration` seconds added when a stop of `group` is reached from outside the group."""

    group: list[str] = Field(min_length=1)
    duration: float = Field(ge=0)


class _Options(BaseModel):
    """Options refuse what they do not know: an ignored option is a silent surprise."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(_Options):
    """Solver limits; `duration` is a Go duration ("10s", "1m30s", "500ms") or seconds;
    `solutions` stops the search after that many improving solutions (an early stop)."""

    duration: str | float | None = None
    solutions: int | None = Field(default=None, ge=1)


Verbosity = Literal["off", "low", "medium", "high"]


class SolverOptions(_Options):
    """`options.solver`."""

    limits: Limits | None = None
    verbosity: Verbosity | None = None


class Options(_Options):
    """`options`: what Nextmv's legacy options offer that this engine honours (see
    `SUPPORTED_OPTIONS`); anything else is refused naming it."""

    solver: SolverOptions | None = None
    diagnostics: bool | None = None

    def verbosity(self) -> Verbosity:
        """`solver.verbosity`, or "medium" when `diagnostics` is true, else "off"."""
        if self.solver is not None and self.solver.verbosity is not None:
            return self.solver.verbosity
        return "medium" if self.diagnostics else "off"

    def solution_limit(self) -> int | None:
        """`solver.limits.solutions`, if given."""
        limits = self.solver.limits if self.solver else None
        return limits.solutions if limits else None


SUPPORTED_OPTIONS = (
    "solver.limits.duration",
    "solver.limits.solutions",
    "solver.verbosity",
    "diagnostics",
)


def check_options(raw: Any, field: str = "options") -> Options:
    """`raw` as `Options`, or `InvalidRouterInput` naming the field; an option this engine does
    not honour (e.g. Nextmv's `solver.diagram`, `solver.pool`, `solver.limits.nodes`) is refused
    by name, listing the supported ones. A valid duration is checked too."""
    try:
        options = Options.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = field_path((field, *first["loc"]))
        if first["type"] == "extra_forbidden":
            supported = ", ".join(f"{field}.{name}" for name in SUPPORTED_OPTIONS)
            raise InvalidRouterInput(
                f"{where} is not supported by this engine (only {supported})", field=where
            ) from None
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidRouterInput(f"{where}: {msg}", field=where) from None
    limits = options.solver.limits if options.solver else None
    if limits is not None and limits.duration is not None:
        parse_duration(limits.duration, field=f"{field}.solver.limits.duration")
    return options


class RouterInput(_Model):
    """A whole `/v0/run` body, defaults already merged into `vehicles` and `stops`."""

    model_config = ConfigDict(extra="ignore", frozen=False)

    options: Options | None = None
    defaults: Defaults | None = None
    vehicles: list[Vehicle] = Field(min_length=1)
    stops: list[Stop] = Field(default_factory=list)
    stop_groups: list[Annotated[list[str], Field(min_length=2)]] = Field(default_factory=list)
    alternate_stops: list[AlternateStop] = Field(default_factory=list)
    duration_groups: list[DurationGroup] = Field(default_factory=list)
    distance_matrix: Matrix | None = None
    duration_matrix: Matrix | None = None
    exclusive_alternate_stops: bool = False  # extension: one alternate stop, one vehicle at most

    @model_validator(mode="after")
    def _merge_defaults(self) -> RouterInput:
        defaults = self.defaults or Defaults()
        stops = [_merged(s, defaults.stops) for s in self.stops]
        alternates = [_merged(s, defaults.stops, skip=_STOP_ONLY) for s in self.alternate_stops]
        vehicles = [_merged(v, defaults.vehicles) for v in self.vehicles]
        self.stops, self.alternate_stops, self.vehicles = stops, alternates, vehicles
        return self

    def time_limit_s(self) -> float | None:
        """`options.solver.limits.duration` in seconds, if given."""
        limits = self.options and self.options.solver and self.options.solver.limits
        if not limits or limits.duration is None:
            return None
        return parse_duration(limits.duration, field="options.solver.limits.duration")


_STOP_ONLY = frozenset({"precedes", "succeeds", "compatibility_attributes"})


def _merged[M: _Model](item: M, defaults: _Model | None, skip: frozenset[str] = frozenset()) -> M:
    if defaults is None:
        return item
    update = {
        name: getattr(defaults, name)
        for name in defaults.model_fields_set
        if name not in item.model_fields_set and name not in skip
    }
    return item.model_copy(update=update) if update else item


_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|us|µs|ns|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_duration(value: str | float, *, field: str) -> float:
    """A Go duration string ("1m30s") or a number of seconds, as seconds."""
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip()
        parts = _GO_DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise InvalidRouterInput(
                f"{value!r} is not a duration such as '10s' or '1m30s'", field=field
            )
        seconds = sum(float(n) * _UNIT_S[u] for n, u in parts)
    if seconds <= 0:
        raise InvalidRouterInput("the duration must be positive", field=field)
    return seconds


def parse_input(raw: Any) -> RouterInput:
    """Validate a router input (a dict as decoded from JSON) or raise `InvalidRouterInput`
    naming the first offending field (and the stop's / vehicle's id when it has one)."""
    if isinstance(raw, dict) and raw.get("options") is not None:
        check_options(raw["options"])
    try:
        return RouterInput.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        # union members repeat the path with a type tag: keep the user's path only
        loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and "[" in p))
        loc = tuple(p for p in loc if p not in ("int", "dict[str,int]", "str", "float"))
        field = field_path(loc) or None
        more = f" ({len(errors) - 1} more errors)" if len(errors) > 1 else ""
        msg = first["msg"].removeprefix("Value error, ")
        named = _named(raw, loc)
        raise InvalidRouterInput(f"{field or 'input'}{named}: {msg}{more}", field=field) from exc


def _named(raw: Any, loc: tuple[int | str, ...]) -> str:
    """` (stop 'a')` when the path is inside an item of stops / alternate_stops / vehicles."""
    if len(loc) < 2 or not isinstance(raw, dict) or not isinstance(loc[1], int):
        return ""
    kind = {"stops": "stop", "alternate_stops": "alternate stop", "vehicles": "vehicle"}
    items = raw.get(str(loc[0]))
    if loc[0] not in kind or not isinstance(items, list) or loc[1] >= len(items):
        return ""
    item = items[loc[1]]
    ident = item.get("id") if isinstance(item, dict) else None
    return f" ({kind[str(loc[0])]} {ident!r})" if isinstance(ident, str) and ident else ""
