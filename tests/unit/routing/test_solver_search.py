"""Features PyVRP cannot express: PyVRP on the relaxed problem, then our exact search."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import pytest

from fleetbridge.routing.errors import InfeasibleRun
from tests.unit.routing.solver_helpers import (
    T0,
    at,
    entry,
    pos,
    route,
    run,
    stop,
    unassigned,
    vehicle,
    vehicle_of,
)

SEARCH = "pyvrp-relaxed+search"


def seconds(stamp: str) -> float:
    """Seconds from T0 of an RFC 3339 time."""
    return (datetime.fromisoformat(stamp) - datetime.fromisoformat(T0)).total_seconds()


def test_max_wait_keeps_a_late_window_off_a_route_that_would_wait_too_long() -> None:
    stops = [
        stop("early", 1, hard_window=[at(0), at(200)]),
        stop("late", 1.2, hard_window=[at(3600), at(3700)], max_wait=600),
    ]
    vehicles = [vehicle("v1", shift_start=T0), vehicle("v2", shift_start=T0)]
    answer = run({"vehicles": vehicles, "stops": stops})
    assert answer["statistics"]["backend"] == SEARCH
    assert vehicle_of(answer, "early") != vehicle_of(answer, "late")
    late = entry(answer, "late")
    assert seconds(late["estimated_service"]) - seconds(late["estimated_arrival"]) <= 600


def test_max_wait_minus_one_is_unlimited() -> None:
    stops = [
        stop("early", 1, hard_window=[at(0), at(200)]),
        stop("late", 1.2, hard_window=[at(3600), at(3700)], max_wait=-1),
    ]
    answer = run({"vehicles": [vehicle("v", shift_start=T0)], "stops": stops})
    assert answer["statistics"]["backend"] == "pyvrp"
    assert route(answer, "v") == ["early", "late"]


def test_lateness_penalty_pulls_a_stop_forward() -> None:
    stops = [stop("a", 1), stop("b", -1, target_time=at(200), lateness_penalty=10)]
    answer = run({"vehicles": [vehicle("v", shift_start=T0)], "stops": stops})
    assert answer["statistics"]["backend"] == SEARCH
    assert route(answer, "v") == ["b", "a"]
    stats = answer["statistics"]
    assert stats["soft_penalty"] == 0  # a first would serve b ~100 s late: 1,000 of penalty
    assert stats["value"] == pytest.approx(stats["travel_time"] + stats["soft_penalty"], abs=1e-2)


def test_earliness_penalty_is_charged_per_second_early() -> None:
    stops = [stop("a", 1, target_time=at(1000), earliness_penalty=2)]
    answer = run({"vehicles": [vehicle("v", shift_start=T0)], "stops": stops})
    served = seconds(entry(answer, "a")["estimated_service"])
    assert answer["statistics"]["soft_penalty"] == pytest.approx(2 * (1000 - served), abs=1.01)


def test_stop_groups_share_one_vehicle() -> None:
    stops = [stop("east", 1), stop("west", -1), stop("solo", 5)]
    vehicles = [
        vehicle("v-east", start=pos(2), end=pos(2)),
        vehicle("v-west", start=pos(-2), end=pos(-2)),
    ]
    answer = run({"vehicles": vehicles, "stops": stops, "stop_groups": [["east", "west"]]})
    assert answer["statistics"]["backend"] == SEARCH
    assert vehicle_of(answer, "east") == vehicle_of(answer, "west")


def test_a_precedence_chain_is_kept_in_order_on_one_route() -> None:
    stops = [
        stop("c", 1),
        stop("b", 2, precedes="c"),
        stop("a", 3, precedes=["b"]),
    ]
    answer = run({"vehicles": [vehicle("v", end=pos(10))], "stops": stops})
    assert answer["statistics"]["backend"] == SEARCH
    assert route(answer, "v") == ["a", "b", "c"]


def test_succeeds_is_the_mirror_of_precedes() -> None:
    stops = [stop("first", 2), stop("then", 1, succeeds="first")]
    answer = run({"vehicles": [vehicle("v", end=pos(10))], "stops": stops})
    assert route(answer, "v") == ["first", "then"]


def test_a_drop_off_outside_a_pair_leaves_loaded_so_it_comes_before_the_pick_up() -> None:
    # no precedence links them: the drop-off's goods are on board from the start (2), so the
    # pick-up (2 more) only fits once they are delivered (docs/routing.md, load model)
    stops = [stop("drop", 2, quantity=2), stop("pick", 1, quantity=-2)]
    answer = run({"vehicles": [vehicle("v", end=pos(5), capacity=2)], "stops": stops})
    assert answer["statistics"]["backend"] == "pyvrp"
    assert route(answer, "v") == ["drop", "pick"]


def test_a_chain_no_single_vehicle_may_serve_is_infeasible_with_a_reason() -> None:
    stops = [
        stop("a", 1, precedes="b", compatibility_attributes=["x"]),
        stop("b", 2, compatibility_attributes=["y"]),
    ]
    vehicles = [vehicle("vx", compatibility_attributes=["x"])]
    vehicles.append(vehicle("vy", compatibility_attributes=["y"]))
    with pytest.raises(InfeasibleRun) as caught:
        run({"vehicles": vehicles, "stops": stops})
    assert {r.stop for r in caught.value.reasons} == {"a", "b"}
    assert "precedence chain" in caught.value.reasons[0].message
    partial = caught.value.partial
    assert partial is not None and set(unassigned(partial)) == {"a", "b"}


def test_an_optional_group_is_left_out_whole() -> None:
    stops = [
        stop("near", 1, unassigned_penalty=10),
        stop("far", 40, unassigned_penalty=10),
    ]
    answer = run({"vehicles": [vehicle("v")], "stops": stops, "stop_groups": [["near", "far"]]})
    assert sorted(unassigned(answer)) == ["far", "near"]
    assert answer["state"]["value"] == 20


def test_alternates_with_max_wait_go_through_the_search() -> None:
    answer = run(
        {
            "vehicles": [vehicle("v", shift_start=T0, alternate_stops=["l1", "l2"])],
            "stops": [stop("a", 1, hard_window=[at(0), at(600)], max_wait=30)],
            "alternate_stops": [
                stop("l1", 1.1, hard_window=[at(5000), at(6000)], max_wait=60),
                stop("l2", 3, stop_duration=60),
            ],
        }
    )
    assert answer["statistics"]["backend"] == SEARCH
    assert sorted(route(answer, "v")) == ["a", "l2"]  # l1 would wait ~4,900 s


def mixed_instance(seed: int) -> dict[str, Any]:
    """40 stops with windows, waits, targets, groups, pairs, alternates, limits, 4 vehicles."""
    rng = random.Random(seed)
    stops: list[dict[str, Any]] = []
    for i in range(40):
        s = stop(f"s{i}", rng.uniform(-10, 10), rng.uniform(-10, 10), stop_duration=60)
        if i % 3 == 0:
            start = rng.uniform(0, 20_000)
            s["hard_window"] = [at(start), at(start + 3600)]
            s["max_wait"] = 900
        if i % 5 == 0:
            s["target_time"], s["lateness_penalty"] = at(rng.uniform(0, 20_000)), 0.5
        if i % 2:
            s["unassigned_penalty"] = 5_000
        stops.append(s)
    for i in range(0, 8, 2):  # pick-up / drop-off pairs
        stops[i].update(precedes=f"s{i + 1}", quantity=-2)
        stops[i + 1]["quantity"] = 2
    vehicles = [
        vehicle(f"v{k}", shift_start=T0, shift_end=at(36_000), capacity=6, max_stops=14)
        for k in range(4)
    ]
    vehicles[0]["alternate_stops"] = ["lunch-1", "lunch-2"]
    return {
        "vehicles": vehicles,
        "stops": stops,
        "stop_groups": [["s11", "s12", "s13"]],
        "alternate_stops": [stop("lunch-1", 0, 3, stop_duration=1800), stop("lunch-2", 3, 0)],
        "duration_groups": [{"group": ["s21", "s22"], "duration": 300}],
    }


def test_a_mixed_instance_gives_a_checked_plan_within_its_limit() -> None:
    answer = run(mixed_instance(7), seconds=2)
    stats = answer["statistics"]
    assert stats["backend"] == SEARCH and stats["feasible"]
    assert stats["duration_s"] <= 2.0
    lunches = [s for s in route(answer, "v0") if s.startswith("lunch")]
    assert len(lunches) == 1
    for a, b in [("s0", "s1"), ("s2", "s3")]:
        if vehicle_of(answer, a):
            ids = route(answer, str(vehicle_of(answer, a)))
            assert ids.index(a) < ids.index(b)
