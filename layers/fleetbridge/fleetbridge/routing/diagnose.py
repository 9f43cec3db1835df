"""Why mandatory stops cannot be served: checked before solving (a stop no vehicle can serve
even alone) and after (a stop the search could not fit in)."""

from __future__ import annotations

from fleetbridge.routing.checker import evaluate_route
from fleetbridge.routing.errors import InfeasibleReason
from fleetbridge.routing.model import Problem


def _alone(problem: Problem, s: int) -> InfeasibleReason | None:
    """None if some vehicle can serve stop `s` on its own, else the reason."""
    stop = problem.stops[s]
    first = None
    for v in range(len(problem.vehicles)):
        if not problem.compatible(v, s):
            continue
        ev = evaluate_route(problem, v, [s], stop_at_first=True)
        if not ev.violations:
            return None
        first = first or (v, ev.violations[0])
    if first is None:
        owner = problem.backlog_owner.get(s)
        if owner is not None:
            veh = problem.vehicles[owner]
            return InfeasibleReason(
                stop.id,
                f"in the backlog of {veh.id!r}, which lacks its compatibility attributes",
                vehicle=veh.id,
                field=f"{stop.field}.compatibility_attributes",
            )
        return InfeasibleReason(
            stop.id,
            "no vehicle has any of its compatibility attributes",
            field=f"{stop.field}.compatibility_attributes",
        )
    v, bad = first
    return InfeasibleReason(
        stop.id,
        f"no vehicle can serve it even alone; on {problem.vehicles[v].id!r}: {bad.message}",
        vehicle=problem.vehicles[v].id,
        field=bad.field,
    )


def precheck(problem: Problem) -> list[InfeasibleReason]:
    """Mandatory stops that no vehicle can serve even on an otherwise empty route, and vehicles
    that can reach none of their alternate stops."""
    reasons: list[InfeasibleReason] = []
    for unit_index, unit in enumerate(problem.units):
        if len(unit) == 1 and problem.unit_penalty(unit_index) is None:
            reason = _alone(problem, unit[0])
            if reason:
                reasons.append(reason)
    for veh in problem.vehicles:
        if veh.alternates and all(
            evaluate_route(problem, veh.index, [a], stop_at_first=True).violations
            for a in veh.alternates
        ):
            reasons.append(
                InfeasibleReason(
                    problem.stops[veh.alternates[0]].id,
                    f"vehicle {veh.id!r} can reach none of its alternate stops",
                    vehicle=veh.id,
                    field=f"vehicles[{veh.index}].alternate_stops",
                )
            )
    return reasons


def explain_missing(problem: Problem, missing: list[int]) -> list[InfeasibleReason]:
    """A reason for each mandatory stop left out of the best plan found."""
    reasons = []
    for s in missing:
        unit = problem.units[problem.unit_of[s]]
        reason = _alone(problem, s) if len(unit) == 1 else None
        if reason is None:
            together = " (with its stop group / precedence chain)" if len(unit) > 1 else ""
            reason = InfeasibleReason(
                problem.stops[s].id,
                f"could not be fitted{together} alongside the other mandatory stops within "
                "the time limit: vehicles' capacity, shifts, limits or windows are too tight, "
                "or give it an unassigned_penalty",
                field=f"{problem.stops[s].field}.unassigned_penalty",
            )
        reasons.append(reason)
    return reasons


def explain_unassigned(problem: Problem, unassigned: list[int]) -> list[dict[str, str]]:
    """Why each unassigned stop is left out: it cannot be served at all, or serving it costs
    more than its `unassigned_penalty` (or its group / chain could not be fitted)."""
    out = []
    for s in unassigned:
        stop = problem.stops[s]
        unit = problem.units[problem.unit_of[s]]
        reason = _alone(problem, s) if len(unit) == 1 else None
        why = (
            reason.message
            if reason
            else "serving it (with its stop group / precedence chain) costs more than its "
            "unassigned_penalty, or it did not fit alongside the other stops"
        )
        out.append({"id": stop.id, "reason": why})
    return out
