"""A local stack on the toy fixture template (free ports, fast visibility timeouts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local.stack.config import StackSettings
from local.stack.stack import LocalStack

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def toy_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The toy stack, started once per test module."""
    settings = StackSettings(
        template=FIXTURES / "template.yaml",
        api_port=0,
        aws_port=0,
        sandbox_port=0,
        log_dir=tmp_path_factory.mktemp("logs"),
        visibility_scale=0.02,
        concurrency=3,
        sandboxes=False,
        schedules=False,
    )
    with LocalStack(settings) as stack:
        yield stack


@pytest.fixture
def toy_api(toy_stack: LocalStack) -> Iterator[httpx.Client]:
    """An HTTP client on the toy stack's API emulator."""
    with httpx.Client(base_url=toy_stack.api_url, timeout=30) as client:
        yield client
