"""Rate limiters: per-endpoint limiters in the client base, and slots refused past the budget
without being claimed (LocalRateLimiter, and the shared limiters over an in-memory table)."""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from fleetbridge.core import budget
from fleetbridge.core.errors import RetryLater
from fleetbridge.core.http import VendorClient
from fleetbridge.core.ratelimit import (
    TURN_SLACK_SECONDS,
    LocalRateLimiter,
    RateLimit,
    RateLimiter,
    SharedIntervalLimiter,
    SharedRateLimiter,
    SlotTooLate,
    limiter_for,
)

ONE_A_MINUTE = RateLimit(requests=1, per_seconds=60)


class Context:
    """A Lambda context with `seconds` left."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


class Limited(VendorClient):
    """A vendor limiting two endpoints apart, one a minute each."""

    vendor = "limited"
    endpoint_limits = {"GET /a": ONE_A_MINUTE, "DELETE /items/{id}": ONE_A_MINUTE}


def limited_client(sent: list[str]) -> Limited:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(f"{request.method} {request.url.path}")
        return httpx.Response(200, json={})

    limiters = {key: LocalRateLimiter(limit, key) for key, limit in Limited.endpoint_limits.items()}
    return Limited(
        "https://v.test", transport=httpx.MockTransport(handler), endpoint_limiters=limiters
    )


@pytest.fixture(autouse=True)
def fast_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A minute lasts 0.2 s (a slot 0.204 s)."""
    monkeypatch.setenv("FLEETBRIDGE_RATE_TIME_FACTOR", "300")


def test_local_rate_limiter_spaces_calls_evenly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETBRIDGE_RATE_TIME_FACTOR", "1")
    limiter = LocalRateLimiter(RateLimit(requests=50, per_seconds=1))
    started = time.monotonic()
    for _ in range(11):
        limiter.acquire()
    elapsed = time.monotonic() - started
    assert elapsed >= 10 * (1 / 49) * 1.02 * 0.95


def test_endpoints_are_limited_apart_and_others_not_at_all() -> None:
    sent: list[str] = []
    slot = ONE_A_MINUTE.slot_seconds()
    with limited_client(sent) as client:
        assert client.endpoint_of("DELETE", "/items/7") == "DELETE /items/{id}"
        assert client.endpoint_of("GET", "/items/7") is None
        started = time.monotonic()
        client.get_json("/a")
        client.request("DELETE", "/items/1")  # another endpoint: not held up by /a
        client.get_json("/b")  # not limited
        assert time.monotonic() - started < slot / 2
        client.get_json("/a")  # the same endpoint: waits for its next slot
        assert time.monotonic() - started >= slot * 0.95
    assert sent == ["GET /a", "DELETE /items/1", "GET /b", "GET /a"]


def test_a_slot_past_the_budget_is_handed_back_unclaimed() -> None:
    sent: list[str] = []
    slot = ONE_A_MINUTE.slot_seconds()
    with limited_client(sent) as client:
        client.get_json("/a")
        started = time.monotonic()
        with budget.invocation(Context(0.1)), pytest.raises(RetryLater) as later:
            client.get_json("/a")  # its slot starts in ~0.2 s: more than 0.1 s minus the margin
        assert time.monotonic() - started < slot / 2  # not slept
        assert 0 < later.value.retry_after <= slot
        assert later.value.vendor == "limited" and later.value.status_code is None
        with budget.invocation(Context(0.1)):
            client.request("DELETE", "/items/1")  # another endpoint is free: no wait
        client.get_json("/a")  # the slot refused above was not claimed: one slot, not two
        assert time.monotonic() - started < slot * 1.5
    assert sent == ["GET /a", "DELETE /items/1", "GET /a"]


class Table:
    """DynamoDB's get and conditional put (the two conditions the limiters use), in memory."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def get_item(self, Key: dict[str, str], ConsistentRead: bool) -> dict[str, Any]:
        item = self.items.get((Key["pk"], Key["sk"]))
        return {"Item": dict(item)} if item else {}

    def put_item(self, Item: dict[str, Any], **condition: Any) -> None:
        key = (Item["pk"], Item["sk"])
        current = self.items.get(key)
        if condition["ConditionExpression"] == "attribute_not_exists(pk)":
            refused = current is not None
        else:  # "next_free = :previous"
            expected = condition["ExpressionAttributeValues"][":previous"]
            refused = current is None or current["next_free"] != expected
        if refused:
            error = {"Error": {"Code": "ConditionalCheckFailedException"}}
            raise ClientError(error, "PutItem")  # type: ignore[arg-type]
        self.items[key] = Item


def shared(table: Table, monkeypatch: pytest.MonkeyPatch, key: str) -> RateLimiter:
    """A shared limiter of one call a minute on `table` (as `limiter_for` builds it)."""
    monkeypatch.setattr("fleetbridge.core.ratelimit.table", lambda _: table)
    limiter = limiter_for(key, ONE_A_MINUTE)
    assert isinstance(limiter, SharedIntervalLimiter)
    return limiter


def test_shared_one_a_minute_spaces_workers_but_not_a_first_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two workers (separate limiters): the first call goes at once, then a slot apart."""
    table = Table()
    first, second = (shared(table, monkeypatch, "v:acct:GET /a") for _ in range(2))
    slot = ONE_A_MINUTE.slot_seconds()
    started = time.time()
    stamps = []
    for limiter in (first, second, first):
        limiter.acquire()
        stamps.append(time.time())
    assert stamps[0] - started < slot / 4
    gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    assert all(gap >= slot * 0.98 for gap in gaps)
    shared(table, monkeypatch, "v:acct:GET /b").acquire()  # another endpoint: at once
    assert time.time() - stamps[-1] < slot / 4


def test_shared_turn_past_the_budget_is_not_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    table = Table()
    limiter = shared(table, monkeypatch, "v:acct:GET /a")
    limiter.acquire()
    before = {key: dict(item) for key, item in table.items.items()}
    started = time.monotonic()
    with budget.invocation(Context(0.1)), pytest.raises(SlotTooLate) as late:
        limiter.acquire()
    assert time.monotonic() - started < 0.05  # refused at once, not slept
    turn = ONE_A_MINUTE.slot_seconds() + TURN_SLACK_SECONDS
    assert table.items == before and 0 < late.value.delay <= turn


def test_shared_slots_past_the_budget_are_not_claimed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for the slot scheme of several requests a period."""
    table = Table()
    monkeypatch.setattr("fleetbridge.core.ratelimit.table", lambda _: table)
    limiter = SharedRateLimiter("v:acct", RateLimit(requests=2, per_seconds=60))
    limiter.acquire()
    with budget.invocation(Context(0.1)), pytest.raises(SlotTooLate):
        while True:  # claims the slots that start within the budget, then refuses
            claimed = set(table.items)
            limiter.acquire()
    assert set(table.items) == claimed
