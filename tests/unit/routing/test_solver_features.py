"""Each routing feature, on small hand-made inputs, through `solve` (the PyVRP path)."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from fleetbridge.routing.errors import InfeasibleRun, InvalidRouterInput
from fleetbridge.routing.model import haversine
from fleetbridge.routing.schema import Position
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


def seconds(stamp: str) -> float:
    """Seconds from T0 of an RFC 3339 time."""
    return (datetime.fromisoformat(stamp) - datetime.fromisoformat(T0)).total_seconds()


def test_distances_are_haversine_and_durations_distance_over_speed() -> None:
    answer = run({"vehicles": [vehicle("v", speed=5)], "stops": [stop("a", 3)]})
    expected = 2 * haversine(Position(lon=0, lat=0), Position.model_validate(pos(3)))
    veh = answer["state"]["vehicles"][0]
    assert veh["route_distance"] == pytest.approx(expected, rel=1e-6)
    assert veh["route_duration"] == pytest.approx(expected / 5, abs=1e-3)
    assert answer["state"]["value"] == pytest.approx(expected / 5, abs=1e-3)  # travel time
    assert answer["statistics"]["backend"] == "pyvrp"


def test_hard_windows_decide_the_order_and_are_met() -> None:
    # b is nearer, but its window opens late: a first, then b
    stops = [
        stop("a", 4, hard_window=[at(0), at(600)]),
        stop("b", 2, hard_window=[at(3000), at(3600)]),
    ]
    answer = run({"vehicles": [vehicle("v", shift_start=T0)], "stops": stops})
    assert route(answer, "v") == ["a", "b"]
    served = seconds(entry(answer, "b")["estimated_service"])
    assert 3000 <= served <= 3600
    assert entry(answer, "b")["estimated_arrival"] <= entry(answer, "b")["estimated_service"]


def test_a_mandatory_stop_outside_every_shift_makes_the_run_infeasible() -> None:
    stops = [stop("late", 1, hard_window=[at(7200), at(7300)])]
    vehicles = [vehicle("v", shift_start=T0, shift_end=at(3600))]
    with pytest.raises(InfeasibleRun) as caught:
        run({"vehicles": vehicles, "stops": stops})
    reason = caught.value.reasons[0]
    assert reason.stop == "late" and reason.vehicle == "v"
    assert "late" in str(caught.value)


def test_shifts_bound_the_route_and_a_late_optional_stop_stays_out() -> None:
    stops = [stop("near", 1), stop("far", 30, unassigned_penalty=100_000)]
    vehicles = [vehicle("v", shift_start=T0, shift_end=at(1800))]  # 30 min: far needs ~100
    answer = run({"vehicles": vehicles, "stops": stops})
    assert route(answer, "v") == ["near"]
    assert unassigned(answer) == ["far"]
    assert seconds(answer["state"]["vehicles"][0]["route"][-1]["estimated_arrival"]) <= 1800


def test_multi_dimension_capacity_splits_the_stops() -> None:
    stops = [
        stop("a", 1, quantity={"boxes": -3, "kg": -10}),
        stop("b", 1.1, quantity={"boxes": -3, "kg": -10}),
        stop("c", 1.2, quantity={"boxes": -1, "kg": -50}),
    ]
    vehicles = [
        vehicle("v1", capacity={"boxes": 6, "kg": 40}),
        vehicle("v2", capacity={"boxes": 6, "kg": 55}),
    ]
    answer = run({"vehicles": vehicles, "stops": stops})
    assert vehicle_of(answer, "c") == "v2"
    assert vehicle_of(answer, "a") == vehicle_of(answer, "b") == "v1"


def test_stop_duration_is_scaled_by_the_vehicle_multiplier() -> None:
    answer = run(
        {
            "vehicles": [vehicle("v", shift_start=T0, stop_duration_multiplier=2)],
            "stops": [stop("a", 1, stop_duration=300)],
        }
    )
    step = entry(answer, "a")
    assert seconds(step["estimated_departure"]) - seconds(step["estimated_service"]) == 600


def test_pickup_before_its_delivery_on_one_vehicle() -> None:
    stops = [
        stop("drop", 1, quantity=2),
        stop("pick", 5, quantity=-2, precedes="drop"),
        stop("other", 3, quantity=-1),
    ]
    answer = run(
        {"vehicles": [vehicle("v1", capacity=2), vehicle("v2", capacity=2)], "stops": stops}
    )
    assert answer["statistics"]["backend"] == "pyvrp"  # a shipment
    veh = vehicle_of(answer, "pick")
    assert vehicle_of(answer, "drop") == veh
    ids = route(answer, str(veh))
    assert ids.index("pick") < ids.index("drop")


def test_backlog_pins_a_stop_to_its_vehicle() -> None:
    stops = [stop("a", 1), stop("b", -1.5)]
    vehicles = [vehicle("near"), vehicle("far", start=pos(50), end=pos(50), backlog=["a"])]
    answer = run({"vehicles": vehicles, "stops": stops})
    assert vehicle_of(answer, "a") == "far"
    assert vehicle_of(answer, "b") == "near"


def test_compatibility_attributes_need_one_shared_attribute() -> None:
    stops = [stop("cold", 1, compatibility_attributes=["fridge", "freezer"]), stop("dry", -1)]
    vehicles = [
        vehicle("van"),
        vehicle("truck", start=pos(20), end=pos(20), compatibility_attributes=["freezer"]),
    ]
    answer = run({"vehicles": vehicles, "stops": stops})
    assert vehicle_of(answer, "cold") == "truck"
    assert vehicle_of(answer, "dry") == "van"


def test_no_compatible_vehicle_is_reported_before_solving() -> None:
    stops = [stop("cold", 1, compatibility_attributes=["fridge"])]
    with pytest.raises(InfeasibleRun) as caught:
        run({"vehicles": [vehicle("van")], "stops": stops})
    assert caught.value.partial is None
    assert caught.value.code == "infeasible"
    assert caught.value.as_dict() == {
        "infeasible": [
            {
                "stop": "cold",
                "message": "no vehicle has any of its compatibility attributes",
                "field": "stops[0].compatibility_attributes",
            }
        ]
    }


def test_bad_input_raises_invalid_router_input_from_solve() -> None:
    with pytest.raises(InvalidRouterInput) as caught:
        run({"vehicles": [vehicle("v")], "stops": [stop("a", 1, quantity="many")]})
    assert caught.value.field == "stops[0].quantity"


def test_max_stops_spreads_the_stops() -> None:
    stops = [stop(f"s{i}", 1 + i * 0.1) for i in range(4)]
    vehicles = [vehicle("v1", max_stops=2), vehicle("v2", max_stops=2)]
    answer = run({"vehicles": vehicles, "stops": stops})
    assert len(route(answer, "v1")) == len(route(answer, "v2")) == 2


def test_max_distance_leaves_a_far_optional_stop_out() -> None:
    stops = [stop("near", 1), stop("far", 10, unassigned_penalty=1e6)]
    answer = run({"vehicles": [vehicle("v", max_distance=5000)], "stops": stops})
    assert unassigned(answer) == ["far"]
    assert answer["state"]["vehicles"][0]["route_distance"] <= 5000


def test_max_duration_counts_travel_and_service() -> None:
    stops = [stop("a", 1, stop_duration=600), stop("b", 1.2, stop_duration=600)]
    vehicles = [vehicle("v1", max_duration=1000), vehicle("v2", max_duration=1000)]
    answer = run({"vehicles": vehicles, "stops": stops})
    assert vehicle_of(answer, "a") != vehicle_of(answer, "b")
    assert all(v["route_duration"] <= 1000 for v in answer["state"]["vehicles"])


def test_unassigned_penalty_trades_off_against_travel() -> None:
    far = 20  # km: ~4,000 s of travel there and back at 10 m/s
    cheap = run({"vehicles": [vehicle("v")], "stops": [stop("x", far, unassigned_penalty=100)]})
    dear = run({"vehicles": [vehicle("v")], "stops": [stop("x", far, unassigned_penalty=10**6)]})
    assert unassigned(cheap) == ["x"] and cheap["state"]["value"] == 100
    assert route(dear, "v") == ["x"]


def test_initialization_cost_prefers_fewer_vehicles() -> None:
    stops = [stop("a", 0.5), stop("b", 9.5)]
    fleet = [vehicle("v1"), vehicle("v2", start=pos(10), end=pos(10))]
    free = run({"vehicles": fleet, "stops": stops})
    dear = run(
        {
            "defaults": {"vehicles": {"initialization_cost": 10_000}},
            "vehicles": fleet,
            "stops": stops,
        }
    )
    assert free["statistics"]["vehicles_used"] == 2  # each serves its neighbour
    assert dear["statistics"]["vehicles_used"] == 1
    assert dear["statistics"]["initialization_cost"] == 10_000


def test_duration_group_overhead_is_paid_once_per_entry() -> None:
    stops = [stop("a", 1, stop_duration=60), stop("b", 1.01, stop_duration=60)]
    plain = run({"vehicles": [vehicle("v", shift_start=T0)], "stops": stops})
    grouped = run(
        {
            "vehicles": [vehicle("v", shift_start=T0)],
            "stops": stops,
            "duration_groups": [{"group": ["a", "b"], "duration": 300}],
        }
    )
    assert grouped["state"]["vehicles"][0]["route_duration"] == pytest.approx(
        plain["state"]["vehicles"][0]["route_duration"] + 300, abs=0.5
    )


def test_each_vehicle_visits_exactly_one_of_its_alternate_stops() -> None:
    answer = run(
        {
            "vehicles": [
                vehicle("v1", alternate_stops=["lunch-w", "lunch-e"]),
                vehicle("v2", alternate_stops=["lunch-e"]),
            ],
            "stops": [stop("a", 2)],
            "alternate_stops": [stop("lunch-w", -1.5), stop("lunch-e", 1)],
        }
    )
    assert route(answer, "v2").count("lunch-e") == 1
    lunches = [s for s in route(answer, "v1") if s.startswith("lunch")]
    assert lunches == ["lunch-e"]  # the nearer one on its way to a (or v2 serves a)


def test_open_route_ends_at_the_last_stop() -> None:
    answer = run({"vehicles": [{"id": "v", "start": pos(0)}], "stops": [stop("a", 2)]})
    veh = answer["state"]["vehicles"][0]
    assert [s["id"] for s in veh["route"]] == ["v-start", "a"]
    one_way = haversine(Position(lon=0, lat=0), Position.model_validate(pos(2)))
    assert veh["route_distance"] == pytest.approx(one_way, rel=1e-6)


def test_no_start_position_starts_at_the_first_stop() -> None:
    answer = run({"vehicles": [{"id": "v"}], "stops": [stop("a", 2), stop("b", 3)]})
    assert answer["state"]["vehicles"][0]["route_distance"] == pytest.approx(1000, rel=0.01)


def test_times_are_numbers_when_the_input_has_none() -> None:
    answer = run({"vehicles": [vehicle("v")], "stops": [stop("a", 1, stop_duration=10)]})
    step = entry(answer, "a")
    assert isinstance(step["estimated_arrival"], float)
    assert step["estimated_departure"] - step["estimated_service"] == 10


def test_rfc3339_times_keep_the_input_offset() -> None:
    answer = run(
        {
            "vehicles": [vehicle("v", shift_start="2025-01-01T09:00:00-05:00")],
            "stops": [stop("a", 1)],
        }
    )
    assert entry(answer, "a")["estimated_arrival"].endswith("-05:00")


def test_the_solver_respects_options_duration() -> None:
    stops = [stop(f"s{i}", math.cos(i) * 5, math.sin(i) * 5) for i in range(30)]
    answer = run(
        {
            "options": {"solver": {"limits": {"duration": "1.5s"}}},
            "vehicles": [vehicle("v1"), vehicle("v2")],
            "stops": stops,
        },
        seconds=None,
    )
    assert answer["statistics"]["time_limit_s"] == 1.5
    assert answer["statistics"]["duration_s"] <= 1.6
