"""The normalized routing problem every backend and the checker work on.

`build_problem(router_input)` turns validated input into plain indices and numbers:

- Stops: the input stops (indices 0..n-1), then the alternate stops (n..n+A-1).
- Locations: stop i is location i; vehicle k's start is n+2k and its end n+2k+1; alternate a
  is n+2V+a. This is the index order of `distance_matrix` / `duration_matrix`.
- Times: seconds relative to `epoch`, the earliest time in the input (0 when it has none).
- Travel time of vehicle v from location i to j: `time[i][j] * vehicle.time_factor`, where
  `time` is the duration matrix (factor 1) or the distance matrix (factor 1 / speed).
- Quantities per dimension ("default" for plain integers); a capacity dimension a vehicle does
  not list is unlimited on that vehicle.
- Units: stops that are assigned together or not at all: each stop group and each precedence
  chain (connected components over both), and every other stop alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import Any

from fleetbridge.routing.errors import InvalidRouterInput
from fleetbridge.routing.schema import Position, Quantity, RouterInput

DEFAULT_SPEED = 10.0  # m/s, as Nextmv
DEFAULT_DIMENSION = "default"
EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True)
class StopData:
    """One stop (regular or alternate) in problem units."""

    id: str
    index: int
    location: int
    position: Position | None
    alternate: bool
    quantity: tuple[float, ...]  # per problem dimension
    penalty: float | None  # None: mandatory
    window: tuple[float, float] | None
    max_wait: float | None  # None: unlimited
    duration: float
    target: float | None
    earliness_penalty: float
    lateness_penalty: float
    attributes: frozenset[str]
    duration_group: int | None
    field: str  # where the stop is in the input, e.g. "stops[3]"


@dataclass(frozen=True)
class VehicleData:
    """One vehicle in problem units."""

    id: str
    index: int
    start: int | None  # location, None: the route starts at its first stop
    end: int | None  # location, None: open route
    start_position: Position | None
    end_position: Position | None
    time_factor: float
    capacity: tuple[float, ...]  # per dimension, math.inf when unlimited
    shift_start: float | None
    shift_end: float | None
    attributes: frozenset[str]
    max_stops: int | None
    max_distance: float | None
    max_duration: float | None
    duration_multiplier: float
    backlog: frozenset[int]
    alternates: tuple[int, ...]
    initialization_cost: float


@dataclass
class Problem:
    """Everything a solver needs; see the module docstring for the index conventions."""

    stops: list[StopData]
    vehicles: list[VehicleData]
    dist: list[list[float]]
    time: list[list[float]]
    dimensions: list[str]
    precedence: list[tuple[int, int]]
    units: list[list[int]]
    unit_of: list[int]
    duration_groups: list[float]
    backlog_owner: dict[int, int]
    epoch: datetime | None
    num_regular: int
    has_matrices: bool = False
    exclusive_alternates: bool = False
    _compatible: dict[tuple[int, int], bool] = field(default_factory=dict, repr=False)

    @cached_property
    def restricted(self) -> frozenset[int]:
        """Stops not every vehicle may serve (attributes, backlog, alternates)."""
        return frozenset(
            s.index
            for s in self.stops
            if s.alternate or s.attributes or s.index in self.backlog_owner
        )

    @property
    def regular(self) -> range:
        """Indices of the input stops (alternates excluded)."""
        return range(self.num_regular)

    def compatible(self, v: int, s: int) -> bool:
        """May vehicle `v` serve stop `s` (backlog, compatibility attributes, alternates)?"""
        if s not in self.restricted:
            return True
        key = (v, s)
        cached = self._compatible.get(key)
        if cached is None:
            cached = self._compute_compatible(v, s)
            self._compatible[key] = cached
        return cached

    def _compute_compatible(self, v: int, s: int) -> bool:
        stop, vehicle = self.stops[s], self.vehicles[v]
        if stop.alternate:
            return s in vehicle.alternates
        owner = self.backlog_owner.get(s)
        if owner is not None and owner != v:
            return False
        return not stop.attributes or bool(stop.attributes & vehicle.attributes)

    def unit_penalty(self, unit: int) -> float | None:
        """Penalty for leaving a unit out, None if any of its stops is mandatory."""
        total = 0.0
        for s in self.units[unit]:
            penalty = self.stops[s].penalty
            if penalty is None or s in self.backlog_owner:
                return None
            total += penalty
        return total


def haversine(a: Position, b: Position) -> float:
    """Great-circle distance in meters."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _haversine_matrix(points: list[Position | None]) -> list[list[float]]:
    """All pairs at once with numpy (1,500 points take ~0.1 s, pure Python ~3 s)."""
    import numpy as np

    lon = np.radians([p.lon if p else 0.0 for p in points])
    lat = np.radians([p.lat if p else 0.0 for p in points])
    dlat = lat[None, :] - lat[:, None]
    dlon = lon[None, :] - lon[:, None]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    matrix = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    rows: list[list[float]] = matrix.tolist()
    return rows


