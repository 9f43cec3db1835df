"""The ``/_sandbox`` control interface: seed, state, reset, faults, request log, rate limits."""

from __future__ import annotations

import re
import time

import httpx
import pytest


def test_vendors_are_listed_and_unknown_vendor_is_404(control: httpx.Client) -> None:
    assert control.get("/").json() == {
        "vendors": [
            "azuga",
            "driveri",
            "fleetio",
            "gpsinsight",
            "keycafe",
            "onfleet",
            "servicetrade",
            "striven",
        ]
    }
    response = control.get("/nope/state")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_state_shows_resources_credentials_and_webhooks(control: httpx.Client) -> None:
    onfleet = control.get("/onfleet/state").json()
    assert {"teams", "workers", "tasks", "credentials", "webhooks"} <= set(onfleet)
    assert onfleet["credentials"]["api_keys"] == ["sandbox-onfleet-key"]
    assert bytes.fromhex(onfleet["credentials"]["webhook_secret"])
    fleetio = control.get("/fleetio/state").json()
    assert {"vehicles", "contacts", "vehicle_assignments"} <= set(fleetio)
    assert fleetio["credentials"] == {
        "api_key": "sandbox-fleetio-key",
        "account_token": "sandbox-fleetio-account",
    }
    keycafe = control.get("/keycafe/state").json()
    assert {"keys", "users", "accesses", "notifications"} <= set(keycafe)
    assert keycafe["credentials"] == {
        "email": "ops@sandbox.example",
        "token": "sandbox-keycafe-token",
    }


def test_seed_generates_ids_in_vendor_style(control: httpx.Client) -> None:
    team = control.post("/onfleet/seed", json={"teams": [{"name": "A"}]}).json()["teams"][0]
    assert re.fullmatch(r"[A-Za-z0-9~]{24}", team["id"])
    vehicles = control.post(
        "/fleetio/seed", json={"vehicles": [{"id": 500, "name": "a"}, {"name": "b"}]}
    ).json()["vehicles"]
    assert [v["id"] for v in vehicles] == [500, 501]
    key = control.post("/keycafe/seed", json={"keys": [{"name": "k"}]}).json()["keys"][0]
    assert isinstance(key["id"], int)
    state = control.get("/fleetio/state").json()
    assert [v["name"] for v in state["vehicles"]] == ["a", "b"]


def test_seed_upserts_by_id(control: httpx.Client) -> None:
    control.post("/fleetio/seed", json={"vehicles": [{"id": 1, "name": "old"}]})
    control.post("/fleetio/seed", json={"vehicles": [{"id": 1, "name": "new"}]})
    assert [v["name"] for v in control.get("/fleetio/state").json()["vehicles"]] == ["new"]


@pytest.mark.parametrize(
    "body", [{"planets": []}, {"vehicles": {"name": "x"}}, {"credentials": {"api_key": 1}}]
)
def test_bad_seed_is_400(control: httpx.Client, body: dict) -> None:
    response = control.post("/fleetio/seed", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_reset_one_and_all(control: httpx.Client) -> None:
    control.post("/fleetio/seed", json={"vehicles": [{"name": "a"}]})
    control.post("/keycafe/seed", json={"keys": [{"name": "k"}]})
    control.post("/fleetio/reset")
    assert control.get("/fleetio/state").json()["vehicles"] == []
    assert len(control.get("/keycafe/state").json()["keys"]) == 1
    control.post("/fleetio/seed", json={"credentials": {"api_key": "a", "account_token": "b"}})
    control.post("/reset")
    assert control.get("/keycafe/state").json()["keys"] == []
    assert control.get("/fleetio/state").json()["credentials"]["api_key"] == "sandbox-fleetio-key"


def test_request_log_redacts_credentials(control: httpx.Client, fleetio, keycafe, onfleet) -> None:
    fleetio.post("/v1/vehicle_assignments", json={"comments": "x"}, params={"a": "1"})
    keycafe.get("/key", params={"query": "van"})
    onfleet.get("/auth/test")
    entry = control.get("/fleetio/requests").json()["requests"][0]
    assert entry["method"] == "POST"
    assert entry["path"] == "/fleetio/api/v1/vehicle_assignments"
    assert entry["query"] == {"a": "1"}
    assert entry["status"] == 422
    assert entry["body"] == {"comments": "x"}
    assert entry["time"].endswith("Z")
    assert entry["headers"]["Authorization"] == "[redacted]"
    assert entry["headers"]["Account-Token"] == "[redacted]"
    everything = str(
        [control.get(f"/{v}/requests").json() for v in ("fleetio", "keycafe", "onfleet")]
    )
    for secret in ("sandbox-fleetio-key", "sandbox-fleetio-account", "Basic ", "sandbox-keycafe"):
        assert secret not in everything
    assert len(control.get("/onfleet/requests", params={"limit": 0}).json()["requests"]) == 0


def test_control_endpoints_are_not_faulted(control: httpx.Client, onfleet) -> None:
    control.post("/onfleet/faults", json={"status_5xx": 1.0})
    assert control.get("/onfleet/state").status_code == 200
    assert control.get("/onfleet/faults").json()["status_5xx"] == 1.0
    assert onfleet.get("/auth/test").status_code == 503
    log = control.get("/onfleet/requests").json()["requests"]
    assert [(e["status"], e["fault"]) for e in log] == [(503, "status_5xx")]


@pytest.mark.parametrize(
    "body",
    [
        {"status_429": 2},
        {"status_5xx": -0.1},
        {"status_429": 0.6, "status_5xx": 0.6},
        {"latency_ms": -1},
        {"seed": "x"},
        {"typo": 0.1},
        {"lost_response": 1.5},
        {"retry_after_s": -1},
        {"methods": "POST"},
    ],
)
def test_invalid_faults_are_400(control: httpx.Client, body: dict) -> None:
    assert control.post("/keycafe/faults", json=body).status_code == 400


def test_seeded_faults_are_deterministic(control: httpx.Client, onfleet) -> None:
    faults = {"status_429": 0.3, "status_5xx": 0.3, "seed": 7}

    def run() -> list[int]:
        control.post("/onfleet/faults", json=faults)
        control.post("/onfleet/rate-limit", json={"limit": 1000})
        return [onfleet.get("/auth/test").status_code for _ in range(30)]

    first = run()
    assert first == run()
    assert {200, 429, 503} == set(first)


def test_latency_fault_delays_requests(control: httpx.Client, fleetio) -> None:
    control.post("/fleetio/faults", json={"latency_ms": 40})
    started = time.monotonic()
    assert fleetio.get("/v1/vehicles").status_code == 200
    assert time.monotonic() - started >= 0.04


def test_rate_limit_control_validates(control: httpx.Client) -> None:
    assert control.get("/keycafe/rate-limit").json() == {
        "limit": 60,
        "window_seconds": 60.0,
        "block_seconds": 60.0,
        "time_factor": 1.0,
    }
    assert control.post("/keycafe/rate-limit", json={"limit": 0}).status_code == 400
    assert control.post("/keycafe/rate-limit", json={"burst": 1}).status_code == 400


def test_unknown_vendor_path_answers_in_vendor_shape(keycafe: httpx.Client, fleetio) -> None:
    missing = keycafe.get("/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["errorId"] == "NOT_FOUND"
    wrong_method = fleetio.put("/v1/vehicles")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()
