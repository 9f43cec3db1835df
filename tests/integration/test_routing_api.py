"""Routing profiles through the API function on moto + the Onfleet sandbox (issue 7, §1-2):
CRUD, the id rules, duplicates, the key checked with Onfleet, kept in Secrets Manager and only
ever shown masked."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Api
from tests.support.routing import ONFLEET_KEY, integration_body, run_profile_body

INTEGRATIONS = "/v1/routing/profiles/integration/onfleet"
RUN_PROFILES = "/v1/routing/profiles/run"
MASKED_KEY = ONFLEET_KEY[:2] + "*" * (len(ONFLEET_KEY) - 5) + ONFLEET_KEY[-3:]
NEW_KEY = "second-onfleet-key-7781"


@pytest.fixture
def routing_api(api: Api, sandbox: httpx.Client) -> Api:
    """The tenant's API, with an Onfleet sandbox accepting ONFLEET_KEY and NEW_KEY."""
    sandbox.post(
        "/_sandbox/onfleet/seed", json={"credentials": {"api_keys": [ONFLEET_KEY, NEW_KEY]}}
    ).raise_for_status()
    return api


def _secrets(tenant_id: str) -> dict[str, str]:
    from fleetbridge.core.aws import client

    manager = client("secretsmanager")
    names = [s["Name"] for s in manager.list_secrets()["SecretList"]]
    return {
        # AWSCURRENT by name: moto's default version ignores label moves (AWS's does not)
        name: manager.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"]
        for name in names
        if name.startswith(f"fleetbridge/{tenant_id}/routing-")
    }


def test_create_stores_the_key_in_secrets_manager_and_shows_it_masked(
    routing_api: Api, tenant: tuple[str, str]
) -> None:
    status, created = routing_api("POST", INTEGRATIONS, integration_body())
    assert status == 201, created
    assert created["id"] == "onfleet-main" and created["type"] == "onfleet"
    assert created["configuration"]["api_key"] == MASKED_KEY
    # any flag not explicitly false is true
    assert created["configuration"]["compatibility"] == {
        "tasks": {
            "complete_before_after": True,
            "dependencies": False,
            "location": True,
            "quantity": True,
            "service_time": True,
        },
        "workers": {"active_task": True, "capacity": True, "location": True, "tasks": True},
    }
    secrets = _secrets(tenant[0])
    assert len(secrets) == 1
    name, value = next(iter(secrets.items()))
    assert name.startswith(f"fleetbridge/{tenant[0]}/routing-onfleet-main-")
    assert json.loads(value) == {"onfleet_api_key": ONFLEET_KEY}

    answers = [
        routing_api("GET", INTEGRATIONS),
        routing_api("GET", f"{INTEGRATIONS}/onfleet-main"),
        routing_api("PUT", f"{INTEGRATIONS}/onfleet-main", {**created, "name": "Renamed"}),
    ]
    assert [status for status, _ in answers] == [200, 200, 200]
    assert answers[0][1][0]["configuration"]["api_key"] == MASKED_KEY
    assert all(ONFLEET_KEY not in json.dumps(body) for _, body in answers)
    # the masked key sent back by the PUT kept the stored one
    assert json.loads(next(iter(_secrets(tenant[0]).values()))) == {"onfleet_api_key": ONFLEET_KEY}
    assert answers[2][1]["name"] == "Renamed" and answers[2][1]["version"] == 2


@pytest.mark.parametrize(
    ("profile_id", "rule"),
    [
        ("Onfleet", "only lower-case letters, digits and dashes"),
        ("onfleet_main", "only lower-case letters, digits and dashes"),
        ("x" * 33, "at most 32 characters"),
    ],
)
def test_an_id_breaking_the_rule_is_422_naming_it(
    routing_api: Api, profile_id: str, rule: str
) -> None:
    for path, body in (
        (INTEGRATIONS, integration_body(profile_id)),
        (RUN_PROFILES, run_profile_body(profile_id)),
    ):
        status, answer = routing_api("POST", path, body)
        assert status == 422, answer
        assert answer["error"]["field"] == "id"
        assert rule in answer["error"]["message"]


def test_a_duplicate_id_is_409_and_leaves_no_second_secret(
    routing_api: Api, tenant: tuple[str, str]
) -> None:
    assert routing_api("POST", INTEGRATIONS, integration_body())[0] == 201
    status, answer = routing_api("POST", INTEGRATIONS, integration_body())
    assert status == 409, answer
    assert "already exists" in answer["error"]["message"]
    assert len(_secrets(tenant[0])) == 1


def test_a_key_onfleet_refuses_is_422_and_nothing_is_stored(
    routing_api: Api, tenant: tuple[str, str], sandbox: httpx.Client
) -> None:
    status, answer = routing_api("POST", INTEGRATIONS, integration_body(api_key="wrong-key-000"))
    assert status == 422, answer
    assert answer["error"]["field"] == "configuration.api_key"
    assert "GET /auth/test" in answer["error"]["message"]
    assert routing_api("GET", INTEGRATIONS) == (200, [])
    assert _secrets(tenant[0]) == {}
    log = sandbox.get("/_sandbox/onfleet/requests").json()["requests"]
    assert [r["path"] for r in log] == ["/onfleet/api/v2/auth/test"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"configuration": {}}, "configuration.api_key"),
        ({"name": ""}, "name"),
        (
            {"configuration": {"api_key": ONFLEET_KEY, "compatibility": {"tasks": {"x": False}}}},
            "configuration.compatibility.tasks.x",
        ),
        (
            {"configuration": {"api_key": ONFLEET_KEY, "compatibility": {"workers": []}}},
            "configuration.compatibility.workers",
        ),
    ],
)
def test_invalid_integration_fields_are_422_naming_the_field(
    routing_api: Api, change: dict[str, Any], field: str
) -> None:
    status, answer = routing_api("POST", INTEGRATIONS, integration_body() | change)
    assert status == 422, answer
    assert answer["error"]["field"] == field