class _Times:
    """RFC 3339 times as seconds from the earliest time in the input."""

    def __init__(self, moments: Iterable[datetime | None]) -> None:
        present = [m for m in moments if m is not None]
        self.epoch = min(present) if present else None

    def rel(self, moment: datetime | None) -> float | None:
        if moment is None or self.epoch is None:
            return None
        return (moment - self.epoch).total_seconds()


def _quantity(value: Quantity | None, dims: list[str], default: float) -> tuple[float, ...]:
    if value is None:
        return tuple(default for _ in dims)
    as_map = {DEFAULT_DIMENSION: value} if isinstance(value, int) else value
    return tuple(float(as_map[d]) if d in as_map else default for d in dims)


def _dimensions(inp: RouterInput) -> list[str]:
    dims: dict[str, None] = {}
    for value in [s.quantity for s in [*inp.stops, *inp.alternate_stops]] + [
        v.capacity for v in inp.vehicles
    ]:
        if isinstance(value, int):
            dims[DEFAULT_DIMENSION] = None
        elif value:
            dims.update(dict.fromkeys(value))
    return list(dims)


def _unique(ids: list[str], what: str, taken: set[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, ident in enumerate(ids):
        if ident in index or ident in taken:
            raise InvalidRouterInput(f"duplicate {what} id {ident!r}", field=f"{what}s[{i}].id")
        index[ident] = i
    return index


def _ref(ids: dict[str, int], ident: str, field: str, what: str = "stop") -> int:
    if ident not in ids:
        raise InvalidRouterInput(f"unknown {what} id {ident!r}", field=field)
    return ids[ident]


def _location_ids(inp: RouterInput) -> list[tuple[str, bool]]:
    """Per location index: its id in a keyed matrix, and whether the matrix must give it."""
    ids = [(s.id, True) for s in inp.stops]
    for v in inp.vehicles:
        ids += [(f"{v.id}-start", v.start is not None), (f"{v.id}-end", v.end is not None)]
    return ids + [(s.id, True) for s in inp.alternate_stops]


def _rows(raw: Any, inp: RouterInput, name: str) -> list[list[float]] | None:
    """A keyed matrix (`{from id: {to id: value}}`) as rows in location order; rows as given."""
    if not isinstance(raw, dict):
        return raw  # type: ignore[no-any-return]
    ids = _location_ids(inp)
    known = {ident for ident, _ in ids}
    if unknown := sorted(set(raw) - known):
        raise InvalidRouterInput(
            f"{name} has a row for {unknown[0]!r}, which is no stop, alternate stop or "
            "<vehicle>-start / <vehicle>-end",
            field=f"{name}.{unknown[0]}",
        )
    rows: list[list[float]] = []
    for a, need_a in ids:
        row = raw.get(a) or {}
        out = []
        for b, need_b in ids:
            value = row.get(b)
            if value is None:
                if a != b and need_a and need_b:
                    raise InvalidRouterInput(
                        f"{name} has no entry from {a!r} to {b!r}", field=f"{name}.{a}.{b}"
                    )
                value = 0.0
            out.append(float(value))
        rows.append(out)
    return rows


def _matrix(raw: list[list[float]] | None, size: int, name: str, n_alt: int) -> bool:
    if raw is None:
        return False
    sizes = {size, size - n_alt}
    if len(raw) not in sizes or any(len(row) != len(raw) for row in raw):
        raise InvalidRouterInput(
            f"{name} must be square with {size} rows (stops, then each vehicle's start and "
            f"end, then alternate stops)",
            field=name,
        )
    if len(raw) != size:
        raise InvalidRouterInput(f"{name} has no rows for the alternate stops", field=name)
    if raw and min(map(min, raw)) < 0:
        raise InvalidRouterInput(f"{name} has a negative entry", field=name)
    return True


def check_references(inp: RouterInput) -> None:
    """The checks of `build_problem` (ids, references, matrix shapes, cycles, exclusive
    alternates) without computing distances: cheap enough for the API at POST."""
    build_problem(inp, distances=False)


def build_problem(inp: RouterInput, *, distances: bool = True) -> Problem:
    """Check cross-references and build the `Problem`; raises `InvalidRouterInput`.
    `distances=False` leaves the matrices empty (validation only)."""
    n, n_veh, n_alt = len(inp.stops), len(inp.vehicles), len(inp.alternate_stops)
    stop_ids = _unique([s.id for s in inp.stops], "stop", set())
    alt_ids = _unique([s.id for s in inp.alternate_stops], "alternate_stop", set(stop_ids))
    _unique([v.id for v in inp.vehicles], "vehicle", set())
    size = n + 2 * n_veh + n_alt
    distance_rows = _rows(inp.distance_matrix, inp, "distance_matrix")
    duration_rows = _rows(inp.duration_matrix, inp, "duration_matrix")
    has_dist = _matrix(distance_rows, size, "distance_matrix", n_alt)
    has_time = _matrix(duration_rows, size, "duration_matrix", n_alt)

    times = _Times(
        [v.shift_start for v in inp.vehicles]
        + [v.shift_end for v in inp.vehicles]
        + [t for s in [*inp.stops, *inp.alternate_stops] for t in (s.hard_window or ())]
        + [s.target_time for s in [*inp.stops, *inp.alternate_stops]]
    )
    dims = _dimensions(inp)

    duration_group_of: dict[int, int] = {}
    all_ids = {**stop_ids, **{k: n + v for k, v in alt_ids.items()}}
    for g, group in enumerate(inp.duration_groups):
        for j, ident in enumerate(group.group):
            s = _ref(all_ids, ident, f"duration_groups[{g}].group[{j}]")
            if s in duration_group_of and duration_group_of[s] != g:
                raise InvalidRouterInput(
                    f"stop {ident!r} is in two duration groups",
                    field=f"duration_groups[{g}].group[{j}]",
                )
            duration_group_of[s] = g

    stops: list[StopData] = []
    positions: list[Position | None] = [None] * size
    for k, (raw, alternate) in enumerate(
        [(s, False) for s in inp.stops] + [(s, True) for s in inp.alternate_stops]
    ):
        where = f"alternate_stops[{k - n}]" if alternate else f"stops[{k}]"
        if raw.position is None and not has_dist:
            raise InvalidRouterInput(
                "position is required (no distance_matrix given)", field=f"{where}.position"
            )
        location = n + 2 * n_veh + (k - n) if alternate else k
        positions[location] = raw.position
        window = raw.hard_window
        max_wait = raw.max_wait if raw.max_wait is not None and raw.max_wait >= 0 else None
        stops.append(
            StopData(
                id=raw.id,
                index=k,
                location=location,
                position=raw.position,
                alternate=alternate,
                quantity=_quantity(raw.quantity, dims, 0.0),
                penalty=None if alternate else raw.unassigned_penalty,
                window=(times.rel(window[0]) or 0.0, times.rel(window[1]) or 0.0)
                if window
                else None,
                max_wait=max_wait,
                duration=raw.stop_duration or 0.0,
                target=times.rel(raw.target_time),
                earliness_penalty=raw.earliness_penalty or 0.0,
                lateness_penalty=raw.lateness_penalty or 0.0,
                attributes=frozenset(raw.compatibility_attributes or ()),
                duration_group=duration_group_of.get(k),
                field=where,
            )
        )

    vehicles: list[VehicleData] = []
    backlog_owner: dict[int, int] = {}
    for v, rv in enumerate(inp.vehicles):
        positions[n + 2 * v], positions[n + 2 * v + 1] = rv.start, rv.end
        backlog: set[int] = set()
        for j, ident in enumerate(rv.backlog or ()):
            s = _ref(stop_ids, ident, f"vehicles[{v}].backlog[{j}]")
            if backlog_owner.get(s, v) != v:
                raise InvalidRouterInput(
                    f"stop {ident!r} is in the backlog of two vehicles",
                    field=f"vehicles[{v}].backlog[{j}]",
                )
            backlog_owner[s] = v
            backlog.add(s)
        alternates = tuple(
            n + _ref(alt_ids, ident, f"vehicles[{v}].alternate_stops[{j}]", "alternate stop")
            for j, ident in enumerate(dict.fromkeys(rv.alternate_stops or ()))
        )
        speed = rv.speed or DEFAULT_SPEED
        vehicles.append(
            VehicleData(
                id=rv.id,
                index=v,
                start=n + 2 * v if rv.start is not None else None,
                end=n + 2 * v + 1 if rv.end is not None else None,
                start_position=rv.start,
                end_position=rv.end,
                time_factor=1.0 if has_time else 1.0 / speed,
                capacity=_quantity(rv.capacity, dims, math.inf),
                shift_start=times.rel(rv.shift_start),
                shift_end=times.rel(rv.shift_end),
                attributes=frozenset(rv.compatibility_attributes or ()),
                max_stops=rv.max_stops,
                max_distance=rv.max_distance,
                max_duration=rv.max_duration,
                duration_multiplier=rv.stop_duration_multiplier or 1.0,
                backlog=frozenset(backlog),
                alternates=alternates,
                initialization_cost=rv.initialization_cost or 0.0,
            )
        )

    if has_dist and distance_rows is not None:
        dist = distance_rows
    elif distances:
        dist = _haversine_matrix(positions)
    else:
        dist = []
    time = duration_rows if has_time and duration_rows is not None else dist
    if time is not dist and time == dist:  # one matrix for both: half the memory, and
        time = dist  # max_distance stays expressible for PyVRP

    if inp.exclusive_alternate_stops:
        vehicles = _share_out_alternates(vehicles, stops, dist)

    precedence = _precedence(inp, stop_ids)
    units, unit_of = _units(n, precedence, inp, stop_ids)
    return Problem(
        stops=stops,
        vehicles=vehicles,
        dist=dist,
        time=time,
        dimensions=dims,
        precedence=precedence,
        units=units,
        unit_of=unit_of,
        duration_groups=[g.duration for g in inp.duration_groups],
        backlog_owner=backlog_owner,
        epoch=times.epoch,
        num_regular=n,
        has_matrices=has_dist or has_time,
        exclusive_alternates=inp.exclusive_alternate_stops,
    )


def _share_out_alternates(
    vehicles: list[VehicleData], stops: list[StopData], dist: list[list[float]]
) -> list[VehicleData]:
    """Exclusive alternates: give each alternate stop to one of the vehicles that may use it.

    Every vehicle with alternates needs one of its own (a matching, nearest to its start first);
    each remaining alternate goes to the allowed vehicle whose start is nearest. Raises
    `InvalidRouterInput` when there are fewer alternates than vehicles needing one.
    """
    needy = [veh for veh in vehicles if veh.alternates]

    def near(veh: VehicleData, alt_loc: int) -> float:
        return dist[veh.start][alt_loc] if veh.start is not None and dist else 0.0

    loc_of = {a: stops[a].location for veh in needy for a in veh.alternates}
    owner: dict[int, VehicleData] = {}

    def augment(veh: VehicleData, seen: set[int]) -> bool:
        for a in sorted(veh.alternates, key=lambda a: near(veh, loc_of[a])):
            if a in seen:
                continue
            seen.add(a)
            if a not in owner or augment(owner[a], seen):
                owner[a] = veh
                return True
        return False

    for veh in needy:
        if not augment(veh, set()):
            raise InvalidRouterInput(
                f"vehicle {veh.id!r} has no alternate stop of its own: each alternate stop "
                "serves one vehicle at most and the vehicles sharing its alternates outnumber them",
                field=f"vehicles[{veh.index}].alternate_stops",
            )
    for a in loc_of:
        if a not in owner:
            allowed = [veh for veh in needy if a in veh.alternates]
            owner[a] = min(allowed, key=lambda veh: near(veh, loc_of[a]))
    mine: dict[int, list[int]] = {}
    for a, veh in owner.items():
        mine.setdefault(veh.index, []).append(a)
    return [
        replace(veh, alternates=tuple(a for a in veh.alternates if a in mine.get(veh.index, ())))
        if veh.alternates
        else veh
        for veh in vehicles
    ]


def _precedence(inp: RouterInput, ids: dict[str, int]) -> list[tuple[int, int]]:
    pairs: dict[tuple[int, int], None] = {}
    for i, stop in enumerate(inp.stops):
        for j, ident in enumerate(stop.precedes or ()):
            pairs[(i, _ref(ids, ident, f"stops[{i}].precedes[{j}]"))] = None
        for j, ident in enumerate(stop.succeeds or ()):
            pairs[(_ref(ids, ident, f"stops[{i}].succeeds[{j}]"), i)] = None
    for a, b in pairs:
        if a == b:
            raise InvalidRouterInput(
                f"stop {inp.stops[a].id!r} precedes itself", field=f"stops[{a}].precedes"
            )
    _no_cycle(len(inp.stops), list(pairs), inp)
    return list(pairs)


def _no_cycle(n: int, pairs: list[tuple[int, int]], inp: RouterInput) -> None:
    succ: list[list[int]] = [[] for _ in range(n)]
    indegree = [0] * n
    for a, b in pairs:
        succ[a].append(b)
        indegree[b] += 1
    ready = [i for i in range(n) if indegree[i] == 0]
    seen = 0
    while ready:
        i = ready.pop()
        seen += 1
        for j in succ[i]:
            indegree[j] -= 1
            if indegree[j] == 0:
                ready.append(j)
    if seen < n:
        culprit = next(i for i in range(n) if indegree[i] > 0)
        raise InvalidRouterInput(
            f"precedence rules form a cycle through stop {inp.stops[culprit].id!r}",
            field=f"stops[{culprit}].precedes",
        )


def _units(
    n: int, precedence: list[tuple[int, int]], inp: RouterInput, ids: dict[str, int]
) -> tuple[list[list[int]], list[int]]:
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    links = list(precedence)
    for g, group in enumerate(inp.stop_groups):
        members = [_ref(ids, s, f"stop_groups[{g}][{j}]") for j, s in enumerate(group)]
        links += [(members[0], m) for m in members[1:]]
    for a, b in links:
        parent[find(a)] = find(b)
    by_root: dict[int, list[int]] = {}
    for i in range(n):
        by_root.setdefault(find(i), []).append(i)
    units = list(by_root.values())
    unit_of = [0] * n
    for u, members in enumerate(units):
        for s in members:
            unit_of[s] = u
    return units, unit_of
