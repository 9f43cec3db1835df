"""The solver may search with every vCPU (issue 16 scale goal): several seeds in forked
processes, the best checked plan wins."""

from __future__ import annotations

import time
from typing import Any

import pytest

from fleetbridge.routing import pyvrp_backend
from tests.unit.routing.solver_helpers import run, stop, unassigned, vehicle


def test_workers_follow_the_setting_the_lambda_memory_and_the_cpus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pyvrp_backend.os, "sched_getaffinity", lambda _pid: set(range(8)))
    monkeypatch.delenv("FLEETBRIDGE_SOLVER_WORKERS", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", raising=False)
    assert pyvrp_backend.workers() == 1  # not on Lambda, not configured
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
    assert pyvrp_backend.workers() == 1  # 2,048 MB buys 1.16 vCPU: one search
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "10240")
    assert pyvrp_backend.workers() == 5
    monkeypatch.setenv("FLEETBRIDGE_SOLVER_WORKERS", "64")
    assert pyvrp_backend.workers() == pyvrp_backend.MAX_WORKERS
    monkeypatch.setattr(pyvrp_backend.os, "sched_getaffinity", lambda _pid: {0, 1})
    assert pyvrp_backend.workers() == 2


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
    assert pyvrp["rounds"] == pyvrp_backend.ROUNDS


def test_the_searches_cooperate_in_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each round after the first starts every search from the best solution so far."""
    monkeypatch.setenv("FLEETBRIDGE_SOLVER_WORKERS", "2")
    monkeypatch.setattr(pyvrp_backend, "PARALLEL_MIN_CLIENTS", 5)
    starts: list[object] = []
    search = pyvrp_backend._search

    def recording(build: Any, stop: Any, stop_at: float, seed: int, initial: Any = None) -> Any:
        starts.append(initial)  # the parent's own searches (children record in their copy)
        return search(build, stop, stop_at, seed, initial)

    monkeypatch.setattr(pyvrp_backend, "_search", recording)
    stops = [stop(f"s{i}", i % 4 + 1, i // 4, quantity=-1) for i in range(12)]
    answer = run({"vehicles": [vehicle("a", capacity=6), vehicle("b", capacity=6)], "stops": stops})
    assert unassigned(answer) == []
    assert answer["statistics"]["pyvrp"]["rounds"] == pyvrp_backend.ROUNDS == len(starts)
    assert starts[0] is None and all(s is not None for s in starts[1:])


def test_large_problems_in_short_runs_get_greedier_search_parameters() -> None:
    large = pyvrp_backend.LARGE_CLIENTS
    short = pyvrp_backend.SHORT_S_PER_CLIENT * large
    for params in (
        pyvrp_backend.solve_params(large - 1, 1.0),  # small: PyVRP's defaults
        pyvrp_backend.solve_params(large, 1.01 * short),  # large but long enough
    ):
        assert params.ils.history_length == 300
        assert params.perturbation.max_perturbations == 25
    params = pyvrp_backend.solve_params(large, short)
    assert params.ils.history_length == pyvrp_backend.LARGE_HISTORY < 300
    assert params.perturbation.max_perturbations == pyvrp_backend.LARGE_PERTURBATIONS < 25
    assert pyvrp_backend.solve_params(1000, 30.0) == params  # the scale benchmark's case


def test_the_search_stops_at_the_deadline_itself() -> None:
    """The clock runs from the deadline, not from PyVRP's first look at it (MaxRuntime starts
    only after the initial local search, which overran 1,000-stop runs by ~0.3 s)."""
    stops = [stop(f"s{i}", i % 5 + 1, i // 5, quantity=-1) for i in range(30)]
    answer = run({"vehicles": [vehicle("a"), vehicle("b")], "stops": stops}, seconds=0.5)
    assert answer["statistics"]["duration_s"] <= 0.5 + 0.3  # checking and rendering included
    stop_at = pyvrp_backend._Deadline(time.monotonic() + 0.2)
    assert not stop_at(0.0)
    time.sleep(0.25)
    assert stop_at(0.0)  # a MaxRuntime(0.2) would start counting only at its first call
