"""Integration fixtures: moto in-process with every resource of template.yaml, the vendor
sandboxes on a loopback port, tenants, and handler invocation."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from moto import mock_aws

from tests.support.aws import create_template_resources
from tests.support.events import http_event
from tests.support.lambdas import invoke

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto with the template's tables, queues, bucket; env vars as the template sets them."""
    from fleetbridge.core.aws import reset_clients

    with mock_aws():
        resources = create_template_resources(ROOT / "template.yaml")
        for name, value in resources["env"].items():
            monkeypatch.setenv(name, value)
        reset_clients()
        yield resources
        reset_clients()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[str]:
    """The vendor sandboxes on 127.0.0.1 (one per test session); yields the base URL."""
    from local.sandboxes.app import run_sandboxes

    server, _ = run_sandboxes("127.0.0.1", 0, time_factor=60)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def sandbox(sandbox_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    """A client on the sandboxes, reset before each test; vendor clients point at them."""
    from fleetbridge.core.aws import reset_clients
    from local.stack.config import VENDOR_PATHS

    urls = {vendor: f"{sandbox_server}{path}" for vendor, path in VENDOR_PATHS.items()}
    monkeypatch.setenv("FLEETBRIDGE_VENDOR_URLS", json.dumps(urls))
    monkeypatch.setenv("FLEETBRIDGE_RATE_TIME_FACTOR", "60")
    reset_clients()
    with httpx.Client(base_url=sandbox_server, timeout=10) as client:
        client.post("/_sandbox/reset").raise_for_status()
        yield client


@dataclass
class Api:
    """Calls the API function's handler with HTTP API events, as one tenant."""

    api_key: str | None

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        query: dict[str, str] | None = None,
        api_key: str | None = "<default>",
    ) -> tuple[int, Any]:
        key = self.api_key if api_key == "<default>" else api_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        result = invoke(
            "api", http_event(method, path, body=body, raw_body=raw, headers=headers, query=query)
        )
        text = result.get("body") or ""
        try:
            payload = json.loads(text) if text else None
        except ValueError:
            payload = text
        return result["statusCode"], payload


@pytest.fixture
def tenant(aws: dict[str, Any]) -> tuple[str, str]:
    """A fresh tenant: (tenant id, API key)."""
    from fleetbridge.core.tenants import TenantRepository

    created, api_key = TenantRepository().create("Acme Fleet")
    return created.id, api_key


@pytest.fixture
def api(tenant: tuple[str, str]) -> Api:
    return Api(api_key=tenant[1])


@pytest.fixture
def other_api(aws: dict[str, Any]) -> Api:
    from fleetbridge.core.tenants import TenantRepository

    return Api(api_key=TenantRepository().create("Other Co")[1])


FLEETIO_KEYCAFE_CREDENTIALS = {
    "fleetio_api_key": "sandbox-fleetio-key",
    "fleetio_account_token": "sandbox-fleetio-account",
    "fleetio_webhook_secret": "whsec-fleetio-0123456789",
    "keycafe_email": "ops@sandbox.example",
    "keycafe_token": "sandbox-keycafe-token",
}


@pytest.fixture
def make_connection(api: Api, sandbox: httpx.Client) -> Callable[..., dict[str, Any]]:
    """Create a fleetio-keycafe connection through the API (its credentials are checked
    against the sandboxes on save)."""

    def make(**settings: Any) -> dict[str, Any]:
        status, body = api(
            "POST",
            "/connections",
            {
                "flow": "fleetio-keycafe",
                "name": "Depot North",
                "credentials": FLEETIO_KEYCAFE_CREDENTIALS,
                "settings": {"admin_emails": ["fleet-admin@example.com"], **settings},
            },
        )
        assert status == 201, body
        return body

    return make
