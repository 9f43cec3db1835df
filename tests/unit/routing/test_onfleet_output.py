"""The Onfleet run result: containers, solution, parsed input, unused alternates (issue 7, §8)."""

from __future__ import annotations

from typing import Any

from fleetbridge.routing.onfleet.request import OnfleetRunRequest
from fleetbridge.routing.onfleet.transform import build_onfleet_input
from fleetbridge.routing.output import (
    assemble_onfleet_result,
    containers_from_state,
    unused_alternate_tasks,
)

ROUTER_INPUT: dict[str, Any] = {
    "vehicles": [{"id": "w1"}, {"id": "w2"}, {"id": "w3"}],
    "stops": [
        {"id": "t1", "position": {"lon": 0.0, "lat": 0.0}},
        {"id": "t2", "position": {"lon": 0.1, "lat": 0.0}},
        {"id": "t3", "position": {"lon": 0.2, "lat": 0.0}},
        {"id": "t4", "position": {"lon": 0.3, "lat": 0.0}},
    ],
    "alternate_stops": [
        {"id": "lunch-a", "position": {"lon": 0.0, "lat": 0.1}},
        {"id": "lunch-b", "position": {"lon": 0.1, "lat": 0.1}},
    ],
}


def visit(stop_id: str, at: str = "2024-01-01T10:00:00Z") -> dict[str, Any]:
    return {
        "id": stop_id,
        "position": {"lon": 0.0, "lat": 0.0},
        "estimated_arrival": at,
        "estimated_departure": at,
        "estimated_service": at,
    }


STATE: dict[str, Any] = {
    "vehicles": [
        {
            "id": "w2",
            "route": [
                visit("w2-start"),
                visit("t3"),
                visit("lunch-b"),
                visit("t1"),
                visit("w2-end"),
            ],
            "route_duration": 1800,
            "route_distance": 12000,
        },
        {"id": "w1", "route": [visit("t2")], "route_duration": 600, "route_distance": 3000},
        {"id": "w3", "route": [], "route_duration": 0, "route_distance": 0},
    ],
    "unassigned": [{"id": "t4", "position": {"lon": 0.3, "lat": 0.0}}],
    "value": 2400,
}


def test_containers_list_tasks_in_route_order_per_routed_worker() -> None:
    assert containers_from_state(ROUTER_INPUT, STATE) == [
        {"type": "WORKER", "worker": "w1", "tasks": ["t2"]},
        {"type": "WORKER", "worker": "w2", "tasks": ["t3", "lunch-b", "t1"]},
    ]


def test_a_worker_with_an_empty_route_gets_no_container() -> None:
    workers = [c["worker"] for c in containers_from_state(ROUTER_INPUT, STATE)]
    assert "w3" not in workers


def test_unused_alternate_tasks_are_listed_for_deletion() -> None:
    assert unused_alternate_tasks(ROUTER_INPUT, STATE) == ["lunch-a"]
    assert unused_alternate_tasks({"stops": []}, STATE) == []


def test_result_has_every_part() -> None:
    tasks = [{"id": "t1", "shortId": "a1"}]
    workers = [{"id": "w1", "name": "Ann"}]
    transforms = {"tasks": {"t1": []}, "workers": {}, "run": []}
    result = assemble_onfleet_result(tasks, workers, ROUTER_INPUT, STATE, transforms)
    assert set(result) == {
        "workers",
        "tasks",
        "containers",
        "solution",
        "input",
        "unused_alternate_tasks",
    }
    assert result["tasks"] == tasks and result["workers"] == workers
    assert result["solution"] == STATE
    assert result["input"]["transforms"] == transforms
    assert result["input"]["stops"] == ROUTER_INPUT["stops"]
    assert "transforms" not in ROUTER_INPUT  # the caller's input is not touched


def test_result_without_transforms_shows_the_router_input_as_is() -> None:
    result = assemble_onfleet_result([], [], ROUTER_INPUT, STATE)
    assert result["input"] == ROUTER_INPUT


def test_from_onfleet_objects_to_containers() -> None:
    tasks: list[dict[str, Any]] = [
        {"id": "t1", "destination": {"location": [0.0, 0.0]}, "serviceTime": 5},
        {"id": "t2", "destination": {"location": [0.1, 0.0]}},
        {"id": "lunch", "destination": {"location": [0.0, 0.1]}},
    ]
    workers: list[dict[str, Any]] = [{"id": "w1", "location": [0.0, 0.0], "tasks": []}]
    request = OnfleetRunRequest.model_validate(
        {
            "routing": {"run_profile": {"id": "p"}},
            "onfleet": {
                "tasks": {"ids": ["t1", "t2", "lunch"], "params": {"from": 0}},
                "workers": {"ids": ["w1"]},
                "alternate_stops": ["lunch"],
            },
        }
    )
    built = build_onfleet_input(tasks, workers, request)
    state = {
        "vehicles": [{"id": "w1", "route": [visit("t2"), visit("lunch"), visit("t1")]}],
        "unassigned": [],
    }
    result = assemble_onfleet_result(tasks, workers, built.router_input, state, built.transforms)
    assert result["containers"] == [
        {"type": "WORKER", "worker": "w1", "tasks": ["t2", "lunch", "t1"]}
    ]
    assert result["unused_alternate_tasks"] == []
    assert result["input"]["stops"][0]["stop_duration"] == 300
    assert result["input"]["transforms"]["tasks"]["t1"][0]["field"] == "position"
