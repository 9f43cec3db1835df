"""PyVRP backend: the problem's PyVRP data (`pyvrp_data`), solved by PyVRP's iterated local
search by the run's deadline, as one search or several cooperating ones (`workers()`).

What maps to PyVRP natively, what does not (`pyvrp_data.unsupported`) and how numbers are
scaled is in `pyvrp_data`.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
import warnings
from typing import TYPE_CHECKING, Any

from fleetbridge.routing.model import Problem
from fleetbridge.routing.pyvrp_data import SCALE, PyvrpData, build_data, routes_of

if TYPE_CHECKING:
    import pyvrp

MAX_WORKERS = 6  # Lambda's most vCPUs
LAMBDA_MB_PER_VCPU = 1769  # Lambda gives one full vCPU per 1,769 MB of memory
PARALLEL_MIN_CLIENTS = 200  # smaller problems settle in seconds: one search is enough
LARGE_CLIENTS = 500  # from here on a run of seconds is short for PyVRP: greedier parameters
SHORT_S_PER_CLIENT = 0.06  # ... when it has at most this much time per client (60 s at 1,000)
LARGE_HISTORY = 50  # late-acceptance history of a large problem (PyVRP's default: 300)
LARGE_PERTURBATIONS = 10  # most clients moved by one perturbation (PyVRP's default: 25)
ROUNDS = 3  # several searches pool their best plan this many times (see `_parallel`)


class _SolutionLimit:
    """A PyVRP stopping criterion: stop after `limit` improving solutions."""

    def __init__(self, limit: int) -> None:
        self.limit, self.best, self.found = limit, math.inf, 0

    def __call__(self, best_cost: float) -> bool:
        if best_cost < self.best:
            self.best, self.found = best_cost, self.found + 1
        return self.found >= self.limit


class _Deadline:
    """A PyVRP stopping criterion: stop at `deadline` (a `time.monotonic()` value). Unlike
    `MaxRuntime`, whose clock starts at its first call (after PyVRP's initial local search),
    the deadline is absolute, so the build and the initial search are inside the limit."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def __call__(self, best_cost: float) -> bool:
        return time.monotonic() >= self.deadline


def solve_params(num_clients: int, seconds: float) -> pyvrp.SolveParams:
    """PyVRP's parameters for `num_clients` clients searched for `seconds`. PyVRP's defaults,
    except for a large problem in a short run (`LARGE_CLIENTS` clients or more, at most
    `SHORT_S_PER_CLIENT` s per client): such a run is only a few thousand iterations of PyVRP's
    iterated local search, so the late-acceptance history is `LARGE_HISTORY` (300 lets the
    search drift for most of the run) and a perturbation moves at most `LARGE_PERTURBATIONS`
    clients. Measured at 1,000 clients and 20 s of CPU: ~7.8 % -> ~4.7 % mean gap."""
    import pyvrp
    from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams
    from pyvrp.search import PerturbationParams

    if num_clients < LARGE_CLIENTS or seconds > SHORT_S_PER_CLIENT * num_clients:
        return pyvrp.SolveParams()
    return pyvrp.SolveParams(
        ils=IteratedLocalSearchParams(history_length=LARGE_HISTORY),
        perturbation=PerturbationParams(max_perturbations=LARGE_PERTURBATIONS),
    )


def workers() -> int:
    """Processes to search with: `FLEETBRIDGE_SOLVER_WORKERS` if set, else the whole vCPUs the
    Lambda memory setting buys (one per 1,769 MB: 2,048 MB gives 1, 10,240 MB gives 5), else 1;
    never more than the CPUs this process may use nor `MAX_WORKERS`. Searches sharing a CPU
    are each slower, so only dedicated vCPUs count (measured: 2 searches on 2 busy cores are
    worse than one)."""
    configured = os.environ.get("FLEETBRIDGE_SOLVER_WORKERS", "")
    memory = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    if configured.isdigit() and int(configured) > 0:
        wanted = int(configured)
    elif memory.isdigit():
        wanted = int(memory) // LAMBDA_MB_PER_VCPU
    else:
        wanted = 1
    return max(1, min(wanted, len(os.sched_getaffinity(0)), MAX_WORKERS))


def _search(
    build: PyvrpData, stop: Any, stop_at: float, seed: int, initial: pyvrp.Solution | None = None
) -> tuple[pyvrp.Solution, int]:
    """One PyVRP search (from `initial` if given) that `stop` ends by `stop_at`: its best
    solution and its iterations."""
    import pyvrp
    from pyvrp.exceptions import PenaltyBoundWarning

    with warnings.catch_warnings():
        # PyVRP warns when its penalties peak on a tight instance; the checker judges the plan
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp.solve(
            build.data,
            stop,
            seed=seed,
            display=False,
            collect_stats=False,
            params=solve_params(build.data.num_clients, stop_at - time.monotonic()),
            initial_solution=initial,
        )
    return result.best, result.num_iterations


def _cost(solution: pyvrp.Solution) -> float:
    """PyVRP's objective of `solution` (scaled), infinite when PyVRP finds it infeasible."""
    import pyvrp

    if not solution.is_feasible():
        return math.inf
    return float(pyvrp.CostEvaluator([0] * len(solution.excess_load()), 0, 0).cost(solution))


def _parallel(
    build: PyvrpData, deadline: float, seed: int, count: int
) -> tuple[pyvrp.Solution, dict[str, Any]]:
    """`count` searches in forked processes (Process + Pipe: Lambda has no /dev/shm for pools),
    cooperating in `ROUNDS` equal rounds: in each round every search runs with its own seed
    from the best solution of the round before (round one: from its own start), so the time
    of the searches that fell behind goes to continuing the leader. A child that fails or
    answers late is ignored."""
    context = multiprocessing.get_context("fork")
    start = time.monotonic()
    best: pyvrp.Solution | None = None
    iterations, answered = 0, []
    for r in range(ROUNDS):
        round_end = start + (deadline - start) * (r + 1) / ROUNDS
        children = []
        for k in range(1, count):
            receiver, sender = context.Pipe(duplex=False)

            def child(
                conn: Any = sender,
                child_seed: int = seed + r * count + k,
                end: float = round_end,
                initial: Any = best,
            ) -> None:
                try:
                    conn.send(_search(build, _Deadline(end), end, child_seed, initial))
                except BaseException:  # the parent keeps its own plan
                    conn.send(None)
                finally:
                    conn.close()

            process = context.Process(target=child, daemon=True)
            process.start()
            sender.close()
            children.append((process, receiver))
        found = [_search(build, _Deadline(round_end), round_end, seed + r * count, best)]
        for process, receiver in children:
            try:
                wait = max(0.2, deadline - time.monotonic())  # a late child is not waited for
                answer = receiver.poll(wait) and receiver.recv()
            except EOFError:
                answer = None
            process.join(timeout=1.0)
            if process.is_alive():
                process.kill()
            if answer:
                found.append(answer)
        answered.append(len(found))
        iterations += sum(n for _, n in found)
        best = min((solution for solution, _ in found), key=_cost)
    assert best is not None
    stats = {"workers": count, "workers_answered": min(answered), "rounds": ROUNDS}
    return best, {**stats, "iterations": iterations}


def solve(
    problem: Problem,
    deadline: float,
    *,
    relaxed: bool = False,
    seed: int = 0,
    solutions: int | None = None,
) -> tuple[list[list[int]], dict[str, Any]]:
    """Routes (`routes[v]` = stop indices) found by PyVRP by `deadline` (a `time.monotonic()`
    value), and statistics; `solutions` stops after that many improving solutions. Problems of
    `PARALLEL_MIN_CLIENTS` clients or more are searched by `workers()` processes at once."""
    from pyvrp.stop import MultipleCriteria, NoImprovement

    build = build_data(problem, relaxed=relaxed)
    data = build.data
    count = workers() if data.num_clients >= PARALLEL_MIN_CLIENTS and solutions is None else 1
    stats: dict[str, Any]
    if count > 1:
        best, stats = _parallel(build, deadline, seed, count)
    else:
        patience = max(10_000, 2_000 * data.num_clients)
        criteria: list[Any] = [_Deadline(deadline), NoImprovement(patience)]
        if solutions is not None:
            criteria.append(_SolutionLimit(solutions))
        best, iterations = _search(build, MultipleCriteria(criteria), deadline, seed)
        stats = {"iterations": iterations}
    cost = _cost(best)
    stats["pyvrp_feasible"] = best.is_feasible()
    stats["pyvrp_cost"] = cost / SCALE if math.isfinite(cost) else None
    stats["notes"] = build.notes
    return routes_of(build, problem, best), stats
