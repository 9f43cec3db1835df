"""The independent checker: recomputes schedules, loads, limits and the objective of a plan
from its routes alone. It is the definition of the model's semantics; every backend's answer
goes through it before it is returned, and its figures are the ones we report.

Schedule of a route (deterministic):
1. Travel time of leg i -> j is `time[i][j] * time_factor`; reaching a stop of a duration group
   from outside the group (or from the route start) adds the group's duration on arrival.
2. Service starts at max(ready, window start); waiting = service start - ready, where
   ready = arrival + group duration. Departure = service start + stop_duration * multiplier.
3. The vehicle leaves its start at the latest time that still ends the route as early as
   possible (the minimum-duration schedule): the earliest schedule from `shift_start` (or time
   0) is computed, then the departure is delayed by as much of the waiting as the windows allow.

Rules checked: hard windows (on service start), shift end (arrival at the end, or the last
departure of an open route), max_wait per stop, capacity (the load model below), max_stops (input stops; alternates do not
count), max_distance, max_duration (end - departure from start), compatibility (a stop with
attributes needs a vehicle holding at least one of them), backlog (the stop is served, and by
that vehicle), precedence (same route, in order), stop groups and precedence chains (all or
none, on one route), alternates (a vehicle that lists alternate stops visits exactly one of
them, so it is always used; with `exclusive_alternate_stops` no two vehicles visit the same one), every stop at most once, mandatory stops (no
`unassigned_penalty`, or in a backlog) served. A vehicle without `start` begins at its first
stop; without `end` its route is open (ends at its last stop).

Load model (per dimension; docs/routing.md "Quantities and capacities"): a negative quantity is
picked up (the load grows by it), a positive one dropped off (the load shrinks by it). The vehicle
leaves its start loaded with the goods its drop-offs need that no earlier pick-up of the same
unit (stop group / precedence chain) supplies: per unit on the route, the largest running sum of
its quantities in route order, at least 0 (a lone drop-off: its quantity; a pick-up -> drop-off
pair: 0). The load at the start and after every stop must stay within capacity; it never goes
below 0 by construction. A dimension the vehicle does not list is unlimited. For inputs written
the Nextmv way (pickups negative, drop-offs only after the pick-ups they complete) this is
Nextmv's rule exactly.

Objective = travel time (s) + earliness/lateness penalties (per second of service start before /
after `target_time`) + `initialization_cost` of every used vehicle + `unassigned_penalty` of
every unserved stop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from fleetbridge.routing.model import Problem

EPS = 1e-6


@dataclass(frozen=True)
class Violation:
    """A broken rule, naming the stop / vehicle and the input field at fault."""

    message: str
    stop: str | None = None
    vehicle: str | None = None
    field: str | None = None


@dataclass(frozen=True)
class Visit:
    """When a stop is reached, served and left (seconds from the problem epoch)."""

    stop: int
    arrival: float
    service: float
    departure: float
    wait: float


@dataclass
class RouteEval:
    """One vehicle's route as the checker sees it."""

    vehicle: int
    stops: list[int]
    visits: list[Visit] = field(default_factory=list)
    start_time: float = 0.0
    end_time: float = 0.0
    travel_time: float = 0.0
    distance: float = 0.0
    soft_penalty: float = 0.0
    fixed_cost: float = 0.0
    violations: list[Violation] = field(default_factory=list)

    @property
    def duration(self) -> float:
        """End minus departure from the start (0 for an unused vehicle)."""
        return self.end_time - self.start_time if self.stops else 0.0

    @property
    def cost(self) -> float:
        """This route's share of the objective."""
        return self.travel_time + self.soft_penalty + self.fixed_cost

    @property
    def feasible(self) -> bool:
        """No rule broken on this route."""
        return not self.violations


@dataclass
class PlanEval:
    """A whole plan: routes, unassigned stops, objective and every broken rule."""

    routes: list[RouteEval]
    unassigned: list[int]
    missing: list[int]  # mandatory stops among `unassigned`
    unassigned_penalty: float
    violations: list[Violation]

    @property
    def value(self) -> float:
        """The objective (see the module docstring)."""
        return sum(r.cost for r in self.routes) + self.unassigned_penalty

    @property
    def feasible(self) -> bool:
        """Every rule holds and every mandatory stop is served."""
        return not self.violations and not self.missing