def test_put_keeps_the_id_and_replaces_the_key_after_checking_it(
    routing_api: Api, tenant: tuple[str, str]
) -> None:
    routing_api("POST", INTEGRATIONS, integration_body())
    path = f"{INTEGRATIONS}/onfleet-main"
    status, answer = routing_api("PUT", path, integration_body("other-id"))
    assert status == 422 and answer["error"]["field"] == "id", answer
    assert "cannot be changed" in answer["error"]["message"]

    refused = routing_api("PUT", path, {"name": "x", "configuration": {"api_key": "bad-key-0"}})
    assert refused[0] == 422 and refused[1]["error"]["field"] == "configuration.api_key"

    body = {"name": "New key", "configuration": {"api_key": NEW_KEY}}
    status, updated = routing_api("PUT", path, body)
    assert status == 200, updated
    assert updated["id"] == "onfleet-main"
    assert updated["configuration"]["api_key"] == NEW_KEY[:2] + "*" * 18 + NEW_KEY[-3:]
    # a PUT replaces the compatibility flags: none given, all true again
    assert updated["configuration"]["compatibility"]["tasks"]["dependencies"] is True
    assert json.loads(next(iter(_secrets(tenant[0]).values()))) == {"onfleet_api_key": NEW_KEY}
    assert routing_api("PUT", f"{INTEGRATIONS}/missing", body)[0] == 404


def test_delete_removes_profile_and_secret_and_the_id_can_be_reused(
    routing_api: Api, tenant: tuple[str, str]
) -> None:
    routing_api("POST", INTEGRATIONS, integration_body())
    assert routing_api("DELETE", f"{INTEGRATIONS}/onfleet-main")[0] == 204
    assert routing_api("GET", f"{INTEGRATIONS}/onfleet-main")[0] == 404
    assert routing_api("DELETE", f"{INTEGRATIONS}/onfleet-main")[0] == 404
    status, created = routing_api("POST", INTEGRATIONS, integration_body())
    assert status == 201, created


def test_profiles_of_another_tenant_are_404(routing_api: Api, other_api: Api) -> None:
    routing_api("POST", INTEGRATIONS, integration_body())
    routing_api("POST", RUN_PROFILES, run_profile_body())
    assert other_api("GET", f"{INTEGRATIONS}/onfleet-main")[0] == 404
    assert other_api("GET", f"{RUN_PROFILES}/daily")[0] == 404
    assert other_api("GET", INTEGRATIONS) == (200, [])
    assert other_api("DELETE", f"{RUN_PROFILES}/daily")[0] == 404
    assert routing_api("GET", INTEGRATIONS, api_key=None)[0] == 401


def test_run_profile_crud(routing_api: Api) -> None:
    routing_api("POST", INTEGRATIONS, integration_body())
    status, created = routing_api("POST", RUN_PROFILES, run_profile_body())
    assert status == 201, created
    assert created["integrations"] == [{"id": "onfleet-main", "type": "onfleet"}]
    assert created["defaults"]["vehicles"]["shift_start"] == "2030-01-01T08:00:00Z"
    assert routing_api("GET", RUN_PROFILES)[1] == [created]
    assert routing_api("GET", f"{RUN_PROFILES}/daily") == (200, created)
    assert routing_api("POST", RUN_PROFILES, run_profile_body())[0] == 409

    change = run_profile_body() | {"name": "Evening", "options": None}
    status, updated = routing_api("PUT", f"{RUN_PROFILES}/daily", change)
    assert status == 200, updated
    assert (updated["name"], updated["options"], updated["version"]) == ("Evening", None, 2)
    renamed = routing_api("PUT", f"{RUN_PROFILES}/daily", change | {"id": "nightly"})
    assert renamed[0] == 422 and renamed[1]["error"]["field"] == "id"

    # the integration profile is in use: it cannot go first
    status, answer = routing_api("DELETE", f"{INTEGRATIONS}/onfleet-main")
    assert status == 409 and "daily" in answer["error"]["message"]
    assert routing_api("DELETE", f"{RUN_PROFILES}/daily")[0] == 204
    assert routing_api("GET", RUN_PROFILES) == (200, [])
    assert routing_api("DELETE", f"{INTEGRATIONS}/onfleet-main")[0] == 204


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            {"integrations": [{"id": "nope", "type": "onfleet"}]},
            "integrations[0].id",
            "no onfleet integration profile 'nope'",
        ),
        ({"integrations": [{"id": "onfleet-main", "type": "here"}]}, "integrations.0.type", ""),
        ({"defaults": {"vehicles": {"speed": -1}}}, "defaults.vehicles.speed", "greater than 0"),
        (
            {"options": {"solver": {"limits": {"duration": "ten"}}}},
            "options.solver.limits.duration",
            "not a duration",
        ),
        ({"id": None}, "id", "required"),
    ],
)
def test_invalid_run_profiles_are_422_naming_the_field(
    routing_api: Api, change: dict[str, Any], field: str, words: str
) -> None:
    routing_api("POST", INTEGRATIONS, integration_body())
    status, answer = routing_api("POST", RUN_PROFILES, run_profile_body() | change)
    assert status == 422, answer
    assert answer["error"]["field"] == field
    assert words in answer["error"]["message"]
