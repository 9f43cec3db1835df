"""The management API over real HTTP on the local stack: auth, tenancy, bad input, docs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

CREDENTIALS = {
    "fleetio_api_key": "sandbox-fleetio-key",
    "fleetio_account_token": "sandbox-fleetio-account",
    "fleetio_webhook_secret": "platform-e2e-secret-9917",
    "keycafe_email": "ops@sandbox.example",
    "keycafe_token": "sandbox-keycafe-token",
}


def test_bad_input_gets_clear_errors_and_writes_nothing(stack: Any) -> None:
    _, key = stack.new_tenant("Platform E2E")
    api = stack.client(key)
    assert httpx.get(f"{stack.api_url}/connections").status_code == 401
    assert (
        httpx.get(
            f"{stack.api_url}/connections", headers={"Authorization": "Bearer fbk_nope"}
        ).status_code
        == 401
    )
    malformed = api.post(
        "/connections", content=b'{"flow":', headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_json"
    invalid = api.post(
        "/connections",
        json={
            "flow": "fleetio-keycafe",
            "name": "x",
            "credentials": CREDENTIALS,
            "settings": {"default_booking_hours": 0},
        },
    )
    assert invalid.status_code == 422
    assert invalid.json()["error"]["field"] == "settings.default_booking_hours"
    huge = api.post(
        "/connections",
        content=b"[" + b"1," * 600_000 + b"1]",
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    assert api.get("/no/such/route").status_code == 404
    assert api.get("/connections").json()["items"] == []
    for answer in (malformed, invalid, huge):
        assert "Traceback" not in answer.text


def test_tenants_only_see_their_own_connections(stack: Any) -> None:
    _, first_key = stack.new_tenant("First")
    _, second_key = stack.new_tenant("Second")
    first, second = stack.client(first_key), stack.client(second_key)
    created = first.post(
        "/connections", json={"flow": "fleetio-keycafe", "name": "mine", "credentials": CREDENTIALS}
    )
    assert created.status_code == 201
    connection_id = created.json()["id"]
    assert second.get(f"/connections/{connection_id}").status_code == 404
    assert second.get(f"/connections/{connection_id}/activity").status_code == 404
    assert second.delete(f"/connections/{connection_id}").status_code == 404
    assert first.get(f"/connections/{connection_id}").status_code == 200
    body = first.get(f"/connections/{connection_id}").text
    assert CREDENTIALS["fleetio_webhook_secret"] not in body


def test_openapi_and_swagger_are_served(stack: Any) -> None:
    schema = httpx.get(f"{stack.api_url}/openapi.json").json()
    assert schema["openapi"].startswith("3.1") and "/connections" in schema["paths"]
    assert "swagger" in httpx.get(f"{stack.api_url}/docs").text.lower()
