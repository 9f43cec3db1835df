"""The local stack, started once per session as `python -m local.serve` on free ports.

Tests here drive it only over HTTP: the management API, the vendor sandboxes and the
`/_local/` helpers. Every test in tests/e2e is marked `e2e`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.stack.process import ServeProcess, StackStartError
from tests.e2e import secret_scan
from tests.support.browser import ARTIFACTS_DIR, Browser, chromium, missing

E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e with `e2e`."""
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


@dataclass
class Stack:
    """The running stack's URLs and helpers."""

    api_url: str
    sandbox_url: str
    aws_url: str
    log_dir: Path
    process: ServeProcess
    _clients: list[httpx.Client] = field(default_factory=list)
    #: every API answer and every credential value sent, for the closing secrets scan
    answers: list[str] = field(default_factory=list)
    credentials: set[str] = field(default_factory=set)

    def client(self, api_key: str | None = None) -> httpx.Client:
        """An HTTP client on the API (with `Authorization: Bearer <api_key>` when given).

        It records what it sends and receives for the secrets scan that ends the session.
        """
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        client = httpx.Client(
            base_url=self.api_url,
            headers=headers,
            timeout=60,
            event_hooks={"request": [self._sent], "response": [self._received]},
        )
        self._clients.append(client)
        return client

    def _sent(self, request: httpx.Request) -> None:
        try:
            body = json.loads(request.content) if request.content else None
        except (ValueError, httpx.RequestNotRead):
            return
        self.credentials |= secret_scan.credentials_in(body)

    def _received(self, response: httpx.Response) -> None:
        response.read()
        self.answers.append(response.text)

    def sandbox(self) -> httpx.Client:
        """An HTTP client on the vendor sandboxes."""
        client = httpx.Client(base_url=self.sandbox_url, timeout=30)
        self._clients.append(client)
        return client

    def new_tenant(self, name: str) -> tuple[str, str]:
        """A new tenant: (tenant id, API key)."""
        response = httpx.post(f"{self.api_url}/_local/tenants", json={"name": name}, timeout=60)
        response.raise_for_status()
        body = response.json()
        return body["tenant_id"], body["api_key"]

    def drain(self, timeout: float = 60) -> None:
        """Wait until every queue is empty and no batch is in flight."""
        response = httpx.post(
            f"{self.api_url}/_local/drain", params={"timeout": timeout}, timeout=timeout + 10
        )
        assert response.status_code == 200, response.text

    def emails(self) -> list[dict[str, Any]]:
        """The emails sent so far."""
        return httpx.get(f"{self.api_url}/_local/emails", timeout=30).json()

    def fire_schedule(self, function: str) -> httpx.Response:
        """Fire a function's schedule now."""
        return httpx.post(f"{self.api_url}/_local/schedules/{function}", timeout=120)

    def logs(self) -> str:
        """Every function log written so far."""
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))

    def close_clients(self) -> None:
        """Close the clients handed out."""
        for client in self._clients:
            client.close()
        self._clients.clear()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The local stack for the whole session (sandbox clocks x60, visibility timeouts x0.02)."""
    log_dir = tmp_path_factory.mktemp("local-stack")
    process = ServeProcess(
        log_dir,
        env={
            "FLEETBRIDGE_SANDBOX_TIME_FACTOR": "60",
            "FLEETBRIDGE_LOCAL_VISIBILITY_SCALE": "0.005",
            "FLEETBRIDGE_LOCAL_LOG_DIR": str(log_dir),
        },
        startup_timeout=60,
    )
    try:
        process.start()
    except StackStartError as exc:
        pytest.fail(f"the local stack did not start:\n{exc}", pytrace=False)
    urls = process.urls
    running = Stack(urls["api"], urls["sandboxes"], urls["aws"], log_dir, process)
    leaks: list[str] = []
    try:
        yield running
        leaks = secret_scan.scan(
            running.credentials | _declared_credentials(),
            log_dir=log_dir,
            answers=running.answers,
            emails=running.emails(),
            aws_url=running.aws_url,
        )
    finally:
        running.close_clients()
        process.stop()
    assert leaks == [], f"credentials found after the e2e run: {leaks[:20]}"


def _declared_credentials() -> set[str]:
    """The CREDENTIALS of the e2e modules this session imported (so also values a test sent
    some other way than `Stack.client`)."""
    import sys

    e2e_dir = Path(__file__).resolve().parent
    values: set[str] = set()
    for module in list(sys.modules.values()):
        declared = getattr(module, "CREDENTIALS", None)
        source = getattr(module, "__file__", None)
        # Only e2e modules: the whole suite also imports integration modules whose
        # CREDENTIALS never reach the stack (and whose digits would match any log line).
        if source and Path(source).resolve().parent == e2e_dir and isinstance(declared, dict):
            values |= secret_scan.credentials_in({"credentials": declared})
    return values


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """A headless Chromium (Debian's) for pages the stack serves; screenshots go to
    `.artifacts/e2e/` (FLEETBRIDGE_ARTIFACTS_DIR overrides the root)."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    with chromium(ARTIFACTS_DIR / "e2e") as started:
        yield started
