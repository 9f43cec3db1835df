"""Unit tests stand alone: no network, no AWS, no ports. Every test under tests/unit runs with
sockets blocked (pytest-socket): opening one raises `SocketBlockedError`. Tests that need a real
server or moto belong in tests/integration."""

from __future__ import annotations

from pathlib import Path

import pytest

UNIT_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/unit with `disable_socket`."""
    for item in items:
        if item.path.is_relative_to(UNIT_DIR):
            item.add_marker(pytest.mark.disable_socket)
