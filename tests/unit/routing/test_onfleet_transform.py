"""Onfleet run request, fetch helpers, and the Onfleet → Nextmv transforms (issue 7, §4-7)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from fleetbridge.routing.onfleet.fetch import (
    DEFAULT_TASK_PAGE_LIMIT,
    select_requested,
    task_query_params,
    walk_task_pages,
    worker_query_params,
)
from fleetbridge.routing.onfleet.metadata import RunInputError
from fleetbridge.routing.onfleet.request import (
    Compatibility,
    OnfleetRunRequest,
    TaskParams,
    WorkerParams,
)
from fleetbridge.routing.onfleet.transform import RouterBuild, build_onfleet_input
from fleetbridge.routing.schema import parse_input


def build_router_input(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Just the router input of `build_onfleet_input` (what the solver's `solve` takes)."""
    return build_onfleet_input(*args, **kwargs).router_input


MS = 1_704_103_200_000  # 2024-01-01T10:00:00Z
HOUR = 3_600_000


def of_task(task_id: str, **fields: Any) -> dict[str, Any]:
    """An Onfleet task as `GET /tasks/all` returns it (location [lon, lat])."""
    base: dict[str, Any] = {
        "id": task_id,
        "state": 0,
        "destination": {"location": [-73.99, 40.73]},
        "pickupTask": False,
        "dependencies": [],
        "quantity": 0,
        "serviceTime": 0,
        "completeAfter": None,
        "completeBefore": None,
        "metadata": [],
    }
    return base | fields


def of_worker(worker_id: str, **fields: Any) -> dict[str, Any]:
    """An Onfleet worker as `GET /workers` returns it."""
    base: dict[str, Any] = {
        "id": worker_id,
        "name": worker_id.title(),
        "tasks": [],
        "activeTask": None,
        "location": [-73.95, 40.78],
        "capacity": 0,
        "metadata": [],
    }
    return base | fields


def ext(attribute: str, value: Any) -> dict[str, Any]:
    kind = {int: "number", float: "number", str: "string", dict: "object"}.get(type(value), "array")
    return {"name": f"nextmv:0.1:{attribute}", "type": kind, "visibility": ["api"], "value": value}


def run_request(
    task_ids: list[str], worker_ids: list[str] | None = None, **onfleet: Any
) -> OnfleetRunRequest:
    body = {
        "routing": {"run_profile": {"id": "onfleet-profile"}},
        "onfleet": {
            "tasks": {"ids": task_ids, "params": {"from": MS - 24 * HOUR}},
            "workers": {"ids": worker_ids or ["w1"]},
            **onfleet,
        },
    }
    return OnfleetRunRequest.model_validate(body)


def build(
    tasks: list[dict[str, Any]],
    workers: list[dict[str, Any]] | None = None,
    compatibility: dict[str, Any] | None = None,
    **onfleet: Any,
) -> RouterBuild:
    workers = workers or [of_worker("w1")]
    request = run_request([t["id"] for t in tasks], [w["id"] for w in workers], **onfleet)
    flags = Compatibility.from_configuration({"compatibility": compatibility or {}})
    result = build_onfleet_input(tasks, workers, request, flags)
    parse_input(result.router_input)  # what we build, the solver's schema accepts
    return result


def stop_of(result: RouterBuild, task_id: str = "t1") -> dict[str, Any]:
    return next(s for s in result.router_input["stops"] if s["id"] == task_id)


def notes_of(result: RouterBuild, kind: str, entity_id: str, field: str) -> list[dict[str, Any]]:
    return [n for n in result.transforms[kind].get(entity_id, []) if n["field"] == field]


# ----------------------------------------------------------------------------- request model
def test_run_request_parses_and_drops_repeated_ids() -> None:
    request = run_request(["t1", "t2", "t1"], ["w1", "w1"])
    assert request.onfleet.tasks.ids == ["t1", "t2"]
    assert request.onfleet.workers.ids == ["w1"]
    assert request.routing.run_profile.id == "onfleet-profile"


