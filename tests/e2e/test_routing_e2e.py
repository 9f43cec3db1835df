"""Onfleet route planning on the running local stack, over HTTP only (issue 7): profiles, a run
queued by the API and solved by the solver function through the SQS poller, its result, a dry
run then the apply writing the containers into the Onfleet sandbox, and a bad run failing
clearly without writing anything."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.routing import (
    ALTERNATES,
    TASKS,
    integration_body,
    onfleet_run_body,
    onfleet_world,
    onfleet_writes,
    run_profile_body,
    worker_tasks,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

ONFLEET_KEY = "e2e-onfleet-routing-key-5521"
CREDENTIALS = {"onfleet_api_key": ONFLEET_KEY}
MASKED = ONFLEET_KEY[:2] + "*" * (len(ONFLEET_KEY) - 5) + ONFLEET_KEY[-3:]
INTEGRATIONS = "/v1/routing/profiles/integration/onfleet"


@dataclass
class World:
    api: httpx.Client
    sandbox: httpx.Client

    def start(self, body: dict[str, Any]) -> str:
        response = self.api.post("/v1/integrations/onfleet/run", json=body)
        assert response.status_code == 202, response.text
        return str(response.json()["run_id"])

    def finished(self, run_id: str) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            status = self.api.get(f"/v0/run/{run_id}/status").json()
            finished = ("succeeded", "failed", "timed_out")
            return status if status["status"] in finished else None

        return wait_for(done, timeout=120, what=f"run {run_id} to finish")


@pytest.fixture(scope="module")
def world(stack: Any) -> Iterator[World]:
    """A tenant with an Onfleet integration profile and a run profile; Onfleet seeded."""
    sandbox = stack.sandbox()
    sandbox.post("/_sandbox/onfleet/reset").raise_for_status()
    sandbox.post(
        "/_sandbox/onfleet/seed", json={"credentials": {"api_keys": [ONFLEET_KEY]}}
    ).raise_for_status()
    sandbox.post("/_sandbox/onfleet/seed", json=onfleet_world()).raise_for_status()
    _, api_key = stack.new_tenant("E2E Routing")
    api = stack.client(api_key)
    created = api.post(INTEGRATIONS, json=integration_body(api_key=ONFLEET_KEY))
    assert created.status_code == 201, created.text
    assert created.json()["configuration"]["api_key"] == MASKED
    run_profile = api.post("/v1/routing/profiles/run", json=run_profile_body())
    assert run_profile.status_code == 201, run_profile.text
    yield World(api, sandbox)


def test_profiles_are_validated_and_the_key_is_only_shown_masked(world: World) -> None:
    bad = world.api.post(INTEGRATIONS, json=integration_body("Main_Key", api_key=ONFLEET_KEY))
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "id", bad.text
    refused = world.api.post(INTEGRATIONS, json=integration_body("b", api_key="not-the-key-123"))
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == "configuration.api_key"
    duplicate = world.api.post(INTEGRATIONS, json=integration_body(api_key=ONFLEET_KEY))
    assert duplicate.status_code == 409, duplicate.text

    listed = world.api.get(INTEGRATIONS)
    assert listed.status_code == 200 and ONFLEET_KEY not in listed.text
    assert [p["configuration"]["api_key"] for p in listed.json()] == [MASKED]
    unknown = world.api.post(
        "/v1/routing/profiles/run", json=run_profile_body("other", integration="nope")
    )
    assert unknown.status_code == 422 and "nope" in unknown.json()["error"]["message"]


def test_run_from_post_to_result_then_apply(world: World) -> None:
    run_id = world.start(onfleet_run_body())
    status = world.finished(run_id)
    assert status["status"] == "succeeded", status

    result = world.api.get(f"/v0/run/{run_id}/result").json()
    assert result["state"]["unassigned"] == []
    containers = {c["worker"]: c["tasks"] for c in result["containers"]}
    routed = [t for tasks in containers.values() for t in tasks]
    assert sorted(routed + result["unused_alternate_tasks"]) == sorted(TASKS + ALTERNATES)
    assert onfleet_writes(world.sandbox) == []  # the run only read Onfleet

    dry = world.api.post(f"/v0/run/{run_id}/apply", json={"dry_run": True})
    assert dry.status_code == 200 and dry.json()["delete_tasks"] == result["unused_alternate_tasks"]
    assert onfleet_writes(world.sandbox) == []

    queued = world.api.post(f"/v0/run/{run_id}/apply", json={"dry_run": False})
    assert queued.status_code == 202, queued.text  # queued work, progress on the status

    def applied() -> dict[str, Any] | None:
        status = world.api.get(f"/v0/run/{run_id}/status").json().get("apply") or {}
        return status if status.get("status") in ("succeeded", "failed") else None

    done = wait_for(applied, timeout=120, what=f"run {run_id} to be applied")
    assert done["ok"], done
    assert worker_tasks(world.sandbox) == containers

    svg = world.api.get(f"/v0/run/{run_id}/map", params={"format": "svg"})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")


def test_a_bad_run_fails_clearly_and_writes_nothing(world: World) -> None:
    before = onfleet_writes(world.sandbox)
    run_id = world.start(onfleet_run_body(tasks=[*TASKS, *ALTERNATES, "t-missing"]))
    status = world.finished(run_id)
    assert status["status"] == "failed"
    # (after the apply of the other test, the unused alternate it deleted is missing too)
    assert (
        status["error"].startswith("onfleet tasks not found: ") and "t-missing" in status["error"]
    )
    unknown = world.api.post(
        "/v1/integrations/onfleet/run", json=onfleet_run_body(run_profile="nope")
    )
    assert unknown.status_code == 422, unknown.text  # checked at POST (issue 16 item 5)
    assert "run profile 'nope' not found" in unknown.json()["error"]["message"]
    assert onfleet_writes(world.sandbox) == before
