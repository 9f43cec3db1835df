"""The vendor HTTP client base: retries, Retry-After, error mapping, paging."""

from __future__ import annotations

import httpx
import pytest
from pydantic import BaseModel

from fleetbridge.core import budget
from fleetbridge.core.errors import (
    AuthError,
    RateLimited,
    RetryLater,
    VendorConflict,
    VendorNotFound,
    VendorUnavailable,
    VendorValidationError,
)
from fleetbridge.core.http import TokenClient, VendorClient, paginate, retry_after_seconds


class ScriptedTransport(httpx.BaseTransport):
    """Answers with the scripted responses in order and remembers the requests."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def make_client(transport: ScriptedTransport, sleeps: list[float]) -> VendorClient:
    return VendorClient("https://vendor.test/api", transport=transport, sleep=sleeps.append)


def test_retries_5xx_then_succeeds_with_backoff_within_cap() -> None:
    transport = ScriptedTransport(
        httpx.Response(503), httpx.Response(502), httpx.Response(200, json={"ok": 1})
    )
    sleeps: list[float] = []
    assert make_client(transport, sleeps).get_json("/x") == {"ok": 1}
    assert len(transport.requests) == 3
    assert len(sleeps) == 2 and all(0 <= s <= 8 for s in sleeps)


def test_honours_retry_after_seconds_on_429() -> None:
    transport = ScriptedTransport(
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json=[])
    )
    sleeps: list[float] = []
    make_client(transport, sleeps).get_json("/x")
    assert sleeps == [7.0]


def test_retry_after_is_read_up_to_the_longest_queue_delay() -> None:
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "9999"})) == 9999.0
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "99999"})) == 43200.0
    assert retry_after_seconds(httpx.Response(429)) is None


class Context:
    """A Lambda context with `seconds` left."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def test_a_retry_after_longer_than_the_invocation_has_left_is_not_slept() -> None:
    """Item 2 of issue 12: a Retry-After beyond what is left (minus the margin) raises
    RetryLater at once, carrying the delay for the queue; a shorter one is slept."""
    transport = ScriptedTransport(httpx.Response(429, headers={"Retry-After": "50"}))
    sleeps: list[float] = []
    with budget.invocation(Context(40)), pytest.raises(RetryLater) as caught:
        make_client(transport, sleeps).get_json("/x")
    assert sleeps == [] and caught.value.retry_after == 50.0 and caught.value.retryable
    transport = ScriptedTransport(
        httpx.Response(429, headers={"Retry-After": "50"}), httpx.Response(200, json=[])
    )
    with budget.invocation(Context(900)):
        make_client(transport, sleeps).get_json("/x")
    assert sleeps == [50.0]


def test_a_retry_after_over_the_cap_is_never_slept_even_without_a_budget() -> None:
    transport = ScriptedTransport(httpx.Response(429, headers={"Retry-After": "120"}))
    sleeps: list[float] = []
    with pytest.raises(RetryLater) as caught:
        make_client(transport, sleeps).get_json("/x")
    assert sleeps == [] and caught.value.retry_after == 120.0


def test_gives_up_after_max_retries_with_typed_error() -> None:
    transport = ScriptedTransport(*[httpx.Response(429) for _ in range(5)])
    with pytest.raises(RateLimited) as caught:
        make_client(transport, []).get_json("/x")
    assert caught.value.status_code == 429
    assert len(transport.requests) == 5  # first try + 4 retries


def test_timeouts_on_get_are_retried() -> None:
    transport = ScriptedTransport(httpx.ReadTimeout("slow"), httpx.Response(200, json={}))
    assert make_client(transport, []).get_json("/x") == {}


def test_read_timeout_on_post_is_not_retried_because_the_vendor_may_have_acted() -> None:
    transport = ScriptedTransport(httpx.ReadTimeout("slow"), httpx.Response(201, json={}))
    with pytest.raises(VendorUnavailable):
        make_client(transport, []).request("POST", "/things", json={})
    assert len(transport.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, json={"message": "boom"}),
        httpx.Response(503),
        httpx.RemoteProtocolError("peer closed connection without sending complete message"),
        httpx.ReadError("connection reset"),
    ],
)
def test_post_is_not_retried_when_the_vendor_may_have_acted(answer: object) -> None:
    """A 5xx or a dropped connection may follow an applied write (a lost answer): the caller
    looks the object up by its marker instead of the client posting it again."""
    transport = ScriptedTransport(answer, httpx.Response(201, json={"id": 1}))  # type: ignore[arg-type]
    with pytest.raises(VendorUnavailable):
        make_client(transport, []).request("POST", "/things", json={})
    assert len(transport.requests) == 1


def test_post_is_retried_when_the_vendor_cannot_have_acted() -> None:
    transport = ScriptedTransport(
        httpx.ConnectError("refused"),
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.Response(201, json={"id": 1}),
    )
    assert make_client(transport, []).request("POST", "/things", json={}).json() == {"id": 1}


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, VendorValidationError),
        (401, AuthError),
        (403, AuthError),
        (404, VendorNotFound),
        (409, VendorConflict),
        (422, VendorValidationError),
    ],
)
def test_status_maps_to_typed_error_with_vendor_message(status: int, error_class: type) -> None:
    transport = ScriptedTransport(
        httpx.Response(
            status, json={"code": "Nope", "message": "bad thing"}, headers={"X-Request-Id": "r-1"}
        )
    )
    with pytest.raises(error_class) as caught:
        make_client(transport, []).get_json("/x")
    assert caught.value.vendor_code == "Nope"
    assert caught.value.message == "bad thing"
    assert caught.value.request_id == "r-1"


def test_rate_limiter_is_consulted_on_every_attempt() -> None:
    calls: list[int] = []

    class CountingLimiter:
        def acquire(self) -> None:
            calls.append(1)

    transport = ScriptedTransport(httpx.Response(503), httpx.Response(200, json={}))
    client = VendorClient(
        "https://v.test", transport=transport, rate_limiter=CountingLimiter(), sleep=lambda _: None
    )
    client.get_json("/x")
    assert len(calls) == 2


def test_paginate_walks_every_page() -> None:
    pages = {None: ([1, 2], "b"), "b": ([3], "c"), "c": ([], None)}
    assert list(paginate(lambda cursor: pages[cursor])) == [1, 2, 3]


class Thing(BaseModel):
    id: int


class EnvelopeClient(TokenClient):
    """A token client whose answers wrap the object in `data`, as ServiceTrade's do."""

    def fetch_token(self) -> tuple[str, float | None]:
        return "t0ken", None

    def answer(self, response: httpx.Response) -> object:
        return self.unwrap(response, "data")


def test_find_model_is_the_object_or_none_when_the_vendor_has_none() -> None:
    transport = ScriptedTransport(httpx.Response(200, json={"id": 7}), httpx.Response(404))
    client = make_client(transport, [])
    assert client.find_model("/things/7", Thing) == Thing(id=7)
    assert client.find_model("/things/8", Thing) is None


def test_find_model_of_a_token_client_reads_through_its_call() -> None:
    transport = ScriptedTransport(
        httpx.Response(200, json={"data": {"id": 7}}), httpx.Response(404, json={"error": "gone"})
    )
    client = EnvelopeClient("https://vendor.test/api", transport=transport, sleep=[].append)
    assert client.find_model("/things/7", Thing, params={"full": 1}) == Thing(id=7)
    assert client.find_model("/things/8", Thing) is None
    first = transport.requests[0]
    assert (first.headers["Authorization"], first.url.params["full"]) == ("Bearer t0ken", "1")
