"""Fixtures for the vendor sandbox tests: the Flask app in-process, one httpx client per vendor."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from flask import Flask

from local.sandboxes.app import create_app

ONFLEET_KEY = "sandbox-onfleet-key"
FLEETIO_HEADERS = {
    "Authorization": "Token sandbox-fleetio-key",
    "Account-Token": "sandbox-fleetio-account",
}
KEYCAFE_AUTH = ("ops@sandbox.example/token", "sandbox-keycafe-token")


@dataclass
class Sent:
    """One webhook delivery captured by the injected sender."""

    url: str
    body: bytes
    headers: dict[str, str]

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture
def sent() -> list[Sent]:
    """Webhook deliveries, in order."""
    return []


@pytest.fixture
def checked_urls() -> list[tuple[str, str]]:
    """Onfleet webhook URL validations ``(url, token)``; URLs containing "reject" fail."""
    return []


@pytest.fixture
def make_app(sent: list[Sent], checked_urls: list[tuple[str, str]]) -> Callable[..., Flask]:
    """Build an app whose webhooks land in ``sent``."""

    def sender(url: str, body: bytes, headers: dict[str, str]) -> None:
        sent.append(Sent(url, body, headers))

    def checker(url: str, token: str) -> bool:
        checked_urls.append((url, token))
        return "reject" not in url

    def build(time_factor: float = 1.0) -> Flask:
        return create_app(time_factor=time_factor, webhook_sender=sender, url_checker=checker)

    return build


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The sandboxes app at time factor 1."""
    return make_app()


def client(app: Flask, base: str, **kwargs: Any) -> httpx.Client:
    """An httpx client driving ``app`` in-process (no sockets)."""
    transport = httpx.WSGITransport(app=app)
    return httpx.Client(transport=transport, base_url=f"http://sandbox{base}", **kwargs)


@pytest.fixture
def control(app: Flask) -> Iterator[httpx.Client]:
    """The control interface."""
    with client(app, "/_sandbox") as c:
        yield c


@pytest.fixture
def onfleet(app: Flask) -> Iterator[httpx.Client]:
    """Onfleet with the default key."""
    with client(app, "/onfleet/api/v2", auth=(ONFLEET_KEY, "")) as c:
        yield c


@pytest.fixture
def fleetio(app: Flask) -> Iterator[httpx.Client]:
    """Fleetio with the default API key and account token."""
    with client(app, "/fleetio/api", headers=FLEETIO_HEADERS) as c:
        yield c


@pytest.fixture
def keycafe(app: Flask) -> Iterator[httpx.Client]:
    """Keycafe with the default account."""
    with client(app, "/keycafe/v0", auth=KEYCAFE_AUTH) as c:
        yield c


@pytest.fixture
def make_client() -> Callable[..., httpx.Client]:
    """``make_client(app, base, **httpx_kwargs)`` for apps built by a test."""
    return client
