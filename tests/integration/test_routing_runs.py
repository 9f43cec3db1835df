"""Routing runs end to end on moto + the Onfleet sandbox (issue 7, §3-9): the API queues, the
solver function (invoked on the queued message) fetches read-only, solves and stores; status,
result, apply (dry run first) and map; bad inputs fail the run clearly, writing nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Api
from tests.support.events import sqs_event
from tests.support.lambdas import invoke
from tests.support.routing import (
    ALTERNATES,
    TASKS,
    WORKERS,
    integration_body,
    onfleet_run_body,
    onfleet_world,
    onfleet_writes,
    router_input,
    run_profile_body,
    seed_onfleet,
    task_ids,
    worker_tasks,
)

QUEUE = "RoutingQueue"
ALL_TASKS = list(TASKS + ALTERNATES)


def _queued(aws: dict[str, Any]) -> list[dict[str, Any]]:
    """Take every message off the routing queue."""
    from fleetbridge.core.aws import client

    sqs, url, bodies = client("sqs"), aws["queues"][QUEUE], []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def drain(aws: dict[str, Any]) -> list[dict[str, Any]]:
    """Run the routing function until the queue is empty (applies queue continuations)."""
    answers: list[dict[str, Any]] = []
    while batch := solve_queued(aws):
        answers += batch
    return answers


def solve_queued(aws: dict[str, Any], receive_count: int = 1) -> list[dict[str, Any]]:
    """Run the solver function on each queued message, as the SQS event source would."""
    return [
        invoke("routing_solver", sqs_event([body], queue=QUEUE, receive_count=receive_count))
        for body in _queued(aws)
    ]


@pytest.fixture
def onfleet(api: Api, sandbox: httpx.Client) -> Api:
    """The seeded Onfleet organisation, an integration profile and a run profile."""
    seed_onfleet(sandbox)
    assert api("POST", "/v1/routing/profiles/integration/onfleet", integration_body())[0] == 201
    assert api("POST", "/v1/routing/profiles/run", run_profile_body())[0] == 201
    return api


def _start(api: Api, path: str, body: Any) -> str:
    status, answer = api("POST", path, body)
    assert status == 202, answer
    assert answer["run_id"] == answer["runID"]
    return str(answer["run_id"])


# ----------------------------------------------------------------------------- plain router
def test_router_run_from_post_to_result_and_map(api: Api, aws: dict[str, Any]) -> None:
    run_id = _start(api, "/v0/run", router_input())
    assert api("GET", f"/v0/run/{run_id}/status")[1]["status"] == "requested"
    status, answer = api("GET", f"/v0/run/{run_id}/result")
    assert status == 409 and answer["error"]["code"] == "run_not_finished", answer

    assert solve_queued(aws) == [{"batchItemFailures": []}]
    assert api("GET", f"/v0/run/{run_id}/status") == (
        200,
        {"status": "succeeded", "error": None, "infeasible": None, "apply": None},
    )
    status, result = api("GET", f"/v0/run/{run_id}/result")
    assert status == 200, result
    routed = [e["id"] for v in result["state"]["vehicles"] for e in v["route"]]
    assert {f"s{i}" for i in range(6)} <= set(routed)
    assert result["state"]["unassigned"] == []
    assert result["statistics"]["time_limit_s"] == 1.0

    status, geojson = api("GET", f"/v0/run/{run_id}/map")
    assert status == 200 and geojson["type"] == "FeatureCollection"
    stops = [f for f in geojson["features"] if f["properties"]["kind"] == "stop"]
    assert sorted(f["properties"]["id"] for f in stops) == [f"s{i}" for i in range(6)]
    status, svg = api("GET", f"/v0/run/{run_id}/map", query={"format": "svg"})
    assert status == 200 and svg.startswith("<svg")

    status, answer = api("POST", f"/v0/run/{run_id}/apply", {"dry_run": True})
    assert status == 422 and "only Onfleet runs" in answer["error"]["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"vehicles": []}, "vehicles"),
        (
            {"stops": [{"id": "s0", "position": {"lon": -122.4, "lat": 95}}]},
            "stops[0].position.lat",
        ),
        (
            {"options": {"solver": {"limits": {"duration": "soon"}}}},
            "options.solver.limits.duration",
        ),
    ],
)
def test_router_input_is_checked_before_queuing(
    api: Api, aws: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    status, answer = api("POST", "/v0/run", router_input(**change))
    assert status == 422, answer
    assert answer["error"]["field"] == field
    assert _queued(aws) == []


def test_an_infeasible_run_fails_saying_which_stop_and_why(
    api: Api, aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    body = router_input(
        vehicles=[{"id": "van-1", "capacity": 2}],
        stops=[{"id": "heavy", "position": {"lon": -122.4, "lat": 37.78}, "quantity": -5}],
    )
    run_id = _start(api, "/v0/run", body)
    capsys.readouterr()
    assert solve_queued(aws) == [{"batchItemFailures": []}]  # a failed run is not retried
    metrics = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    assert [m["Failed"] for m in metrics if "Failed" in m] == [[1.0]]
    assert [m["flow"] for m in metrics if "RunDuration" in m] == ["routing"]
    status = api("GET", f"/v0/run/{run_id}/status")[1]
    assert status["status"] == "failed"
    assert "'heavy' cannot be served" in status["error"]
    assert status["infeasible"][0]["stop"] == "heavy"
    answer = api("GET", f"/v0/run/{run_id}/result")[1]
    assert answer["error"]["code"] == "run_failed" and "heavy" in answer["error"]["message"]


def test_a_redelivered_message_does_not_solve_again(api: Api, aws: dict[str, Any]) -> None:
    from fleetbridge.core.runs import RunRepository

    run_id = _start(api, "/v0/run", router_input())
    (message,) = _queued(aws)
    event = sqs_event([message], queue=QUEUE)
    assert invoke("routing_solver", event) == {"batchItemFailures": []}
    solved = RunRepository().get(run_id)
    assert invoke("routing_solver", sqs_event([message], queue=QUEUE, receive_count=2)) == {
        "batchItemFailures": []
    }
    assert RunRepository().get(run_id) == solved  # untouched: same version, same result key


def test_another_tenants_run_is_404(api: Api, other_api: Api, aws: dict[str, Any]) -> None:
    run_id = _start(api, "/v0/run", router_input())
    for suffix in ("status", "result", "map"):
        assert other_api("GET", f"/v0/run/{run_id}/{suffix}")[0] == 404
    assert other_api("POST", f"/v0/run/{run_id}/apply", {"dry_run": True})[0] == 404
    assert api("GET", "/v0/run/run_doesnotexist/status")[0] == 404


# ----------------------------------------------------------------------------- Onfleet
def test_onfleet_run_result_then_apply_after_a_dry_run(
    onfleet: Api, aws: dict[str, Any], sandbox: httpx.Client
) -> None:
    run_id = _start(onfleet, "/v1/integrations/onfleet/run", onfleet_run_body())
    assert onfleet("GET", f"/v0/run/{run_id}/status")[1]["status"] == "requested"
    assert solve_queued(aws) == [{"batchItemFailures": []}]
    status = onfleet("GET", f"/v0/run/{run_id}/status")[1]
    assert status["status"] == "succeeded", status

    result = onfleet("GET", f"/v0/run/{run_id}/result")[1]
    assert [t["id"] for t in result["tasks"]] == list(TASKS + ALTERNATES)
    assert [w["id"] for w in result["workers"]] == list(WORKERS)
    assert result["state"] == result["solution"]
    assert result["state"]["unassigned"] == []
    # §5: transforms as the input shows them (dependencies switched off by the profile)
    stop = next(s for s in result["input"]["stops"] if s["id"] == "t-1")
    assert stop["quantity"] == -1 and stop["stop_duration"] == 300
    assert stop["hard_window"] == ["2030-01-01T08:00:00Z", "2030-01-01T20:00:00Z"]
    assert result["input"]["vehicles"][0]["capacity"] == 4
    assert "t-1" in result["input"]["transforms"]["tasks"]
    containers = {c["worker"]: c["tasks"] for c in result["containers"]}
    assert set(containers) == set(WORKERS)
    planned = sorted(t for tasks in containers.values() for t in tasks)
    assert len(result["unused_alternate_tasks"]) == 1  # each worker serves one of three
    assert sorted([*planned, *result["unused_alternate_tasks"]]) == sorted(TASKS + ALTERNATES)
    assert onfleet_writes(sandbox) == []  # a run only reads Onfleet

    status, dry = onfleet("POST", f"/v0/run/{run_id}/apply", {"dry_run": True})
    assert status == 200, dry
    assert dry["containers"] == [{"worker": w, "tasks": containers[w]} for w in containers]
    assert dry["delete_tasks"] == result["unused_alternate_tasks"]
    assert onfleet_writes(sandbox) == []

    status, queued = onfleet("POST", f"/v0/run/{run_id}/apply", {"dry_run": False})
    assert status == 202, queued  # queued work (issue 16 item 7)
    assert queued["status"] == "queued" and queued["progress"]["containers_total"] == 2
    assert onfleet_writes(sandbox) == []
    busy = onfleet("POST", f"/v0/run/{run_id}/apply", {"dry_run": False})
    assert busy[0] == 409 and "being applied" in busy[1]["error"]["message"]
    assert drain(aws) == [{"batchItemFailures": []}]  # the worker applies
    applied = onfleet("GET", f"/v0/run/{run_id}/status")[1]["apply"]
    assert applied["status"] == "succeeded", applied
    assert applied["ok"] and applied["errors"] == []
    assert applied["containers_written"] == 2
    assert applied["deleted_tasks"] == result["unused_alternate_tasks"]
    assert worker_tasks(sandbox) == containers
    assert result["unused_alternate_tasks"][0] not in task_ids(sandbox)
    assert sorted(onfleet_writes(sandbox)) == sorted(
        [f"PUT /onfleet/api/v2/containers/workers/{w}" for w in containers]
        + [f"DELETE /onfleet/api/v2/tasks/{result['unused_alternate_tasks'][0]}"]
    )
    again = onfleet("POST", f"/v0/run/{run_id}/apply", {"dry_run": False})
    assert again[0] == 409 and "already applied" in again[1]["error"]["message"]

    from fleetbridge.core.runs import RunRepository

    recorded = RunRepository().get(run_id).details
    assert recorded["apply"]["written_containers"] == list(containers)
    assert recorded["integration_profile"] == "onfleet-main"

    status, geojson = onfleet("GET", f"/v0/run/{run_id}/map")
    routes = [f for f in geojson["features"] if f["properties"]["kind"] == "route"]
    assert status == 200 and {r["properties"]["vehicle"] for r in routes} == set(WORKERS)


@pytest.mark.parametrize(
    ("setup", "body", "words"),
    [
        ("", onfleet_run_body(tasks=[*ALL_TASKS, "t-404"]), "onfleet tasks not found: t-404"),
        ("", onfleet_run_body(workers=["w-ada", "w-zed"]), "onfleet workers not found: w-zed"),
        ("page_limit", onfleet_run_body(), "stopped at 1 pages of GET /tasks/all"),
        ("bad_metadata", onfleet_run_body(), "nextmv:0.1:colour"),
        ("t-9", {"serviceTime": -5}, "task t-9: serviceTime -5 is negative"),
        (
            "t-9",
            {"metadata": [{"name": "Nextmv:0.1:quantity", "type": "number", "value": 2}]},
            'task t-9: metadata "Nextmv:0.1:quantity" must start with lower-case nextmv:',
        ),
        (
            "t-9",
            {"dependencies": ["t-ghost"]},
            "task t-9: dependencies name task t-ghost, which Onfleet does not know",
        ),
        (
            "w-ada",
            {
                "metadata": [
                    {
                        "name": "nextmv:0.1:shift_start",
                        "type": "string",
                        "value": "2030-01-01T18:00:00Z",
                    },
                    {
                        "name": "nextmv:0.1:shift_end",
                        "type": "string",
                        "value": "2030-01-01T08:00:00Z",
                    },
                ]
            },
            "worker w-ada: shift_end is before shift_start",
        ),
    ],
    ids=[
        "missing task",
        "missing worker",
        "page limit",
        "bad metadata",
        "negative service time",
        "capital Nextmv",
        "unknown dependency",
        "generated input names the worker",
    ],
)
def test_bad_inputs_fail_the_run_clearly_and_write_nothing(
    onfleet: Api,
    aws: dict[str, Any],
    sandbox: httpx.Client,
    setup: str,
    body: dict[str, Any],
    words: str,
) -> None:
    if setup == "page_limit":
        sandbox.post("/_sandbox/onfleet/reset").raise_for_status()
        seed_onfleet(sandbox, onfleet_world(extra_tasks=70))  # ours on page 2 of 64 tasks
        body = json.loads(json.dumps(body))
        body["onfleet"]["tasks"]["page_limit"] = 1
    if setup == "bad_metadata":
        entry = {
            "name": "nextmv:0.1:colour",
            "type": "string",
            "value": "red",
            "visibility": ["api"],
        }
        sandbox.post(
            "/_sandbox/onfleet/seed", json={"tasks": [{"id": "t-9", "metadata": [entry]}]}
        ).raise_for_status()
        body = onfleet_run_body(tasks=[*ALL_TASKS, "t-9"])
    if setup == "t-9":  # a task with the native fields in `body`
        seeded = {"id": "t-9", "destination": {"location": [-122.41, 37.78]}, **body}
        sandbox.post("/_sandbox/onfleet/seed", json={"tasks": [seeded]}).raise_for_status()
        body = onfleet_run_body(tasks=[*ALL_TASKS, "t-9"])
    if setup == "w-ada":
        seeded = {
            "id": "w-ada",
            **{k: [m | {"visibility": ["api"]} for m in v] for k, v in body.items()},
        }
        sandbox.post("/_sandbox/onfleet/seed", json={"workers": [seeded]}).raise_for_status()
        body = onfleet_run_body()
    run_id = _start(onfleet, "/v1/integrations/onfleet/run", body)
    assert solve_queued(aws) == [{"batchItemFailures": []}]  # failed for good, not retried
    status = onfleet("GET", f"/v0/run/{run_id}/status")[1]
    assert status["status"] == "failed"
    assert words in status["error"], status["error"]
    assert onfleet_writes(sandbox) == []
    assert onfleet("GET", f"/v0/run/{run_id}/result")[1]["error"]["code"] == "run_failed"


@pytest.mark.parametrize(
    ("routing", "field", "words"),
    [
        (
            {"run_profile": {"id": "missing"}},
            "routing.run_profile.id",
            "run profile 'missing' not found",
        ),
        (
            {"options": {"solver": {"limits": {"duration": "soon"}}}},
            "routing.options.solver.limits.duration",
            "is not a duration",
        ),
        (
            {"options": {"solver": {"diagram": {"width": 5}}}},
            "routing.options.solver.diagram",
            "is not supported by this engine",
        ),
        (
            {"defaults": {"vehicles": {"speed": -1}}},
            "routing.defaults.vehicles.speed",
            "greater than 0",
        ),
    ],
    ids=["unknown run profile", "bad duration", "unsupported option", "bad defaults"],
)
def test_onfleet_routing_fields_and_profile_are_checked_at_post(
    onfleet: Api, aws: dict[str, Any], routing: dict[str, Any], field: str, words: str
) -> None:
    body = onfleet_run_body()
    body["routing"] |= routing
    status, answer = onfleet("POST", "/v1/integrations/onfleet/run", body)
    assert status == 422, answer
    assert answer["error"]["field"] == field and words in answer["error"]["message"], answer
    assert _queued(aws) == []


def test_router_cross_references_are_checked_at_post(api: Api, aws: dict[str, Any]) -> None:
    body = router_input()
    body["stops"][0]["precedes"] = ["ghost"]
    status, answer = api("POST", "/v0/run", body)
    assert status == 422, answer
    assert answer["error"]["field"] == "stops[0].precedes[0]"
    assert "unknown stop id 'ghost'" in answer["error"]["message"]
    assert _queued(aws) == []


def test_onfleet_request_schema_is_checked_before_queuing(
    onfleet: Api, aws: dict[str, Any]
) -> None:
    body = onfleet_run_body()
    del body["onfleet"]["tasks"]["params"]
    status, answer = onfleet("POST", "/v1/integrations/onfleet/run", body)
    assert status == 422 and answer["error"]["field"] == "onfleet.tasks.params", answer
    body = onfleet_run_body(alternate_stops=["t-404"])
    status, answer = onfleet("POST", "/v1/integrations/onfleet/run", body)
    assert status == 422 and "t-404" in answer["error"]["message"], answer
    assert _queued(aws) == []


def test_onfleet_down_is_retried_and_the_last_attempt_fails_the_run(
    onfleet: Api, aws: dict[str, Any], sandbox: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEETBRIDGE_HTTP_MAX_RETRIES", "0")
    from fleetbridge.core.config import get_settings

    get_settings.cache_clear()  # the `aws` fixture clears it again afterwards
    run_id = _start(onfleet, "/v1/integrations/onfleet/run", onfleet_run_body())
    (message,) = _queued(aws)
    sandbox.post("/_sandbox/onfleet/faults", json={"status_5xx": 1.0}).raise_for_status()
    first = invoke("routing_solver", sqs_event([message], queue=QUEUE))
    assert len(first["batchItemFailures"]) == 1  # SQS redelivers
    assert onfleet("GET", f"/v0/run/{run_id}/status")[1]["status"] == "started"
    last = invoke("routing_solver", sqs_event([message], queue=QUEUE, receive_count=3))
    assert len(last["batchItemFailures"]) == 1  # to the dead-letter queue
    status = onfleet("GET", f"/v0/run/{run_id}/status")[1]
    assert status["status"] == "failed" and "gave up after 3 attempts" in status["error"]


def test_an_alternate_both_workers_want_fails_the_run_naming_the_worker(
    onfleet: Api, aws: dict[str, Any], sandbox: httpx.Client
) -> None:
    # one alternate task, two workers that may each use only it: an Onfleet task belongs to
    # one worker, so no plan may put it on both (issue 16 item 3)
    shared = {"name": "nextmv:0.1:alternate_stops", "type": "array", "value": ["alt-1"]}
    workers = [{"id": w, "metadata": [shared | {"visibility": ["api"]}]} for w in WORKERS]
    sandbox.post("/_sandbox/onfleet/seed", json={"workers": workers}).raise_for_status()
    body = onfleet_run_body(tasks=["t-1", "alt-1"], alternate_stops=["alt-1"])
    run_id = _start(onfleet, "/v1/integrations/onfleet/run", body)
    assert solve_queued(aws) == [{"batchItemFailures": []}]
    status = onfleet("GET", f"/v0/run/{run_id}/status")[1]
    assert status["status"] == "failed", status
    assert "vehicle 'w-bob' has no alternate stop of its own" in status["error"]
    assert onfleet_writes(sandbox) == []


def test_a_run_stuck_started_past_any_invocation_is_timed_out(
    api: Api, aws: dict[str, Any]
) -> None:
    from fleetbridge.core.runs import RunRepository

    run_id = _start(api, "/v0/run", router_input())
    repository = RunRepository()
    run = repository.get(run_id)
    started = {**run.details, "started_at": "2020-01-01T00:00:00Z"}
    repository.save(run.model_copy(update={"status": "running", "details": started}))
    status = api("GET", f"/v0/run/{run_id}/status")[1]
    assert status["status"] == "timed_out", status
    assert status["error"].startswith("timed out")
    # final: a late redelivery does not solve it
    assert solve_queued(aws) == [{"batchItemFailures": []}]
    assert api("GET", f"/v0/run/{run_id}/status")[1]["status"] == "timed_out"


def test_apply_is_resumable_and_exactly_once_per_container(
    onfleet: Api, aws: dict[str, Any], sandbox: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fleetbridge.routing import apply_worker

    run_id = _start(onfleet, "/v1/integrations/onfleet/run", onfleet_run_body())
    assert solve_queued(aws) == [{"batchItemFailures": []}]
    monkeypatch.setattr(apply_worker, "MAX_CONTAINERS_PER_MESSAGE", 1)
    assert onfleet("POST", f"/v0/run/{run_id}/apply", {"dry_run": False})[0] == 202
    (first,) = _queued(aws)
    event = sqs_event([first], queue=QUEUE)
    assert invoke("routing_solver", event) == {"batchItemFailures": []}
    progress = onfleet("GET", f"/v0/run/{run_id}/status")[1]["apply"]
    assert progress["status"] == "applying" and progress["containers_written"] == 1
    puts = [w for w in onfleet_writes(sandbox) if w.startswith("PUT")]
    assert len(puts) == 1
    # the first message is delivered again: its container is not applied a second time
    assert invoke("routing_solver", sqs_event([first], queue=QUEUE, receive_count=2)) == {
        "batchItemFailures": []
    }
    assert [w for w in onfleet_writes(sandbox) if w.startswith("PUT")] == puts
    assert drain(aws)  # the continuations (one of them a duplicate of the redelivery's)
    done = onfleet("GET", f"/v0/run/{run_id}/status")[1]["apply"]
    assert done["status"] == "succeeded" and done["ok"], done
    assert done["containers_written"] == 2
    assert len([w for w in onfleet_writes(sandbox) if w.startswith("PUT")]) == 2
