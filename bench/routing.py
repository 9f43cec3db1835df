"""Routing quality benchmark: Solomon / Gehring-Homberger VRPTW instances through the engine's
`/v0/run` entry point, against PyVRP, OR-Tools routing and VROOM at the same time limit.

Our engine gets each instance as a router input: every customer a mandatory stop with its
demand as a negative quantity, its service time as stop_duration, its window as RFC 3339
times; the fleet as identical vehicles at the depot; and the instance's truncated-Euclidean
matrix as both `distance_matrix` and `duration_matrix` (the matrix extension). Every solver's
routes, ours included, go through the independent checker of bench/vrptw.py, which recomputes
cost, loads and windows from the instance alone. Gaps are to the best known distance.

    .venv/bin/python -m bench.routing                      # the six at 10 s, all four solvers
    .venv/bin/python -m bench.routing --all --seconds 30 --solvers ours
    .venv/bin/python -m bench.routing --scale              # 200 and 1000 customers at 30 s

Our engine searches with `pyvrp_backend.workers()` cooperating processes from 200 customers
on. With `--scale` that is one per CPU of this machine (as the solver function gets one per
vCPU its memory buys: 3,538 MB for two) unless `--workers` or `FLEETBRIDGE_SOLVER_WORKERS`
says otherwise; the other solvers have one search each (none of them runs searches in
parallel). The header says how many ours used.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from statistics import fmean
from typing import Any

from bench import vrptw
from bench.routing_baselines import BASELINES, Routes

DEFAULT_SET = ["C101", "C201", "R101", "R201", "RC101", "RC201"]
SCALE_SET = ["C1_2_1", "C2_2_1", "R1_2_1", "R2_2_1", "RC1_2_1", "RC2_2_1"]
SCALE_SET += ["C1_10_1", "R1_10_1", "RC1_10_1"]
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def router_input(inst: vrptw.Instance) -> dict[str, Any]:
    """The instance as a Nextmv router input with the matrix extension."""
    n, fleet = inst.num_customers, inst.num_vehicles
    span = max(max(inst.x), max(inst.y), 1.0)

    def position(i: int) -> dict[str, float]:
        return {"lon": 80 * inst.x[i] / span, "lat": 80 * inst.y[i] / span}  # display only

    def at(t: float) -> str:
        return (EPOCH + timedelta(seconds=t)).isoformat().replace("+00:00", "Z")

    full = inst.matrix()
    order = list(range(1, n + 1)) + [0] * (2 * fleet)  # stops, then each vehicle's start, end
    matrix = [[full[i][j] for j in order] for i in order]
    return {
        "options": {"solver": {"limits": {"duration": "10s"}}},
        "defaults": {
            "vehicles": {
                "start": position(0),
                "end": position(0),
                "capacity": inst.capacity,
                "shift_start": at(inst.ready[0]),
                "shift_end": at(inst.due[0]),
            }
        },
        "vehicles": [{"id": f"v{k + 1}"} for k in range(fleet)],
        "stops": [
            {
                "id": str(c),
                "position": position(c),
                "quantity": -inst.demand[c],
                "stop_duration": inst.service[c],
                "hard_window": [at(inst.ready[c]), at(inst.due[c])],
            }
            for c in range(1, n + 1)
        ],
        "distance_matrix": matrix,
        "duration_matrix": matrix,
    }


ENGINE_SECONDS: list[float] = []  # the engine's own duration_s of each run, for the table


def run_ours(inst: vrptw.Instance, seconds: float) -> Routes:
    """Our engine through the same call `/v0/run` makes."""
    from fleetbridge.routing.engine import solve

    answer = solve(router_input(inst), time_limit_s=seconds)
    ENGINE_SECONDS.append(answer["statistics"]["duration_s"])
    return [
        [int(step["id"]) for step in vehicle["route"] if step["id"].isdigit()]
        for vehicle in answer["state"]["vehicles"]
    ]


SOLVERS: dict[str, Callable[[vrptw.Instance, float], Routes]] = {"ours": run_ours, **BASELINES}


def _cell(cost: float | None, bks: float, feasible: bool) -> str:
    if cost is None:
        return f"{'error':>9}"
    mark = "" if feasible else "!"
    return f"{100 * (cost / bks - 1):8.2f}%{mark}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", help="comma-separated names (default: the six)")
    parser.add_argument("--seconds", type=float, help="time limit per instance and solver")
    parser.add_argument("--all", action="store_true", help="all 56 Solomon instances")
    parser.add_argument("--scale", action="store_true", help="200/1000-customer instances, 30 s")
    parser.add_argument(
        "--solvers", default=",".join(SOLVERS), help="subset of " + ",".join(SOLVERS)
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="our engine's cooperating searches (default: with --scale one per CPU, else 1)",
    )
    args = parser.parse_args()
    if args.workers:
        os.environ["FLEETBRIDGE_SOLVER_WORKERS"] = str(args.workers)
    elif args.scale:
        os.environ.setdefault("FLEETBRIDGE_SOLVER_WORKERS", str(len(os.sched_getaffinity(0))))

    names = DEFAULT_SET
    if args.all:
        names = [n for n in vrptw.all_names() if "_" not in n]
    elif args.scale:
        names = SCALE_SET
    if args.instances:
        names = args.instances.split(",")
    seconds = args.seconds or (30.0 if args.scale else 10.0)
    solvers = args.solvers.split(",")
    bks = vrptw.best_known()

    from fleetbridge.routing.pyvrp_backend import workers

    print(f"time limit {seconds:g} s per instance and solver; gap to best known distance")
    print(
        f"ours: {workers()} cooperating search(es) from 200 customers on; "
        f"{len(os.sched_getaffinity(0))} CPUs here; the other solvers: one search each"
    )
    print("'!' = the checker found the solution infeasible (not counted in the means)")
    header = f"{'instance':<10}{'n':>5}{'bks':>10}" + "".join(f"{s:>10}" for s in solvers)
    print(header + f"{'ours s':>8}")  # the engine's own wall time (input parsing included)
    gaps: dict[str, list[float]] = {s: [] for s in solvers}
    infeasible = dict.fromkeys(solvers, 0)
    for name in names:
        inst = vrptw.read_instance(name)
        cells, took = [], 0.0
        for solver in solvers:
            try:
                check = vrptw.check(inst, SOLVERS[solver](inst, seconds))
            except Exception as exc:  # a solver failing is a result, not a crash
                print(f"  {solver} failed on {name}: {exc!r}")
                cells.append(_cell(None, bks[name], False))
                infeasible[solver] += 1
                continue
            if solver == "ours":
                took = ENGINE_SECONDS[-1]
            cells.append(_cell(check.cost, bks[name], check.feasible))
            if check.feasible:
                gaps[solver].append(100 * (check.cost / bks[name] - 1))
            else:
                infeasible[solver] += 1
                print(f"  {solver} on {name}: {'; '.join(check.problems[:3])}")
        line = f"{name:<10}{inst.num_customers:>5}{bks[name]:>10.1f}" + "".join(cells)
        print(line + (f"{took:>8.1f}" if "ours" in solvers else ""), flush=True)
    mean = "".join(f"{fmean(gaps[s]) if gaps[s] else float('nan'):9.2f}%" for s in solvers)
    print(f"{'mean':<25}" + mean)
    print(f"{'infeasible':<25}" + "".join(f"{infeasible[s]:>10}" for s in solvers))


if __name__ == "__main__":
    main()
