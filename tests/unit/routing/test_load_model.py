"""The load model (issue 16, item 1): drop-offs leave loaded, pairs load at the pick-up,
drop-offs whose pick-up is done are on board from the start, no capacity means no limit."""

from __future__ import annotations

from typing import Any

import pytest

from fleetbridge.routing.checker import evaluate_plan, start_load
from fleetbridge.routing.errors import InfeasibleRun
from fleetbridge.routing.model import build_problem
from fleetbridge.routing.onfleet.request import Compatibility, OnfleetRunRequest
from fleetbridge.routing.onfleet.transform import build_onfleet_input
from fleetbridge.routing.schema import parse_input
from tests.unit.routing.solver_helpers import run, stop, unassigned, vehicle, vehicle_of


def _problem(stops: list[dict[str, Any]], vehicles: list[dict[str, Any]] | None = None) -> Any:
    return build_problem(parse_input({"vehicles": vehicles or [vehicle("v")], "stops": stops}))


def _violations(problem: Any, route: list[int]) -> list[str | None]:
    return [v.field for v in evaluate_plan(problem, [route]).violations]


def test_delivery_only_without_capacity_is_never_infeasible() -> None:
    stops = [stop("a", 1, quantity=3), stop("b", 2, quantity=5), stop("c", 3, quantity=1)]
    answer = run({"vehicles": [vehicle("v")], "stops": stops})
    assert unassigned(answer) == []
    problem = _problem(stops)
    assert _violations(problem, [0, 1, 2]) == []
    assert start_load(problem, [0, 1, 2]) == [9.0]


def test_delivery_only_is_feasible_exactly_when_the_route_total_fits() -> None:
    stops = [stop("a", 1, quantity=3), stop("b", 2, quantity=2), stop("c", 3, quantity=1)]
    problem = _problem(stops, [vehicle("v", capacity=5)])
    assert _violations(problem, [0, 1]) == []  # 3 + 2 = 5 fits
    assert _violations(problem, [0, 1, 2]) == ["vehicles[0].capacity"]  # 6 > 5 at the start
    answer = run(
        {"vehicles": [vehicle("v1", capacity=5), vehicle("v2", capacity=5)], "stops": stops}
    )
    assert unassigned(answer) == []
    carried = {"v1": 0, "v2": 0}
    for s in stops:
        carried[str(vehicle_of(answer, s["id"]))] += s["quantity"]
    assert max(carried.values()) <= 5


def test_delivery_too_big_for_every_vehicle_says_so() -> None:
    with pytest.raises(InfeasibleRun) as caught:
        run({"vehicles": [vehicle("v", capacity=2)], "stops": [stop("a", 1, quantity=3)]})
    assert caught.value.reasons[0].stop == "a"
    assert "capacity" in caught.value.reasons[0].message


def test_deliveries_with_a_penalty_are_served_not_dropped() -> None:
    stops = [stop(s, i + 1, quantity=2, unassigned_penalty=100_000) for i, s in enumerate("abc")]
    answer = run({"vehicles": [vehicle("v", capacity=6)], "stops": stops})
    assert unassigned(answer) == []


def test_a_pair_loads_at_the_pickup_and_unloads_at_the_dropoff() -> None:
    stops = [
        stop("x", 1, quantity=2),  # a delivery: on board from the start
        stop("p", 2, quantity=-3, precedes="d"),
        stop("d", 3, quantity=3),
    ]
    problem = _problem(stops, [vehicle("v", capacity=3)])
    assert start_load(problem, [0, 1, 2]) == [2.0]
    assert _violations(problem, [0, 1, 2]) == []  # 2 -> 0 -> 3 -> 0
    assert _violations(problem, [1, 0, 2]) == ["stops[1].quantity"]  # 2 -> 5 at the pick-up
    answer = run({"vehicles": [vehicle("v", capacity=3)], "stops": stops})
    assert unassigned(answer) == []


def _onfleet(tasks: list[dict[str, Any]], workers: list[dict[str, Any]]) -> dict[str, Any]:
    request = OnfleetRunRequest.model_validate(
        {
            "routing": {"run_profile": {"id": "p"}},
            "onfleet": {
                "tasks": {"ids": [t["id"] for t in tasks], "params": {"from": 0}},
                "workers": {"ids": [w["id"] for w in workers]},
            },
        }
    )
    return build_onfleet_input(tasks, workers, request, Compatibility()).router_input


def _task(task_id: str, km: float, **fields: Any) -> dict[str, Any]:
    return {"id": task_id, "destination": {"location": [km * 0.009, 0.0]}, **fields}


def _worker(worker_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": worker_id, "location": [0.0, 0.0], **fields}


def test_onfleet_dropoffs_with_quantity_are_routed_with_and_without_capacity() -> None:
    tasks = [_task("t1", 1, quantity=2), _task("t2", 2, quantity=3)]
    for capacity in (0, 5):
        answer = run(_onfleet(tasks, [_worker("w1", capacity=capacity)]))
        assert unassigned(answer) == [], capacity


def test_a_dropoff_whose_pickup_is_done_is_on_board_from_the_start() -> None:
    # mid-day replan: the pick-up "done" is completed (not in the run); its drop-off d1 is
    # w1's active task. w1 carries 3 of its capacity 4, so d2 (2) must go to w2.
    tasks = [
        _task("d1", 1, quantity=3, dependencies=["done"]),
        _task("d2", 1.1, quantity=2, metadata=[]),
    ]
    workers = [_worker("w1", capacity=4, activeTask="d1"), _worker("w2", capacity=4)]
    router = _onfleet(tasks, workers)
    answer = run(router)
    assert unassigned(answer) == []
    assert vehicle_of(answer, "d1") == "w1"
    assert vehicle_of(answer, "d2") == "w2"


def test_an_onfleet_pickup_dropoff_pair_shares_a_route_in_order() -> None:
    tasks = [
        _task("p", 2, quantity=3, pickupTask=True),
        _task("d", 3, quantity=3, dependencies=["p"]),
    ]
    answer = run(_onfleet(tasks, [_worker("w1", capacity=3)]))
    assert unassigned(answer) == []
    assert answer["statistics"]["backend"] == "pyvrp"
