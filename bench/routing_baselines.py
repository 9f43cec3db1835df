"""The three reference solvers the routing benchmark compares our engine with, each given the
same integer data: distances and times scaled by 10 (truncated one-decimal distances become
exact integers), service times, capacity, windows, the fleet size.

- PyVRP: its default iterated local search, `MaxRuntime(seconds)`, seed 0.
- OR-Tools routing: PARALLEL_CHEAPEST_INSERTION first solution, GUIDED_LOCAL_SEARCH, time limit.
- VROOM (pyvroom): exploration level 5, one thread, timeout.

Each runner returns routes as lists of customer numbers (depot left out), which the benchmark
hands to the independent checker in bench/vrptw.py. Bench-only: none of this ships.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bench.vrptw import Instance

SCALE = 10
Routes = list[list[int]]


def scaled_matrix(inst: Instance) -> list[list[int]]:
    """The truncated distance matrix times 10, as exact integers."""
    return [[round(SCALE * d) for d in row] for row in inst.matrix()]


def run_pyvrp(inst: Instance, seconds: float) -> Routes:
    """PyVRP on the instance, stopped after `seconds`."""
    import numpy as np
    import pyvrp
    from pyvrp.stop import MaxRuntime

    n = inst.num_customers + 1
    locations = [pyvrp.Location(inst.x[i], inst.y[i]) for i in range(n)]
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
    matrix = np.asarray(scaled_matrix(inst), dtype=np.int64)
    data = pyvrp.ProblemData(locations, clients, [depot], [vehicle], [matrix], [matrix])
    result = pyvrp.solve(data, MaxRuntime(seconds), seed=0, display=False, collect_stats=False)
    return [[a.idx + 1 for a in route if a.is_client()] for route in result.best.routes()]


def run_ortools(inst: Instance, seconds: float) -> Routes:
    """OR-Tools routing: parallel cheapest insertion, then guided local search."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = inst.num_customers + 1
    matrix = scaled_matrix(inst)
    manager = pywrapcp.RoutingIndexManager(n, inst.num_vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)

    def distance(i: int, j: int) -> int:
        return matrix[manager.IndexToNode(i)][manager.IndexToNode(j)]

    def travel_and_service(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return matrix[a][b] + SCALE * inst.service[a]

    def demand(i: int) -> int:
        return inst.demand[manager.IndexToNode(i)]

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(distance))
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitCallback(demand),
        0,
        [inst.capacity] * inst.num_vehicles,
        True,
        "load",
    )
    horizon = SCALE * inst.due[0]
    routing.AddDimension(
        routing.RegisterTransitCallback(travel_and_service), horizon, horizon, False, "time"
    )
    time = routing.GetDimensionOrDie("time")
    for node in range(1, n):
        time.CumulVar(manager.NodeToIndex(node)).SetRange(
            SCALE * inst.ready[node], SCALE * inst.due[node]
        )
    for v in range(inst.num_vehicles):
        time.CumulVar(routing.Start(v)).SetRange(SCALE * inst.ready[0], horizon)
        time.CumulVar(routing.End(v)).SetRange(SCALE * inst.ready[0], horizon)

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return []
    routes: Routes = []
    for v in range(inst.num_vehicles):
        index, route = solution.Value(routing.NextVar(routing.Start(v))), []
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        routes.append(route)
    return routes


def run_vroom(inst: Instance, seconds: float) -> Routes:
    """VROOM at exploration level 5 on one thread, with `seconds` as its timeout."""
    import vroom

    n = inst.num_customers + 1
    problem = vroom.Input()
    problem.set_durations_matrix("car", scaled_matrix(inst))
    window = vroom.TimeWindow(SCALE * inst.ready[0], SCALE * inst.due[0])
    for v in range(inst.num_vehicles):
        problem.add_vehicle(
            vroom.Vehicle(v + 1, start=0, end=0, capacity=[inst.capacity], time_window=window)
        )
    for i in range(1, n):
        problem.add_job(
            vroom.Job(
                i,
                location=i,
                default_service=SCALE * inst.service[i],
                delivery=[inst.demand[i]],
                time_windows=[vroom.TimeWindow(SCALE * inst.ready[i], SCALE * inst.due[i])],
            )
        )
    solution = problem.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=seconds))
    routes: dict[int, list[int]] = {}
    for step in solution.to_dict()["routes"]:
        routes[step["vehicle"]] = [s["id"] for s in step["steps"] if s["type"] == "job"]
    return list(routes.values())


BASELINES: dict[str, Callable[[Instance, float], Routes]] = {
    "pyvrp": run_pyvrp,
    "ortools": run_ortools,
    "vroom": run_vroom,
}
