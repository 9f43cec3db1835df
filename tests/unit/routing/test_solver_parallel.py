"""The solver may search with every vCPU (issue 16 scale goal): several seeds in forked
processes, the best checked plan wins."""

from __future__ import annotations

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
