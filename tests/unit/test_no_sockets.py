"""Unit tests run with sockets blocked (tests/unit/conftest.py): a test that needs a port or the
network fails ("A test tried to use socket.socket.") and belongs in tests/integration."""

from __future__ import annotations

import socket

import httpx
import pytest
from pytest_socket import SocketBlockedError


def test_opening_a_socket_fails() -> None:
    with pytest.warns(UserWarning, match="tried to use socket"):
        with pytest.raises(SocketBlockedError):
            socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with pytest.raises(SocketBlockedError), httpx.Client() as client:
            client.get("http://127.0.0.1:9/")
