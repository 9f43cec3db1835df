"""How the 1,000-customer figure grows with dedicated vCPUs, simulated on a shared machine.

The solver's cooperating searches (`pyvrp_backend._parallel`: `ROUNDS` equal rounds, each search
with its own seed from the best solution of the round before) with the parameters the solver
picks (`solve_params`), but each search limited by its own CPU time instead of the wall clock,
as if it had a vCPU to itself. PyVRP's data is built as in bench/routing_baselines.py (engine
overheads left out: about 1 s of CPU at 1,000 customers); every result goes through the checker.

    .venv/bin/python -m bench.routing_vcpus --vcpus 1,2,4 --instances R1_10_1,RC1_10_1
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from statistics import fmean
from typing import Any

from bench import vrptw
from bench.routing_baselines import SCALE, scaled_matrix
from fleetbridge.routing.pyvrp_backend import ROUNDS, _cost, solve_params


class CpuTime:
    """A PyVRP stopping criterion: stop after `seconds` of this process's CPU time."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.start = seconds, time.process_time()

    def __call__(self, best_cost: float) -> bool:
        return time.process_time() - self.start >= self.seconds


def problem_data(inst: vrptw.Instance) -> Any:
    """The instance as PyVRP data (distances and times scaled by 10)."""
    import numpy as np
    import pyvrp

    n = inst.num_customers + 1
    clients = [
        pyvrp.Client(
            location=i,
            delivery=[inst.demand[i]],
            service_duration=SCALE * inst.service[i],
            tw_early=SCALE * inst.ready[i],
            tw_late=SCALE * inst.due[i],
        )
        for i in range(1, n)
    ]
    depot = pyvrp.Depot(location=0, tw_early=SCALE * inst.ready[0], tw_late=SCALE * inst.due[0])
    vehicle = pyvrp.VehicleType(
        num_available=inst.num_vehicles,
        capacity=[inst.capacity],
        tw_early=SCALE * inst.ready[0],
        tw_late=SCALE * inst.due[0],
    )
    matrix: Any = np.asarray(scaled_matrix(inst), dtype=np.int64)
    locations = [pyvrp.Location(inst.x[i], inst.y[i]) for i in range(n)]
    return pyvrp.ProblemData(locations, clients, [depot], [vehicle], [matrix], [matrix])


DATA: Any = None  # the instance being searched, inherited by the forked searches


def _one(args: tuple[int, float, Any]) -> Any:
    import pyvrp

    seed, seconds, initial = args
    params = solve_params(DATA.num_clients, seconds)
    return pyvrp.solve(
        DATA, CpuTime(seconds), seed=seed, params=params, initial_solution=initial
    ).best


def gap(name: str, vcpus: int, seconds: float) -> float | None:
    """Gap (%) of `vcpus` cooperating searches of `seconds` CPU each; None if infeasible."""
    global DATA
    inst = vrptw.read_instance(name)
    DATA = problem_data(inst)
    rounds = 1 if vcpus == 1 else ROUNDS  # one search runs without rounds in the solver
    best: Any = None
    for r in range(rounds):
        with multiprocessing.get_context("fork").Pool(vcpus) as pool:
            found = pool.map(_one, [(r * vcpus + k, seconds / rounds, best) for k in range(vcpus)])
        best = min(found, key=_cost)
    routes = [[a.idx + 1 for a in route if a.is_client()] for route in best.routes()]
    check = vrptw.check(inst, routes)
    return 100 * (check.cost / vrptw.best_known()[name] - 1) if check.feasible else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vcpus", default="1,2,4")
    parser.add_argument("--instances", default="R1_10_1,RC1_10_1")
    parser.add_argument("--seconds", type=float, default=30.0, help="CPU seconds per search")
    args = parser.parse_args()
    names = args.instances.split(",")
    print(f"{args.seconds:g} s of CPU per search; gap to best known distance ('!': infeasible)")
    print(f"{'vcpus':<7}" + "".join(f"{n:>10}" for n in names) + f"{'mean':>10}")
    for vcpus in (int(v) for v in args.vcpus.split(",")):
        gaps = [gap(name, vcpus, args.seconds) for name in names]
        cells = "".join(f"{g:9.2f}%" if g is not None else f"{'!':>10}" for g in gaps)
        feasible = [g for g in gaps if g is not None]
        print(f"{vcpus:<7}" + cells + f"{fmean(feasible) if feasible else float('nan'):9.2f}%")


if __name__ == "__main__":
    main()
