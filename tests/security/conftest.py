"""One security world per module (its environment is restored after the module): moto, the sandboxes, a tenant with a connection of each
flow and routing profiles (see tests/support/security.py)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from tests.support.security import World, security_world


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with security_world() as built:
            yield built
