"""Azuga's one request a minute per endpoint, through the sandbox (which enforces it, its clock
and our limiters at 60x: a minute lasts a second) with the shared limiters in DynamoDB (moto)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from fleetbridge.core import budget
from fleetbridge.core.errors import RetryLater
from fleetbridge.core.models import Connection
from fleetbridge.core.ratelimit import SAFETY_MARGIN, TURN_SLACK_SECONDS
from fleetbridge.vendors.azuga import AzugaClient

CREDENTIALS = {"azuga_api_key": "sandbox-azuga-key"}
MINUTE = 60 / 60  # one vendor minute at the sandbox's time factor


class Context:
    """A Lambda context with `seconds` left."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def client() -> AzugaClient:
    """A client as the flow builds it: the account's shared per-endpoint limiters."""
    connection = Connection(
        id="con_azuga_limits",
        tenant_id="t",
        flow="servicetrade-azuga",
        name="x",
        secret_arn="unused",
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
    )
    return AzugaClient.for_connection(connection, CREDENTIALS)


def log(sandbox: httpx.Client) -> list[dict[str, Any]]:
    return list(sandbox.get("/_sandbox/azuga/requests").json()["requests"])


def test_one_endpoint_twice_in_a_minute_waits_others_do_not(
    aws: dict[str, Any], sandbox: httpx.Client
) -> None:
    with client() as first, client() as second:  # two workers of one account
        started = time.monotonic()
        first.drivers()  # login, then users
        second.vehicles()  # another endpoint (its token: a second login, which waits)
        lists = time.monotonic()
        first.drivers()  # users again: waits for the endpoint's next minute
        again = time.monotonic()
    calls = log(sandbox)
    assert [c["status"] for c in calls] == [200] * 5  # no 429
    assert [f"{c['method']} {c['path']}" for c in calls] == [
        "POST /azuga/v3/auth/login",
        "GET /azuga/v3/users",
        "POST /azuga/v3/auth/login",
        "GET /azuga/v3/trackees",
        "GET /azuga/v3/users",
    ]
    # the second login waited a minute; users and trackees did not wait for each other
    assert MINUTE <= lists - started < 2 * MINUTE
    assert again - lists < MINUTE / 2  # users' minute had passed while the login waited


def test_a_minute_past_the_invocation_is_handed_back_without_a_call(
    aws: dict[str, Any], sandbox: httpx.Client
) -> None:
    with client() as azuga:
        azuga.drivers()
        before = len(log(sandbox))
        started = time.monotonic()
        with budget.invocation(Context(0.5)), pytest.raises(RetryLater) as later:
            azuga.drivers()  # users' next minute is ~1 s away: more than the invocation has
        assert time.monotonic() - started < MINUTE / 4  # not slept
        assert 0 < later.value.retry_after <= MINUTE * SAFETY_MARGIN + TURN_SLACK_SECONDS
        assert len(log(sandbox)) == before  # nothing sent: no 429
        with budget.invocation(Context(0.5)):
            assert azuga.vehicles() == []  # another endpoint: at once
        time.sleep(later.value.retry_after)  # the message comes back after the delay
        azuga.drivers()  # the turn refused above was not taken: no further wait, no 429
    assert [c["status"] for c in log(sandbox)] == [200] * 4
