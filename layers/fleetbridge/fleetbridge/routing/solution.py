"""The Nextmv-style answer built from a checked plan.

`{"state": {"unassigned": [{"id", "position"}], "vehicles": [{"id", "route": [...],
"route_duration", "route_distance", "route_travel_time"}], "value"}, "statistics": {...}}`.

Route entries are `{"id", "position", "estimated_arrival", "estimated_service",
"estimated_departure"}`; as in the Nextmv legacy router, a vehicle with a start (end) position
has a first (last) entry `<vehicle id>-start` (`-end`) with only its departure (arrival). Times
are RFC 3339 (in the offset of the earliest input time) when the input has times, otherwise
seconds from 0. Durations are seconds, distances meters, `value` the objective (seconds of
travel plus penalties and initialization costs, see `checker`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fleetbridge.routing.checker import PlanEval, RouteEval
from fleetbridge.routing.model import Problem
from fleetbridge.routing.schema import Position


def _position(pos: Position | None) -> dict[str, float] | None:
    return {"lon": pos.lon, "lat": pos.lat} if pos else None


def _num(x: float) -> float:
    return round(x, 3)


class _Clock:
    def __init__(self, problem: Problem) -> None:
        self.epoch = problem.epoch

    def __call__(self, seconds: float) -> str | float:
        if self.epoch is None:
            return _num(seconds)
        moment = self.epoch + timedelta(seconds=round(seconds))
        return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _route(problem: Problem, ev: RouteEval, clock: _Clock) -> list[dict[str, Any]]:
    veh = problem.vehicles[ev.vehicle]
    start = ev.start_time if ev.stops else (veh.shift_start or 0.0)
    out: list[dict[str, Any]] = []
    if veh.start_position is not None:
        out.append(
            {
                "id": f"{veh.id}-start",
                "position": _position(veh.start_position),
                "estimated_departure": clock(start),
            }
        )
    for visit in ev.visits:
        stop = problem.stops[visit.stop]
        out.append(
            {
                "id": stop.id,
                "position": _position(stop.position),
                "estimated_arrival": clock(visit.arrival),
                "estimated_service": clock(visit.service),
                "estimated_departure": clock(visit.departure),
            }
        )
    if veh.end_position is not None:
        end = ev.end_time if ev.stops else start
        out.append(
            {
                "id": f"{veh.id}-end",
                "position": _position(veh.end_position),
                "estimated_arrival": clock(end),
            }
        )
    return out


def _diagnostics(problem: Problem, plan: PlanEval, verbosity: str) -> dict[str, Any]:
    """What `options.solver.verbosity` asks for: per route (low), why each stop is unassigned
    (medium), the load after every stop (high)."""
    from fleetbridge.routing.checker import start_load
    from fleetbridge.routing.diagnose import explain_unassigned

    routes = []
    for ev in plan.routes:
        if not ev.stops:
            continue
        load = start_load(problem, ev.stops)
        loads, peak = [], list(load)
        for s in ev.stops:
            load = [x - q for x, q in zip(load, problem.stops[s].quantity, strict=True)]
            peak = [max(a, b) for a, b in zip(peak, load, strict=True)]
            loads.append(
                {
                    "id": problem.stops[s].id,
                    "load": dict(zip(problem.dimensions, load, strict=True)),
                }
            )
        route: dict[str, Any] = {
            "vehicle": problem.vehicles[ev.vehicle].id,
            "stops": len(ev.stops),
            "travel_time": _num(ev.travel_time),
            "distance": _num(ev.distance),
            "duration": _num(ev.duration),
            "wait": _num(sum(v.wait for v in ev.visits)),
            "start_load": dict(zip(problem.dimensions, start_load(problem, ev.stops), strict=True)),
            "max_load": dict(zip(problem.dimensions, peak, strict=True)),
        }
        if verbosity == "high":
            route["loads"] = loads
        routes.append(route)
    out: dict[str, Any] = {"verbosity": verbosity, "routes": routes}
    if verbosity in ("medium", "high"):
        out["unassigned"] = explain_unassigned(problem, plan.unassigned)
    return out


def render(
    problem: Problem, plan: PlanEval, statistics: dict[str, Any], *, verbosity: str = "off"
) -> dict[str, Any]:
    """The answer of a run (see the module docstring); `verbosity` other than "off" adds
    `statistics.diagnostics`."""
    clock = _Clock(problem)
    vehicles = [
        {
            "id": problem.vehicles[ev.vehicle].id,
            "route": _route(problem, ev, clock),
            "route_duration": _num(ev.duration),
            "route_distance": _num(ev.distance),
            "route_travel_time": _num(ev.travel_time),
        }
        for ev in plan.routes
    ]
    unassigned = [
        {"id": problem.stops[s].id, "position": _position(problem.stops[s].position)}
        for s in plan.unassigned
    ]
    stats = {
        **statistics,
        "value": _num(plan.value),
        "travel_time": _num(sum(r.travel_time for r in plan.routes)),
        "distance": _num(sum(r.distance for r in plan.routes)),
        "soft_penalty": _num(sum(r.soft_penalty for r in plan.routes)),
        "initialization_cost": _num(sum(r.fixed_cost for r in plan.routes)),
        "unassigned_penalty": _num(plan.unassigned_penalty),
        "vehicles_used": sum(1 for r in plan.routes if r.stops),
        "unassigned": len(plan.unassigned),
        "feasible": plan.feasible,
    }
    if verbosity != "off":
        stats["diagnostics"] = _diagnostics(problem, plan, verbosity)
    return {
        "state": {"unassigned": unassigned, "vehicles": vehicles, "value": _num(plan.value)},
        "statistics": stats,
    }
