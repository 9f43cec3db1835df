"""The independent checker on hand-made plans: every rule it enforces and the objective."""

from __future__ import annotations

from typing import Any

import pytest

from fleetbridge.routing.checker import evaluate_plan
from fleetbridge.routing.model import Problem, build_problem
from fleetbridge.routing.schema import parse_input
from tests.unit.routing.solver_helpers import T0, at, stop, vehicle

# a 4-location line, 100 s apart at 10 m/s: start 0, a 1, b 2, c 3 (index order: stops first)
LINE = [
    [0, 1000, 2000, 3000, 0],
    [1000, 0, 1000, 2000, 1000],
    [2000, 1000, 0, 1000, 2000],
    [3000, 2000, 1000, 0, 3000],
    [0, 1000, 2000, 3000, 0],
]


def problem(stops: list[dict[str, Any]], **extra: Any) -> Problem:
    """A problem on LINE-like matrices (stops a, b, c, then v's start and end)."""
    n = len(stops)
    order = [*range(1, n + 1), 0, 0]
    matrix = [[float(LINE[i][j]) for j in order] for i in order]
    body = {
        "vehicles": [vehicle("v", shift_start=T0)],
        "stops": stops,
        "distance_matrix": matrix,
        **extra,
    }
    return build_problem(parse_input(body))


def fields(plan_problem: Problem, routes: list[list[int]]) -> list[str | None]:
    """The fields named by the violations of a plan."""
    return [v.field for v in evaluate_plan(plan_problem, routes).violations]


def test_objective_is_travel_time_plus_penalties_and_costs() -> None:
    p = problem(
        [stop("a", 1), stop("b", 2, unassigned_penalty=77), stop("c", 3, unassigned_penalty=5)],
        defaults={"vehicles": {"initialization_cost": 1000}},
    )
    plan = evaluate_plan(p, [[0]])
    assert plan.feasible
    assert plan.routes[0].travel_time == 200  # 1,000 m there and back at 10 m/s
    assert plan.routes[0].distance == 2000
    assert plan.value == 200 + 1000 + 77 + 5
    assert plan.unassigned == [1, 2]


def test_an_unserved_mandatory_stop_is_missing() -> None:
    p = problem([stop("a", 1), stop("b", 2)])
    plan = evaluate_plan(p, [[0]])
    assert plan.missing == [1] and not plan.feasible


def test_hard_window_is_on_the_service_start() -> None:
    p = problem([stop("a", 1, hard_window=[at(0), at(50)])])
    assert fields(p, [[0]]) == ["stops[0].hard_window"]  # arrives at 100 s


def test_waiting_is_allowed_and_the_departure_slides_to_avoid_it() -> None:
    p = problem([stop("a", 1, hard_window=[at(1000), at(2000)])])
    route = evaluate_plan(p, [[0]]).routes[0]
    assert route.visits[0].service == 1000 and route.visits[0].wait == 0
    assert route.start_time == 900 and route.duration == 200


def test_max_wait_counts_unavoidable_waiting_only() -> None:
    p = problem(
        [
            stop("a", 1, hard_window=[at(0), at(100)]),
            stop("b", 2, hard_window=[at(1000), at(2000)], max_wait=300),
        ]
    )
    assert fields(p, [[0, 1]]) == ["stops[1].max_wait"]  # waits 800 s at b


def test_capacity_must_stay_within_zero_and_capacity() -> None:
    p = problem(
        [stop("a", 1, quantity=-2), stop("b", 2, quantity=-2), stop("c", 3, quantity=3)],
        defaults={"vehicles": {"capacity": 3}},
    )
    assert fields(p, [[0, 1]]) == ["stops[1].quantity"]  # picks up 4 > 3
    # c is a drop-off no pick-up of its unit supplies: on board from the start (3)
    assert fields(p, [[2, 0]]) == []  # 3 -> 0 -> 2
    assert fields(p, [[0, 2]]) == ["stops[0].quantity"]  # 3 -> 5 at a


def test_route_limits() -> None:
    stops = [stop("a", 1), stop("b", 2), stop("c", 3, stop_duration=100)]
    limits = {"max_stops": 2, "max_distance": 5000, "max_duration": 550, "shift_end": at(500)}
    p = problem(stops, defaults={"vehicles": limits})
    assert fields(p, [[0, 1, 2]]) == [
        "vehicles[0].shift_end",
        "vehicles[0].max_duration",
        "vehicles[0].max_distance",
        "vehicles[0].max_stops",
    ]


def test_precedence_order_and_same_route() -> None:
    p = problem([stop("a", 1, precedes="b"), stop("b", 2)])
    assert fields(p, [[1, 0]]) == ["stops[0].precedes"]
    assert fields(p, [[0]]) == ["stop_groups"]  # half a chain


def test_stop_groups_are_all_or_nothing_on_one_route() -> None:
    body = {"vehicles": [vehicle("v1"), vehicle("v2")], "stops": [stop("a", 1), stop("b", 2)]}
    p = build_problem(parse_input({**body, "stop_groups": [["a", "b"]]}))
    assert fields(p, [[0], [1]]) == ["stop_groups"]
    assert fields(p, [[0, 1], []]) == []


def test_compatibility_and_backlog() -> None:
    body = {
        "vehicles": [vehicle("v1", backlog=["b"]), vehicle("v2", compatibility_attributes=["x"])],
        "stops": [stop("a", 1, compatibility_attributes=["x"]), stop("b", 2)],
    }
    p = build_problem(parse_input(body))
    bad = evaluate_plan(p, [[0], [1]]).violations
    assert [(v.stop, v.vehicle) for v in bad] == [("a", "v1"), ("b", "v2")]
    assert evaluate_plan(p, [[1], [0]]).feasible


def test_alternates_exactly_one_per_listing_vehicle() -> None:
    body = {
        "vehicles": [vehicle("v", alternate_stops=["l1", "l2"])],
        "stops": [stop("a", 1)],
        "alternate_stops": [stop("l1", 1), stop("l2", 2)],
    }
    p = build_problem(parse_input(body))
    assert fields(p, [[0]]) == ["vehicles[0].alternate_stops"]
    assert fields(p, [[0, 1, 2]]) == ["vehicles[0].alternate_stops"]
    assert fields(p, [[0, 2]]) == []


def test_a_stop_served_twice_is_caught() -> None:
    body = {"vehicles": [vehicle("v1"), vehicle("v2")], "stops": [stop("a", 1)]}
    p = build_problem(parse_input(body))
    messages = [v.message for v in evaluate_plan(p, [[0], [0]]).violations]
    assert messages == ["served more than once"]


def test_soft_target_penalties() -> None:
    p = problem(
        [
            stop("a", 1, target_time=at(300), earliness_penalty=2),
            stop("b", 2, target_time=at(100), lateness_penalty=3),
        ]
    )
    route = evaluate_plan(p, [[0, 1]]).routes[0]
    assert route.soft_penalty == pytest.approx(2 * 200 + 3 * 100)


def test_duration_group_overhead_and_multiplier() -> None:
    p = problem(
        [stop("a", 1, stop_duration=10), stop("b", 2, stop_duration=10)],
        defaults={"vehicles": {"stop_duration_multiplier": 3}},
        duration_groups=[{"group": ["a", "b"], "duration": 50}],
    )
    visits = evaluate_plan(p, [[0, 1]]).routes[0].visits
    assert [(x.arrival, x.service, x.departure) for x in visits] == [
        (100, 150, 180),  # overhead on entering the group
        (280, 280, 310),  # same group: none
    ]