def route_cost(problem: Problem, v: int, seq: list[int]) -> float | None:
    """The route's cost, or None if it breaks a per-route rule (fast path for the search)."""
    ev = evaluate_route(problem, v, seq, stop_at_first=True)
    return None if ev.violations else ev.cost


def start_load(problem: Problem, seq: list[int]) -> list[float]:
    """Per dimension, what the vehicle carries when it leaves its start (see the module doc)."""
    dims = len(problem.dimensions)
    load = [0.0] * dims
    if not dims:
        return load
    stops, units, unit_of = problem.stops, problem.units, problem.unit_of
    running: dict[int, list[float]] = {}  # units of several stops: running sum so far
    peak: dict[int, list[float]] = {}
    for s in seq:
        quantity = stops[s].quantity
        unit = unit_of[s] if s < problem.num_regular else -1
        if unit < 0 or len(units[unit]) == 1:
            for d, q in enumerate(quantity):
                if q > 0:
                    load[d] += q
            continue
        total = running.setdefault(unit, [0.0] * dims)
        top = peak.setdefault(unit, [0.0] * dims)
        for d, q in enumerate(quantity):
            total[d] += q
            top[d] = max(top[d], total[d])
    for top in peak.values():
        for d, q in enumerate(top):
            load[d] += q
    return load


def evaluate_route(
    problem: Problem, v: int, seq: list[int], *, stop_at_first: bool = False
) -> RouteEval:
    """Simulate vehicle `v` serving `seq` (stop indices, in order) and check per-route rules."""
    veh = problem.vehicles[v]
    ev = RouteEval(vehicle=v, stops=list(seq))
    if not seq:
        return ev
    stops, time, dist = problem.stops, problem.time, problem.dist
    factor, mult = veh.time_factor, veh.duration_multiplier
    bad = ev.violations

    def fail(message: str, stop: int | None = None, fld: str | None = None) -> bool:
        sid = stops[stop].id if stop is not None else None
        where = f"{stops[stop].field}.{fld}" if stop is not None and fld else fld
        bad.append(Violation(message, stop=sid, vehicle=veh.id, field=where))
        return stop_at_first

    # legs: travel time, distance and arrival overhead of each stop
    legs: list[tuple[float, float]] = []
    prev_loc, prev_group = veh.start, None
    for i, s in enumerate(seq):
        stop = stops[s]
        if prev_loc is None:
            travel, meters = 0.0, 0.0
        else:
            travel, meters = time[prev_loc][stop.location] * factor, dist[prev_loc][stop.location]
        group = stop.duration_group
        overhead = (
            problem.duration_groups[group]
            if group is not None and (i == 0 or group != prev_group)
            else 0.0
        )
        legs.append((travel, overhead))
        ev.travel_time += travel
        ev.distance += meters
        prev_loc, prev_group = stop.location, group
    last_loc = prev_loc
    back = 0.0
    if veh.end is not None and last_loc is not None:
        back = time[last_loc][veh.end] * factor
        ev.travel_time += back
        ev.distance += dist[last_loc][veh.end]

    # pass 1: earliest schedule, and how far the departure can slide without ending later
    earliest = veh.shift_start if veh.shift_start is not None else 0.0
    t, waited, slide = earliest, 0.0, math.inf
    for s, (travel, overhead) in zip(seq, legs, strict=True):
        stop = stops[s]
        ready = t + travel + overhead
        service = ready
        if stop.window is not None:
            service = max(ready, stop.window[0])
            waited += service - ready
            slide = min(slide, waited + stop.window[1] - service)
        t = service + stop.duration * mult
    slide = max(0.0, min(slide, waited))

    # pass 2: the schedule we report, with the rules on it
    t = ev.start_time = earliest + slide
    used = start_load(problem, seq)
    for d, load in enumerate(used):
        if load > veh.capacity[d] + EPS and fail(
            f"capacity {problem.dimensions[d]!r} exceeded at the start: its drop-offs need "
            f"{load:g} on board, capacity {veh.capacity[d]:g}",
            seq[0] if len(seq) == 1 else None,
            "quantity" if len(seq) == 1 else f"vehicles[{veh.index}].capacity",
        ):
            return ev
    for s, (travel, overhead) in zip(seq, legs, strict=True):
        stop = stops[s]
        arrival = t + travel
        ready = arrival + overhead
        service = ready if stop.window is None else max(ready, stop.window[0])
        wait = service - ready
        late = service - stop.window[1] if stop.window is not None else 0.0
        if late > EPS and fail(f"served {late:.0f} s after its window", s, "hard_window"):
            return ev
        too_long = stop.max_wait is not None and wait > stop.max_wait + EPS
        if too_long and fail(f"waits {wait:.0f} s, more than max_wait", s, "max_wait"):
            return ev
        if stop.target is not None:
            ev.soft_penalty += max(0.0, stop.target - service) * stop.earliness_penalty
            ev.soft_penalty += max(0.0, service - stop.target) * stop.lateness_penalty
        for d, q in enumerate(stop.quantity):
            used[d] -= q
            over = q < 0 and used[d] > veh.capacity[d] + EPS
            if over and fail(f"capacity {problem.dimensions[d]!r} exceeded", s, "quantity"):
                return ev
        if not problem.compatible(v, s) and fail("not allowed on this vehicle", s):
            return ev
        t = service + stop.duration * mult
        ev.visits.append(Visit(s, arrival, service, t, wait))
    ev.end_time = t + back
    ev.fixed_cost = veh.initialization_cost

    vf = f"vehicles[{veh.index}]"
    count = sum(1 for s in seq if not stops[s].alternate)
    shift_limit = 0.0 if veh.shift_end is not None else None
    limits = [
        (
            shift_limit,
            ev.end_time - (veh.shift_end or 0.0),
            "route ends {:.0f} s late",
            "shift_end",
        ),
        (veh.max_duration, ev.duration, "route lasts {:.0f} s > max_duration", "max_duration"),
        (veh.max_distance, ev.distance, "route is {:.0f} m > max_distance", "max_distance"),
        (veh.max_stops, count, "{:.0f} stops > max_stops", "max_stops"),
    ]
    for limit, value, message, fld in limits:
        over = limit is not None and value > limit + EPS
        if over and fail(message.format(value), fld=f"{vf}.{fld}"):
            return ev
    if problem.precedence:
        position = {s: i for i, s in enumerate(seq)}
        for a, b in problem.precedence:
            wrong = a in position and b in position and position[a] > position[b]
            if wrong and fail(
                f"visited after {stops[b].id!r}, which it must precede", a, "precedes"
            ):
                return ev
    return ev