@pytest.mark.parametrize(
    ("onfleet", "message"),
    [
        ({"alternate_stops": ["t9"]}, "alternate_stops not in tasks.ids: t9"),
        ({"stop_groups": [["t1", "t9"]]}, "stop_groups name tasks not in tasks.ids: t9"),
        ({"stop_groups": [["t1", "t2"], ["t2", "t3"]]}, "more than one stop group: t2"),
        ({"stop_groups": [["t1"]]}, "at least 2 items"),
        (
            {"alternate_stops": ["t3"], "stop_groups": [["t1", "t3"]]},
            "stop_groups name alternate stops: t3",
        ),
        (
            {"duration_groups": [{"group": ["t9"], "duration": 60}]},
            "duration_groups name tasks not in tasks.ids: t9",
        ),
        ({"duration_groups": [{"group": ["t1"], "duration": -1}]}, "greater than or equal to 0"),
        ({"surprise": 1}, "Extra inputs are not permitted"),
    ],
)
def test_run_request_refuses_bad_references(onfleet: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        run_request(["t1", "t2", "t3"], **onfleet)


def test_run_request_needs_task_and_worker_ids() -> None:
    with pytest.raises(ValidationError, match="at least 1 item"):
        run_request([])


# ----------------------------------------------------------------------------- query params
def test_task_params_go_camel_case_and_lists_comma_separated() -> None:
    params = TaskParams.model_validate(
        {
            "from": MS,
            "to": MS + HOUR,
            "state": [0, 1],
            "worker": "w1",
            "complete_before_before": MS + 2 * HOUR,
            "complete_after_after": MS - HOUR,
            "dependencies": True,
        }
    )
    assert task_query_params(params, last_id="abc") == {
        "from": str(MS),
        "to": str(MS + HOUR),
        "state": "0,1",
        "worker": "w1",
        "completeBeforeBefore": str(MS + 2 * HOUR),
        "completeAfterAfter": str(MS - HOUR),
        "dependencies": "true",
        "lastId": "abc",
    }


def test_task_params_accept_camel_case_and_refuse_typos_and_last_id() -> None:
    params = TaskParams.model_validate({"from": MS, "completeBeforeBefore": MS})
    assert task_query_params(params)["completeBeforeBefore"] == str(MS)
    for bad in ({"from": MS, "last_id": "x"}, {"from": MS, "stat": 1}, {"to": MS}):
        with pytest.raises(ValidationError):
            TaskParams.model_validate(bad)


def test_worker_params_keep_the_fields_the_transform_reads() -> None:
    params = WorkerParams.model_validate({"filter": "name,phone", "teams": ["a", "b"], "states": 1})
    query = worker_query_params(params)
    assert query["teams"] == "a,b" and query["states"] == "1"
    assert query["filter"].split(",") == [
        "name",
        "phone",
        "id",
        "tasks",
        "activeTask",
        "location",
        "capacity",
        "metadata",
    ]
    assert worker_query_params(WorkerParams()) == {}


# ----------------------------------------------------------------------------- compatibility
def test_compatibility_flags_are_true_unless_explicitly_false() -> None:
    flags = Compatibility.from_configuration(
        {"compatibility": {"tasks": {"quantity": False, "location": None}, "workers": None}}
    )
    assert flags.tasks.quantity is False
    assert flags.tasks.location is True and flags.tasks.service_time is True
    assert flags.workers.capacity is True
    assert Compatibility.from_configuration(None) == Compatibility()


def test_compatibility_refuses_non_booleans_and_unknown_flags() -> None:
    with pytest.raises(ValidationError):
        Compatibility.model_validate({"tasks": {"quantity": "false"}})
    with pytest.raises(ValidationError):
        Compatibility.model_validate({"workers": {"vehicle": False}})


# ----------------------------------------------------------------------------- fetching
def pages_of(*pages: list[str]) -> tuple[list[dict[str, str]], Any]:
    """A fake `GET /tasks/all`: returns the pages in turn, recording each query."""
    queries: list[dict[str, str]] = []

    def fetch(query: dict[str, str]) -> dict[str, Any]:
        queries.append(query)
        index = len(queries) - 1
        page: dict[str, Any] = {"tasks": [{"id": i} for i in pages[index]]}
        if index + 1 < len(pages):
            page["lastId"] = pages[index][-1]
        return page

    return queries, fetch


def test_walk_pages_by_last_id_until_the_last_page() -> None:
    queries, fetch = pages_of(["a", "b"], ["c", "d"], ["e"])
    selection = run_request(["e", "zz"]).onfleet.tasks
    seen, hit = walk_task_pages(fetch, selection)
    assert [t["id"] for t in seen] == ["a", "b", "c", "d", "e"] and hit is False
    assert [q.get("lastId") for q in queries] == [None, "b", "d"]
    assert queries[0]["from"] == str(MS - 24 * HOUR)


def test_walk_stops_once_every_requested_id_was_seen() -> None:
    queries, fetch = pages_of(["a", "b"], ["c", "d"], ["e"])
    _, hit = walk_task_pages(fetch, run_request(["b", "a"]).onfleet.tasks)
    assert len(queries) == 1 and hit is False


def test_walk_reports_the_page_limit() -> None:
    queries, fetch = pages_of(["a"], ["b"], ["c"])
    selection = run_request(["c"]).onfleet.tasks
    _, hit = walk_task_pages(fetch, selection, page_limit=2)
    assert len(queries) == 2 and hit is True
    with_request_limit = selection.model_copy(update={"page_limit": 1})
    queries, fetch = pages_of(["a"], ["b"], ["c"])
    assert walk_task_pages(fetch, with_request_limit, page_limit=2)[1] is True
    assert len(queries) == 1
    assert DEFAULT_TASK_PAGE_LIMIT >= 1


def test_select_requested_keeps_request_order() -> None:
    found = select_requested([{"id": "a"}, {"id": "b"}, {"id": "c"}], ["c", "a"])
    assert [t["id"] for t in found] == ["c", "a"]


def test_select_requested_names_the_missing_ids() -> None:
    with pytest.raises(RunInputError) as caught:
        select_requested([{"id": "a"}], ["a", "x", "y"], kind="worker")
    assert caught.value.message == "onfleet workers not found: x, y"
    assert caught.value.ids == ("x", "y") and caught.value.field == "onfleet.workers.ids"


def test_select_requested_says_when_the_page_limit_hit() -> None:
    with pytest.raises(RunInputError) as caught:
        select_requested([{"id": "a"}], ["x"], page_limit_hit=True, page_limit=50)
    assert caught.value.message.startswith("onfleet tasks not found: x (stopped at 50 pages")
    assert "raise tasks.page_limit" in caught.value.message


def test_select_requested_shortens_long_lists() -> None:
    with pytest.raises(RunInputError, match=r"and 5 more$"):
        select_requested([], [f"t{i}" for i in range(25)])


# ----------------------------------------------------------------------------- task transforms
def test_location_becomes_position() -> None:
    result = build([of_task("t1", destination={"location": [-73.99, 40.73]})])
    assert stop_of(result)["position"] == {"lon": -73.99, "lat": 40.73}
    assert notes_of(result, "tasks", "t1", "position")[0]["from"] == "destination.location"


def test_location_flag_off_without_metadata_fails_naming_the_task() -> None:
    with pytest.raises(RunInputError, match="task t1 has no position") as caught:
        build([of_task("t1")], compatibility={"tasks": {"location": False}})
    assert caught.value.attribute == "position"


def test_location_flag_off_with_metadata_position() -> None:
    task = of_task("t1", metadata=[ext("position", {"lon": 1.0, "lat": 2.0})])
    result = build([task], compatibility={"tasks": {"location": False}})
    assert stop_of(result)["position"] == {"lon": 1.0, "lat": 2.0}


def test_metadata_position_overrides_the_location() -> None:
    task = of_task("t1", metadata=[ext("position", [1.0, 2.0])])
    assert stop_of(build([task]))["position"] == {"lon": 1.0, "lat": 2.0}


def test_a_task_without_destination_location_fails() -> None:
    with pytest.raises(RunInputError, match="task t1 has no position"):
        build([of_task("t1", destination={"address": {"unparsed": "somewhere"}})])


def test_complete_after_and_before_become_the_hard_window() -> None:
    result = build([of_task("t1", completeAfter=MS, completeBefore=MS + 2 * HOUR)])
    assert stop_of(result)["hard_window"] == ["2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z"]


def test_complete_before_after_flag_off() -> None:
    task = of_task("t1", completeAfter=MS, completeBefore=MS + HOUR)
    result = build([task], compatibility={"tasks": {"complete_before_after": False}})
    assert "hard_window" not in stop_of(result)
    assert notes_of(result, "tasks", "t1", "hard_window")[0]["skipped"].endswith("is false")


def test_an_open_window_side_closes_at_the_run_horizon() -> None:
    worker = of_worker("w1", metadata=[ext("shift_start", "2024-01-01T08:00:00Z")])
    tasks = [
        of_task("t1", completeBefore=MS + HOUR),
        of_task("t2", completeAfter=MS, completeBefore=MS + 3 * HOUR),
        of_task("t3", completeAfter=MS + HOUR),
    ]
    result = build(tasks, [worker])
    assert stop_of(result, "t1")["hard_window"] == ["2024-01-01T08:00:00Z", "2024-01-01T11:00:00Z"]
    assert stop_of(result, "t3")["hard_window"] == ["2024-01-01T11:00:00Z", "2024-01-01T13:00:00Z"]
    assert "open side closed" in notes_of(result, "tasks", "t1", "hard_window")[0]["from"]


def test_an_open_window_with_nothing_else_known_gets_a_day() -> None:
    result = build([of_task("t1", completeBefore=MS)])
    assert stop_of(result)["hard_window"] == ["2023-12-31T10:00:00Z", "2024-01-01T10:00:00Z"]


def test_a_window_ending_before_it_starts_fails() -> None:
    with pytest.raises(RunInputError, match="t1: completeAfter is later than completeBefore"):
        build([of_task("t1", completeAfter=MS + HOUR, completeBefore=MS)])


def test_dependencies_become_succeeds_and_outside_ones_are_dropped_and_noted() -> None:
    tasks = [of_task("t1"), of_task("t2", dependencies=["t1", "done-long-ago"])]
    result = build(tasks)
    assert stop_of(result, "t2")["succeeds"] == ["t1"]
    (note,) = notes_of(result, "tasks", "t2", "succeeds")
    assert note["dropped"] == ["done-long-ago"] and note["note"] == "not stops of this run"


def test_dependencies_all_outside_set_no_succeeds() -> None:
    result = build([of_task("t1", dependencies=["elsewhere"])])
    assert "succeeds" not in stop_of(result)


def test_dependencies_flag_off() -> None:
    tasks = [of_task("t1"), of_task("t2", dependencies=["t1"])]
    result = build(tasks, compatibility={"tasks": {"dependencies": False}})
    assert "succeeds" not in stop_of(result, "t2")


def test_quantity_passes_and_turns_negative_for_a_pickup() -> None:
    result = build([of_task("t1", quantity=3), of_task("t2", quantity=2, pickupTask=True)])
    assert stop_of(result, "t1")["quantity"] == 3
    assert stop_of(result, "t2")["quantity"] == -2


def test_quantity_flag_off_and_zero_quantity_set_nothing() -> None:
    result = build([of_task("t1", quantity=3)], compatibility={"tasks": {"quantity": False}})
    assert "quantity" not in stop_of(result)
    assert "quantity" not in stop_of(build([of_task("t1", quantity=0)]))


def test_a_fractional_quantity_fails() -> None:
    with pytest.raises(RunInputError, match=r"task t1: quantity 1\.5 is not a whole number"):
        build([of_task("t1", quantity=1.5)])


def test_service_time_minutes_become_stop_duration_seconds() -> None:
    result = build([of_task("t1", serviceTime=5), of_task("t2", serviceTime=2.5)])
    assert stop_of(result, "t1")["stop_duration"] == 300
    assert stop_of(result, "t2")["stop_duration"] == 150


def test_service_time_flag_off() -> None:
    result = build([of_task("t1", serviceTime=5)], compatibility={"tasks": {"service_time": False}})
    assert "stop_duration" not in stop_of(result)


# ----------------------------------------------------------------------------- task metadata
@pytest.mark.parametrize(
    ("attribute", "value", "expected"),
    [
        ("unassigned_penalty", 5000, 5000),
        ("max_wait", 600, 600),
        ("target_time", "2024-01-01T10:30:00Z", "2024-01-01T10:30:00Z"),
        ("earliness_penalty", 2, 2),
        ("lateness_penalty", 4.5, 4.5),
        ("compatibility_attributes", ["fridge"], ["fridge"]),
    ],
)
def test_task_metadata_lands_on_the_stop(attribute: str, value: Any, expected: Any) -> None:
    result = build([of_task("t1", metadata=[ext(attribute, value)])])
    assert stop_of(result)[attribute] == expected
    assert (
        notes_of(result, "tasks", "t1", attribute)[0]["from"] == f"metadata nextmv:0.1:{attribute}"
    )


def test_metadata_precedes_lands_on_the_stop() -> None:
    tasks = [of_task("t1", metadata=[ext("precedes", ["t2"])]), of_task("t2")]
    assert stop_of(build(tasks))["precedes"] == ["t2"]


def test_metadata_precedes_outside_the_run_fails() -> None:
    task = of_task("t1", metadata=[ext("precedes", ["t2", "ghost"])])
    with pytest.raises(RunInputError) as caught:
        build([task, of_task("t2")])
    assert caught.value.message == (
        "task t1: metadata nextmv:0.1:precedes names tasks that are not other stops of this "
        "run: ghost"
    )
    assert caught.value.attribute == "precedes" and caught.value.ids == ("ghost",)


def test_metadata_quantity_number_adds_a_dimension_next_to_the_native_one() -> None:
    task = of_task("t1", quantity=3, metadata=[ext("quantity", 7)])
    assert stop_of(build([task]))["quantity"] == {"default": 3, "metadata": 7}
    alone = of_task("t1", metadata=[ext("quantity", 7)])
    assert stop_of(build([alone]))["quantity"] == {"metadata": 7}


def test_metadata_quantity_object_adds_its_dimensions_and_a_pickup_is_negative() -> None:
    task = of_task("t1", quantity=3, pickupTask=True, metadata=[ext("quantity", {"cold": 1})])
    assert stop_of(build([task]))["quantity"] == {"default": -3, "cold": -1}
    number = of_task("t1", pickupTask=True, metadata=[ext("quantity", 2)])
    assert stop_of(build([number]))["quantity"] == {"metadata": -2}
    already = of_task("t1", pickupTask=True, metadata=[ext("quantity", {"cold": -4})])
    assert stop_of(build([already]))["quantity"] == {"cold": -4}


def test_metadata_quantity_default_key_beside_a_native_one_fails() -> None:
    task = of_task("t1", quantity=3, metadata=[ext("quantity", {"default": 1, "cold": 2})])
    with pytest.raises(
        RunInputError, match=r'task t1: metadata nextmv:0\.1:quantity names the dimension "default"'
    ):
        build([task])
    alone = of_task("t1", metadata=[ext("quantity", {"default": 1, "cold": 2})])
    assert stop_of(build([alone]))["quantity"] == {"default": 1, "cold": 2}


def test_one_multi_dimension_quantity_turns_every_scalar_into_default() -> None:
    tasks = [of_task("t1", quantity=2), of_task("t2", metadata=[ext("quantity", {"cold": 1})])]
    workers = [of_worker("w1", capacity=10), of_worker("w2", capacity=5)]
    request = run_request(["t1", "t2"], ["w1", "w2"], alternate_stops=[])
    router = build_router_input(
        tasks, workers, request, defaults={"stops": {"quantity": 1}, "vehicles": {"capacity": 4}}
    )
    assert router["stops"][0]["quantity"] == {"default": 2}
    assert router["vehicles"][0]["capacity"] == {"default": 10}
    assert router["defaults"] == {
        "stops": {"quantity": {"default": 1}},
        "vehicles": {"capacity": {"default": 4}},
    }
    parse_input(router)


# ----------------------------------------------------------------------------- worker transforms
def vehicle_of(result: RouterBuild, worker_id: str = "w1") -> dict[str, Any]:
    return next(v for v in result.router_input["vehicles"] if v["id"] == worker_id)


def test_worker_location_becomes_start() -> None:
    result = build([of_task("t1")], [of_worker("w1", location=[-73.9, 40.8])])
    assert vehicle_of(result)["start"] == {"lon": -73.9, "lat": 40.8}


def test_worker_location_flag_off_and_null_location() -> None:
    result = build([of_task("t1")], compatibility={"workers": {"location": False}})
    assert "start" not in vehicle_of(result)
    assert "start" not in vehicle_of(build([of_task("t1")], [of_worker("w1", location=None)]))


def test_metadata_start_overrides_the_location() -> None:
    worker = of_worker("w1", metadata=[ext("start", {"lon": 5.0, "lat": 6.0})])
    assert vehicle_of(build([of_task("t1")], [worker]))["start"] == {"lon": 5.0, "lat": 6.0}


def test_worker_capacity_becomes_capacity_and_zero_means_unset() -> None:
    assert vehicle_of(build([of_task("t1")], [of_worker("w1", capacity=12)]))["capacity"] == 12
    result = build([of_task("t1")], [of_worker("w1", capacity=0)])
    assert "capacity" not in vehicle_of(result)
    assert "never set" in notes_of(result, "workers", "w1", "capacity")[0]["note"]


def test_worker_capacity_flag_off() -> None:
    result = build(
        [of_task("t1")], [of_worker("w1", capacity=12)], {"workers": {"capacity": False}}
    )
    assert "capacity" not in vehicle_of(result)


def test_metadata_capacity_adds_dimensions_like_quantity() -> None:
    worker = of_worker("w1", capacity=12, metadata=[ext("capacity", {"cold": 4})])
    assert vehicle_of(build([of_task("t1")], [worker]))["capacity"] == {"default": 12, "cold": 4}
    worker = of_worker("w1", capacity=12, metadata=[ext("capacity", 20)])
    capacity = vehicle_of(build([of_task("t1")], [worker]))["capacity"]
    assert capacity == {"default": 12, "metadata": 20}


def test_active_task_and_tasks_become_the_backlog() -> None:
    tasks = [of_task("t1"), of_task("t2"), of_task("t3")]
    worker = of_worker("w1", activeTask="t2", tasks=["t2", "t1", "finished"])
    result = build(tasks, [worker])
    assert vehicle_of(result)["backlog"] == ["t2", "t1"]
    dropped = [n for n in notes_of(result, "workers", "w1", "backlog") if "dropped" in n]
    assert dropped == [
        {
            "field": "backlog",
            "from": "tasks",
            "value": ["t2", "t1"],
            "dropped": ["finished"],
            "note": "not stops of this run",
        }
    ]


def test_active_task_flag_off() -> None:
    worker = of_worker("w1", activeTask="t2", tasks=["t1"])
    result = build([of_task("t1"), of_task("t2")], [worker], {"workers": {"active_task": False}})
    assert vehicle_of(result)["backlog"] == ["t1"]


def test_tasks_flag_off() -> None:
    worker = of_worker("w1", activeTask="t2", tasks=["t1"])
    result = build([of_task("t1"), of_task("t2")], [worker], {"workers": {"tasks": False}})
    assert vehicle_of(result)["backlog"] == ["t2"]


def test_metadata_backlog_is_added_to_the_native_one() -> None:
    worker = of_worker("w1", tasks=["t1"], metadata=[ext("backlog", ["t3", "t1"])])
    result = build([of_task("t1"), of_task("t2"), of_task("t3")], [worker])
    assert vehicle_of(result)["backlog"] == ["t1", "t3"]


def test_metadata_backlog_outside_the_run_fails() -> None:
    worker = of_worker("w1", metadata=[ext("backlog", ["nowhere"])])
    with pytest.raises(RunInputError) as caught:
        build([of_task("t1")], [worker])
    assert caught.value.message == (
        "worker w1: metadata nextmv:0.1:backlog names tasks that are not stops of this run: nowhere"
    )
    assert (caught.value.entity, caught.value.attribute) == ("worker", "backlog")


def test_a_task_in_two_backlogs_fails() -> None:
    workers = [of_worker("w1", tasks=["t1"]), of_worker("w2", metadata=[ext("backlog", ["t1"])])]
    with pytest.raises(RunInputError, match="task t1 is in the backlog of workers w1 and w2"):
        build([of_task("t1")], workers)


@pytest.mark.parametrize(
    ("attribute", "value", "expected"),
    [
        ("end", [2.0, 3.0], {"lon": 2.0, "lat": 3.0}),
        ("speed", 8.5, 8.5),
        ("shift_start", MS, "2024-01-01T10:00:00Z"),
        ("shift_end", "2024-01-01T18:00:00+00:00", "2024-01-01T18:00:00Z"),
        ("compatibility_attributes", ["fridge"], ["fridge"]),
        ("max_stops", 10, 10),
        ("max_distance", 50_000, 50_000),
        ("max_duration", 14_400, 14_400),
        ("stop_duration_multiplier", 1.5, 1.5),
        ("initialization_cost", 100, 100),
    ],
)
def test_worker_metadata_lands_on_the_vehicle(attribute: str, value: Any, expected: Any) -> None:
    result = build([of_task("t1")], [of_worker("w1", metadata=[ext(attribute, value)])])
    assert vehicle_of(result)[attribute] == expected


def test_a_bad_metadata_value_fails_the_build_naming_worker_and_attribute() -> None:
    worker = of_worker("w1", metadata=[ext("speed", -3)])
    with pytest.raises(RunInputError, match=r'worker w1: metadata "nextmv:0\.1:speed" must be'):
        build([of_task("t1")], [worker])


# ----------------------------------------------------------------------------- groups, alternates
def test_alternate_stops_go_top_level_and_every_vehicle_gets_them() -> None:
    tasks = [of_task("t1"), of_task("lunch-a"), of_task("lunch-b")]
    result = build(
        tasks, [of_worker("w1"), of_worker("w2")], alternate_stops=["lunch-a", "lunch-b"]
    )
    router = result.router_input
    assert [s["id"] for s in router["stops"]] == ["t1"]
    assert [s["id"] for s in router["alternate_stops"]] == ["lunch-a", "lunch-b"]
    assert [v["alternate_stops"] for v in router["vehicles"]] == [["lunch-a", "lunch-b"]] * 2


def test_metadata_alternate_stops_choose_a_subset() -> None:
    worker = of_worker("w1", metadata=[ext("alternate_stops", ["lunch-b"])])
    result = build(
        [of_task("t1"), of_task("lunch-a"), of_task("lunch-b")],
        [worker],
        alternate_stops=["lunch-a", "lunch-b"],
    )
    assert vehicle_of(result)["alternate_stops"] == ["lunch-b"]


def test_metadata_alternate_stops_outside_the_run_list_fail() -> None:
    worker = of_worker("w1", metadata=[ext("alternate_stops", ["t1"])])
    with pytest.raises(RunInputError, match=r"names tasks not in onfleet\.alternate_stops: t1"):
        build([of_task("t1")], [worker])


def test_alternate_stops_take_no_precedence() -> None:
    tasks = [of_task("t1", dependencies=["lunch"]), of_task("lunch", dependencies=["t1"])]
    result = build(tasks, alternate_stops=["lunch"])
    assert "succeeds" not in stop_of(result)
    assert "succeeds" not in result.router_input["alternate_stops"][0]
    bad = [of_task("t1"), of_task("lunch", metadata=[ext("precedes", ["t1"])])]
    with pytest.raises(RunInputError, match="not allowed on an alternate stop"):
        build(bad, alternate_stops=["lunch"])


def test_worker_backlog_never_holds_alternate_stops() -> None:
    worker = of_worker("w1", tasks=["lunch", "t1"])
    result = build([of_task("t1"), of_task("lunch")], [worker], alternate_stops=["lunch"])
    assert vehicle_of(result)["backlog"] == ["t1"]


def test_stop_groups_and_duration_groups_pass_through() -> None:
    tasks = [of_task("t1"), of_task("t2"), of_task("t3")]
    result = build(
        tasks,
        stop_groups=[["t1", "t2"]],
        duration_groups=[{"group": ["t2", "t3"], "duration": 300}],
    )
    assert result.router_input["stop_groups"] == [["t1", "t2"]]
    assert result.router_input["duration_groups"] == [{"group": ["t2", "t3"], "duration": 300}]


# ----------------------------------------------------------------------------- the whole input
def test_order_follows_the_request_and_extra_fetched_objects_are_ignored() -> None:
    tasks = [of_task("t2"), of_task("t1"), of_task("not-asked")]
    workers = [of_worker("w2"), of_worker("w1"), of_worker("w3")]
    request = run_request(["t1", "t2"], ["w1", "w2"])
    router = build_router_input(tasks, workers, request)
    assert [s["id"] for s in router["stops"]] == ["t1", "t2"]
    assert [v["id"] for v in router["vehicles"]] == ["w1", "w2"]


def test_build_fails_when_a_requested_object_is_missing() -> None:
    with pytest.raises(RunInputError, match="onfleet workers not found: w2"):
        build_router_input([of_task("t1")], [of_worker("w1")], run_request(["t1"], ["w1", "w2"]))


def test_defaults_and_options_merge_under_the_request() -> None:
    body = run_request(["t1"]).model_dump(by_alias=True)
    body["routing"] |= {
        "defaults": {"vehicles": {"speed": 12}},
        "options": {"solver": {"limits": {"duration": "5s"}}},
    }
    request = OnfleetRunRequest.model_validate(body)
    router = build_router_input(
        [of_task("t1")],
        [of_worker("w1")],
        request,
        defaults={"vehicles": {"speed": 8, "end": {"lon": 1, "lat": 2}}, "stops": {"max_wait": 5}},
        options={"solver": {"limits": {"duration": "30s"}}},
    )
    assert router["defaults"] == {
        "vehicles": {"speed": 12, "end": {"lon": 1, "lat": 2}},
        "stops": {"max_wait": 5},
    }
    assert router["options"] == {"solver": {"limits": {"duration": "5s"}}}


def test_an_unexpected_onfleet_shape_names_the_object() -> None:
    with pytest.raises(RunInputError, match="task t1: unexpected Onfleet quantity"):
        build_router_input([of_task("t1", quantity="many")], [of_worker("w1")], run_request(["t1"]))


def test_transforms_record_skips_and_run_notes() -> None:
    task = of_task("t1", quantity=2, metadata=[ext("quantity", {"cold": 1})])
    result = build([task], compatibility={"tasks": {"service_time": False}})
    assert set(result.transforms) == {"tasks", "workers", "run"}
    assert any("multi-dimension" in note for note in result.transforms["run"])
    assert [n["from"] for n in notes_of(result, "tasks", "t1", "quantity")] == [
        "quantity",
        "metadata nextmv:0.1:quantity",
    ]


def test_a_negative_native_service_time_fails_naming_the_task() -> None:
    with pytest.raises(RunInputError, match=r"^task t1: serviceTime -5 is negative$"):
        build([of_task("t1", serviceTime=-5)])


def test_a_capitalised_nextmv_prefix_fails_instead_of_being_ignored() -> None:
    entry = ext("quantity", 2) | {"name": "Nextmv:0.1:quantity"}
    with pytest.raises(RunInputError, match=r'task t1: metadata "Nextmv:0\.1:quantity" must start'):
        build([of_task("t1", metadata=[entry])])
