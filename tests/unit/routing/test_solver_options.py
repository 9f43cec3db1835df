"""Solver options (issue 16, item 8): honoured when the engine can, refused by name otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from fleetbridge.routing.errors import InvalidRouterInput
from fleetbridge.routing.profiles_rules import check_defaults_and_options
from fleetbridge.routing.schema import parse_input
from tests.unit.routing.solver_helpers import run, stop, vehicle


def _input(**options: Any) -> dict[str, Any]:
    stops = [stop(f"s{i}", i % 5 + 1, i // 5, quantity=1) for i in range(12)]
    return {"options": options, "vehicles": [vehicle("v", capacity=20)], "stops": stops}


def test_a_solution_limit_stops_the_search_early() -> None:
    answer = run(_input(solver={"limits": {"solutions": 1}}), seconds=5.0)
    stats = answer["statistics"]
    assert stats["solution_limit"] == 1
    assert stats["pyvrp"]["iterations"] < 1000  # without it: 10,000 without improvement
    assert stats["duration_s"] < 2.0


def test_diagnostics_add_routes_and_verbosity_high_adds_loads() -> None:
    plain = run(_input())
    assert "diagnostics" not in plain["statistics"]
    answer = run(_input(diagnostics=True))
    diagnostics = answer["statistics"]["diagnostics"]
    assert diagnostics["verbosity"] == "medium"
    (route,) = diagnostics["routes"]
    assert route["vehicle"] == "v" and route["stops"] == 12
    assert route["start_load"] == {"default": 12.0} and route["max_load"] == {"default": 12.0}
    assert diagnostics["unassigned"] == []
    high = run(_input(solver={"verbosity": "high"}))["statistics"]["diagnostics"]
    assert [step["load"]["default"] for step in high["routes"][0]["loads"]][-1] == 0.0


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"solver": {"diagram": {"width": 10}}}, "options.solver.diagram"),
        ({"solver": {"pool": {"size": 2}}}, "options.solver.pool"),
        ({"solver": {"limits": {"nodes": 100}}}, "options.solver.limits.nodes"),
        ({"search": {}}, "options.search"),
    ],
)
def test_options_the_engine_cannot_honour_are_refused_by_name(
    options: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRouterInput) as caught:
        parse_input(_input(**options))
    assert caught.value.field == field
    assert "is not supported by this engine" in caught.value.message
    assert "options.solver.limits.solutions" in caught.value.message
    with pytest.raises(InvalidRouterInput):  # run profiles refuse them too
        check_defaults_and_options(None, options)


def test_bad_option_values_name_the_field() -> None:
    with pytest.raises(InvalidRouterInput) as caught:
        parse_input(_input(solver={"limits": {"solutions": 0}}))
    assert caught.value.field == "options.solver.limits.solutions"
    with pytest.raises(InvalidRouterInput) as caught:
        parse_input(_input(solver={"verbosity": "loud"}))
    assert caught.value.field == "options.solver.verbosity"