def evaluate_plan(problem: Problem, routes: list[list[int]]) -> PlanEval:
    """Check a whole plan: `routes[v]` is vehicle v's stop sequence."""
    evals = [evaluate_route(problem, v, seq) for v, seq in enumerate(routes)]
    violations = [x for ev in evals for x in ev.violations]
    route_of: dict[int, int] = {}
    alternate_on: dict[int, int] = {}
    for v, seq in enumerate(routes):
        veh = problem.vehicles[v]
        alternates = [s for s in seq if problem.stops[s].alternate]
        if veh.alternates and len(alternates) != 1:
            violations.append(
                Violation(
                    f"visits {len(alternates)} of its alternate stops instead of exactly one",
                    vehicle=veh.id,
                    field=f"vehicles[{v}].alternate_stops",
                )
            )
        for s in seq:
            if problem.stops[s].alternate:
                if alternates.count(s) > 1 or s not in veh.alternates:
                    violations.append(
                        Violation("alternate stop not allowed here", problem.stops[s].id, veh.id)
                    )
                other = alternate_on.setdefault(s, v)
                if problem.exclusive_alternates and other != v:
                    violations.append(
                        Violation(
                            f"alternate stop also on the route of {problem.vehicles[other].id!r}"
                            " (exclusive_alternate_stops)",
                            problem.stops[s].id,
                            veh.id,
                        )
                    )
                continue
            if s in route_of:
                violations.append(Violation("served more than once", problem.stops[s].id, veh.id))
            route_of[s] = v
    for unit in problem.units:
        on = {route_of.get(s) for s in unit}
        if len(on) > 1:
            ids = ", ".join(problem.stops[s].id for s in unit)
            violations.append(
                Violation(
                    f"stops {ids} (a stop group or precedence chain) must share one route or "
                    "all stay unassigned",
                    problem.stops[unit[0]].id,
                    field="stop_groups",
                )
            )
    unassigned = [s for s in problem.regular if s not in route_of]
    missing = [
        s for s in unassigned if problem.stops[s].penalty is None or s in problem.backlog_owner
    ]
    penalty = sum(problem.stops[s].penalty or 0.0 for s in unassigned if s not in missing)
    return PlanEval(evals, unassigned, missing, penalty, violations)
