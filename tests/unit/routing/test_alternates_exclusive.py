"""Alternate tasks are never on two workers (issue 16, item 3)."""

from __future__ import annotations

from typing import Any

import pytest

from fleetbridge.routing.errors import InvalidRouterInput
from fleetbridge.routing.onfleet.metadata import RunInputError
from fleetbridge.routing.output import containers_from_state
from tests.unit.routing.solver_helpers import run, stop, vehicle, vehicle_of
from tests.unit.routing.test_onfleet_transform import build, ext, of_task, of_worker


def _lunch_input(exclusive: bool) -> dict[str, Any]:
    return {
        "vehicles": [
            vehicle("v1", alternate_stops=["near", "far"]),
            vehicle("v2", alternate_stops=["near", "far"]),
        ],
        "stops": [stop("a", 2), stop("b", -2)],
        "alternate_stops": [stop("near", 1), stop("far", 30)],
        "exclusive_alternate_stops": exclusive,
    }


def test_shared_alternates_may_be_visited_twice_in_the_plain_nextmv_model() -> None:
    answer = run(_lunch_input(exclusive=False))
    assert vehicle_of(answer, "near") is not None
    assert (
        sum(step["id"] == "near" for v in answer["state"]["vehicles"] for step in v["route"]) == 2
    )


def test_exclusive_alternates_are_each_on_one_vehicle_at_most() -> None:
    answer = run(_lunch_input(exclusive=True))
    visits = [s["id"] for v in answer["state"]["vehicles"] for s in v["route"]]
    assert sorted(i for i in visits if i in ("near", "far")) == ["far", "near"]


def test_exclusive_alternates_fewer_than_vehicles_name_the_vehicle() -> None:
    router = _lunch_input(exclusive=True)
    router["alternate_stops"] = [stop("near", 1)]
    for v in router["vehicles"]:
        v["alternate_stops"] = ["near"]
    with pytest.raises(InvalidRouterInput) as caught:
        run(router)
    assert caught.value.field == "vehicles[1].alternate_stops"
    assert "'v2'" in caught.value.message


def test_onfleet_alternates_are_exclusive_and_an_assigned_one_belongs_to_its_worker() -> None:
    tasks = [of_task("t1"), of_task("lunch-a", worker="w2"), of_task("lunch-b")]
    workers = [of_worker("w1"), of_worker("w2")]
    result = build(tasks, workers, alternate_stops=["lunch-a", "lunch-b"])
    router = result.router_input
    assert router["exclusive_alternate_stops"] is True
    assert [v["alternate_stops"] for v in router["vehicles"]] == [
        ["lunch-b"],
        ["lunch-a", "lunch-b"],
    ]
    # assigned through the worker's task list works the same way
    workers = [of_worker("w1", tasks=["lunch-b"]), of_worker("w2")]
    router = build(
        [of_task("t1"), of_task("lunch-a"), of_task("lunch-b")],
        workers,
        alternate_stops=["lunch-a", "lunch-b"],
    ).router_input
    assert [v["alternate_stops"] for v in router["vehicles"]] == [
        ["lunch-a", "lunch-b"],
        ["lunch-a"],
    ]


def test_metadata_naming_another_workers_alternate_fails() -> None:
    tasks = [of_task("t1"), of_task("lunch-a", worker="w2"), of_task("lunch-b")]
    workers = [of_worker("w1", metadata=[ext("alternate_stops", ["lunch-a"])]), of_worker("w2")]
    with pytest.raises(
        RunInputError, match=r"worker w1: .*assigned to another worker.*lunch-a \(worker w2\)"
    ):
        build(tasks, workers, alternate_stops=["lunch-a", "lunch-b"])


def test_an_onfleet_run_never_puts_one_alternate_task_on_two_workers() -> None:
    # both workers would pick the near lunch task in the plain model
    tasks = [
        of_task("t1", destination={"location": [0.018, 0.0]}),
        of_task("lunch-near", destination={"location": [0.009, 0.0]}),
        of_task("lunch-far", destination={"location": [0.3, 0.0]}),
    ]
    workers = [of_worker("w1", location=[0.0, 0.0]), of_worker("w2", location=[0.0, 0.0])]
    router = build(tasks, workers, alternate_stops=["lunch-near", "lunch-far"]).router_input
    answer = run(router)
    containers = containers_from_state(router, answer["state"])
    placed = [t for c in containers for t in c["tasks"]]
    assert len(placed) == len(set(placed))
    assert {"lunch-near", "lunch-far"} <= set(placed)
