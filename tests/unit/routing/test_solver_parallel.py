"""The solver may search with every vCPU (issue 16 scale goal): several seeds in forked
processes, the best checked plan wins."""

from __future__ import annotations

import pytest

from fleetbridge.routing import pyvrp_backend
from tests.unit.routing.solver_helpers import run, stop, unassigned, vehicle


def test_workers_follow_the_setting_and_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETBRIDGE_SOLVER_WORKERS", "3")
    assert pyvrp_backend.workers() == 3
    monkeypatch.setenv("FLEETBRIDGE_SOLVER_WORKERS", "64")
    assert pyvrp_backend.workers() == pyvrp_backend.MAX_WORKERS
    monkeypatch.delenv("FLEETBRIDGE_SOLVER_WORKERS")
    assert 1 <= pyvrp_backend.workers() <= pyvrp_backend.MAX_WORKERS


def test_a_large_enough_problem_is_searched_by_several_processes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLEETBRIDGE_SOLVER_WORKERS", "2")
    monkeypatch.setattr(pyvrp_backend, "PARALLEL_MIN_CLIENTS", 5)
    stops = [stop(f"s{i}", i % 4 + 1, i // 4, quantity=-1) for i in range(12)]
    answer = run({"vehicles": [vehicle("a", capacity=6), vehicle("b", capacity=6)], "stops": stops})
    assert unassigned(answer) == []
    pyvrp = answer["statistics"]["pyvrp"]
    assert pyvrp["workers"] == 2 and pyvrp["workers_answered"] == 2
