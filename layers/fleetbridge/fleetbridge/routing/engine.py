"""`solve(router_input)`: the routing engine `/v0/run` and the Onfleet runs call.

Engine choice (measured with `python -m bench.routing`, see bench/routing.py): a hybrid.
- PyVRP (iterated local search) has the best VRPTW quality: on C101, C201, R101, R201, RC101
  and RC201 at 10 s it is 0.15 % from the best known distances on average, OR-Tools (parallel
  cheapest insertion + guided local search) 3.4 %, VROOM 1.7 %; over all 56 Solomon instances
  at 30 s our engine is 0.15 % off, never infeasible. It solves every problem whose rules it
  can express (`pyvrp_data.unsupported` is empty):
  windows, shifts, capacities, stop durations and multipliers, duration groups, pickup/delivery
  pairs, backlog, compatibility, alternates, max stops/distance/duration, penalties,
  initialization costs, open routes.
- Otherwise (max_wait, soft target times, stop groups, general precedence, ...) PyVRP first
  solves the relaxed problem for part of the time, and our own search (`fallback`), which
  evaluates every move with the exact checker, repairs and improves that plan.
- Every answer is verified by the independent checker (`checker`) and reported with its figures.
OR-Tools and VROOM stay benchmark baselines only; the solver layer ships PyVRP and numpy.

Objective (minimised, in seconds): travel time + earliness/lateness penalties + initialization
costs of used vehicles + unassigned penalties of unserved stops.
"""

from __future__ import annotations

import time
from typing import Any

from fleetbridge.routing import fallback, pyvrp_backend, pyvrp_data
from fleetbridge.routing.checker import PlanEval, evaluate_plan
from fleetbridge.routing.diagnose import explain_missing, precheck
from fleetbridge.routing.errors import InfeasibleRun
from fleetbridge.routing.model import Problem, build_problem
from fleetbridge.routing.schema import Options, parse_input
from fleetbridge.routing.solution import render

DEFAULT_TIME_LIMIT_S = 10.0
MAX_TIME_LIMIT_S = 600.0  # as the Nextmv API
RELAXED_SHARE = 0.4  # of the time given to PyVRP on the relaxed problem before our search


def _finish_margin(limit: float, problem: Problem) -> float:
    """Time kept back for checking and rendering (grows with the problem size)."""
    return min(0.05 * limit, 0.05 + 1e-5 * len(problem.stops) ** 1.5)


def solve(router_input: dict[str, Any], *, time_limit_s: float | None = None) -> dict[str, Any]:
    """Solve a Nextmv router input and return `{"state": ..., "statistics": ...}`.

    The time limit is `time_limit_s`, else `options.solver.limits.duration`, else 10 s (at most
    600 s). `options.solver.limits.solutions` stops the search after that many improving
    solutions; `options.solver.verbosity` (or `options.diagnostics`) adds
    `statistics.diagnostics` (see `solution.render`). Raises `InvalidRouterInput` for bad input and `InfeasibleRun` when a stop without
    `unassigned_penalty` cannot be served (with each stop's reason and, when a plan was
    searched for, the best partial plan in `partial`).
    """
    started = time.monotonic()
    inp = parse_input(router_input)
    limit = time_limit_s if time_limit_s is not None else inp.time_limit_s()
    limit = min(limit if limit is not None else DEFAULT_TIME_LIMIT_S, MAX_TIME_LIMIT_S)
    problem = build_problem(inp)
    reasons = precheck(problem)
    if reasons:
        raise InfeasibleRun(reasons)

    deadline = started + limit - _finish_margin(limit, problem)
    gaps = pyvrp_data.unsupported(problem)
    options = inp.options or Options()
    solutions = options.solution_limit()
    stats: dict[str, Any] = {"time_limit_s": limit, "unsupported_by_pyvrp": gaps}
    if solutions is not None:
        stats["solution_limit"] = solutions
    checked: PlanEval | None = None
    if not problem.stops:
        routes: list[list[int]] = [[] for _ in problem.vehicles]
        stats["backend"] = "none"
    elif not gaps:
        routes, stats["pyvrp"] = pyvrp_backend.solve(problem, deadline, solutions=solutions)
        stats["backend"] = "pyvrp"
        checked = evaluate_plan(problem, routes)  # checked once: 0.1-0.3 s at 1,000 stops
        if not checked.feasible:
            routes, stats["search"] = fallback.solve(
                problem, deadline, start=routes, solutions=solutions
            )
            stats["backend"] = "pyvrp+repair"
            checked = None
    else:
        now = time.monotonic()
        relaxed_deadline = now + RELAXED_SHARE * (deadline - now)
        seed, stats["pyvrp"] = pyvrp_backend.solve(
            problem, relaxed_deadline, relaxed=True, solutions=solutions
        )
        routes, stats["search"] = fallback.solve(problem, deadline, start=seed, solutions=solutions)
        stats["backend"] = "pyvrp-relaxed+search"

    plan = checked if checked is not None else evaluate_plan(problem, routes)
    stats["duration_s"] = round(time.monotonic() - started, 3)
    if plan.violations:  # the search only keeps checked plans: a bug if we get here
        raise RuntimeError(f"plan failed the checker: {plan.violations[0]}")
    answer = render(problem, plan, stats, verbosity=options.verbosity())
    if plan.missing:
        raise InfeasibleRun(explain_missing(problem, plan.missing), partial=answer)
    return answer
