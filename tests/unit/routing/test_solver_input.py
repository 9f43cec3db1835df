"""Router input: schema, defaults, cross-references, the matrix extension, light imports."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from fleetbridge.core.errors import InvalidInputError
from fleetbridge.routing.errors import InvalidRouterInput
from fleetbridge.routing.model import build_problem
from fleetbridge.routing.schema import parse_duration, parse_input
from tests.unit.routing.solver_helpers import T0, at, pos, route, run, stop, vehicle


def invalid(body: dict[str, Any]) -> InvalidRouterInput:
    """The error building a problem from `body` raises."""
    with pytest.raises(InvalidRouterInput) as caught:
        build_problem(parse_input(body))
    assert isinstance(caught.value, InvalidInputError)
    return caught.value


def test_defaults_merge_and_the_item_wins() -> None:
    body = {
        "defaults": {
            "vehicles": {"speed": 5, "shift_start": T0},
            "stops": {"stop_duration": 60, "unassigned_penalty": 9},
        },
        "vehicles": [vehicle("v1"), vehicle("v2", speed=20)],
        "stops": [stop("a", 1), stop("b", 2, stop_duration=5)],
    }
    inp = parse_input(body)
    assert [v.speed for v in inp.vehicles] == [5, 20]
    assert [s.stop_duration for s in inp.stops] == [60, 5]
    assert inp.stops[0].unassigned_penalty == 9
    assert inp.vehicles[0].shift_start is not None


@pytest.mark.parametrize(
    ("text", "expected"), [("10s", 10), ("1m30s", 90), ("500ms", 0.5), ("1h", 3600), (2, 2)]
)
def test_go_durations(text: str | float, expected: float) -> None:
    assert parse_duration(text, field="x") == expected


def test_a_bad_duration_names_its_field() -> None:
    body = {"options": {"solver": {"limits": {"duration": "ten"}}}, "vehicles": [{"id": "v"}]}
    with pytest.raises(InvalidRouterInput) as caught:
        parse_input(body).time_limit_s()
    assert caught.value.field == "options.solver.limits.duration"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"vehicles": []}, "vehicles"),
        ({"vehicles": [{"id": "v", "speed": 0}]}, "vehicles[0].speed"),
        ({"vehicles": [{"id": "v"}], "stops": [{"id": "a", "position": {"lon": 0, "lat": 91}}]},
         "stops[0].position.lat"),
        ({"vehicles": [{"id": "v", "shift_start": "2025-01-01T08:00:00"}]},
         "vehicles[0].shift_start"),
        ({"vehicles": [{"id": "v"}], "stops": [stop("a", 1, hard_window=[at(60), at(0)])]},
         "stops[0]"),
        ({"vehicles": [{"id": "v"}], "stops": [stop("a", 1, quantity=1.5)]}, "stops[0].quantity"),
        ({"vehicles": [{"id": "v"}], "stop_groups": [["a"]]}, "stop_groups[0]"),
    ],
)  # fmt: skip
def test_schema_errors_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRouterInput) as caught:
        parse_input(body)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"vehicles": [vehicle("v")], "stops": [stop("a", 1), stop("a", 2)]}, "stops[1].id"),
        ({"vehicles": [vehicle("v")], "stops": [stop("a", 1, precedes="zz")]},
         "stops[0].precedes[0]"),
        ({"vehicles": [vehicle("v", backlog=["zz"])], "stops": [stop("a", 1)]},
         "vehicles[0].backlog[0]"),
        ({"vehicles": [vehicle("v", backlog=["a"]), vehicle("w", backlog=["a"])],
          "stops": [stop("a", 1)]}, "vehicles[1].backlog[0]"),
        ({"vehicles": [vehicle("v")], "stops": [stop("a", 1, precedes="b"),
          stop("b", 2, precedes="a")]}, "stops[0].precedes"),
        ({"vehicles": [vehicle("v")], "stops": [{"id": "a"}]}, "stops[0].position"),
        ({"vehicles": [vehicle("v", alternate_stops=["zz"])], "stops": []},
         "vehicles[0].alternate_stops[0]"),
        ({"vehicles": [vehicle("v")], "stops": [stop("a", 1)],
          "duration_groups": [{"group": ["a"], "duration": 1}, {"group": ["a"], "duration": 2}]},
         "duration_groups[1].group[0]"),
        ({"vehicles": [vehicle("v")], "stops": [stop("a", 1)], "distance_matrix": [[0.0]]},
         "distance_matrix"),
    ],
)  # fmt: skip
def test_reference_errors_name_the_field(body: dict[str, Any], field: str) -> None:
    assert invalid(body).field == field


def test_an_alternate_stop_cannot_have_precedence() -> None:
    body = {
        "vehicles": [vehicle("v")],
        "stops": [stop("a", 1)],
        "alternate_stops": [stop("l", 1, precedes="a")],
    }
    with pytest.raises(InvalidRouterInput) as caught:
        parse_input(body)
    assert caught.value.field == "alternate_stops[0]"


def test_unknown_fields_are_ignored() -> None:
    body = {"vehicles": [vehicle("v", custom_data={"x": 1})], "stops": [], "runtime": "x"}
    assert parse_input(body).vehicles[0].id == "v"


def test_matrices_override_haversine_and_speed() -> None:
    # index order: stops a, b; then v's start and end. Positions all equal: only the matrix
    # can make b the expensive stop to reach from a.
    same = pos(0)
    dist = [[0, 900, 100, 100], [50, 0, 100, 100], [100, 100, 0, 0], [100, 100, 0, 0]]
    time = [[0, 90, 10, 10], [5, 0, 10, 10], [10, 10, 0, 0], [10, 10, 0, 0]]
    answer = run(
        {
            "vehicles": [{"id": "v", "start": same, "end": same, "speed": 1000}],
            "stops": [{"id": "a", "position": same}, {"id": "b", "position": same}],
            "distance_matrix": dist,
            "duration_matrix": time,
        }
    )
    assert route(answer, "v") == ["b", "a"]
    veh = answer["state"]["vehicles"][0]
    assert veh["route_distance"] == 250  # start->b 100, b->a 50, a->end 100
    assert veh["route_duration"] == 25  # from the duration matrix, not distance / speed


def test_a_distance_matrix_alone_gives_durations_by_speed_and_needs_no_positions() -> None:
    dist = [[0, 100, 100], [100, 0, 0], [100, 0, 0]]
    answer = run(
        {
            "vehicles": [{"id": "v", "start": pos(0), "end": pos(0), "speed": 4}],
            "stops": [{"id": "a"}],
            "distance_matrix": dist,
        }
    )
    assert answer["state"]["vehicles"][0]["route_duration"] == 50
    assert answer["state"]["vehicles"][0]["route"][1]["position"] is None


def test_importing_the_package_loads_no_solver() -> None:
    code = (
        "import sys, fleetbridge.routing, fleetbridge.routing.engine;"
        "heavy = [m for m in ('numpy', 'pyvrp', 'ortools', 'vroom') if m in sys.modules];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
