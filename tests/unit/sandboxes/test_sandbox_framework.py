"""Framework pieces: rate limiter, fault config, webhook emitter, time factor (the server on a
real port: tests/integration/test_sandbox_server.py)."""

from __future__ import annotations

import pytest

from local.sandboxes import app as app_module
from local.sandboxes import webhooks
from local.sandboxes.faults import FaultConfig, FaultInjector
from local.sandboxes.ratelimit import RateLimitConfig, RateLimiter
from local.sandboxes.webhooks import WebhookEmitter


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_refuses_until_the_oldest_hit_expires() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimitConfig(limit=2, window_seconds=10), monotonic=clock)
    assert [limiter.hit("a").remaining for _ in range(2)] == [1, 0]
    clock.now += 4
    refused = limiter.hit("a")
    assert not refused.allowed and refused.retry_after == pytest.approx(6)
    assert refused.retry_after_header == "6"
    assert limiter.hit("b").allowed  # per account
    clock.now += 6
    assert limiter.hit("a").allowed


def test_time_factor_scales_windows_and_blocks() -> None:
    clock = FakeClock()
    config = RateLimitConfig(limit=1, window_seconds=60, block_seconds=60)
    limiter = RateLimiter(config, time_factor=60, monotonic=clock)
    assert limiter.hit("a").allowed
    refused = limiter.hit("a")
    assert refused.retry_after == pytest.approx(1) and refused.retry_after_header == "1"
    clock.now += 0.5
    assert limiter.hit("a").retry_after == pytest.approx(0.5)  # blocked, not re-blocked
    clock.now += 0.6
    assert limiter.hit("a").allowed


def test_retry_after_header_is_at_least_one_second() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimitConfig(1, 1), time_factor=1000, monotonic=clock)
    limiter.hit("a")
    assert limiter.hit("a").retry_after_header == "1"


def test_fault_injector_is_deterministic_with_a_seed() -> None:
    injector = FaultInjector()
    config = FaultConfig.parse({"status_429": 0.2, "status_5xx": 0.2, "timeout": 0.2, "seed": 3})
    injector.configure(config)
    first = [injector.roll() for _ in range(50)]
    injector.configure(config)
    assert [injector.roll() for _ in range(50)] == first
    assert {None, "status_429", "status_5xx", "timeout"} == set(first)
    injector.reset()
    assert injector.roll() is None


def test_synchronous_emitter_retries_three_times() -> None:
    calls: list[str] = []

    def flaky(url: str, body: bytes, headers: dict[str, str]) -> None:
        calls.append(url)
        if len(calls) < 3:
            raise ConnectionError("receiver down")

    emitter = WebhookEmitter(flaky)
    delivery = emitter.send("http://h", "e", b"{}", {})
    assert (delivery.status, delivery.attempts) == ("delivered", 3)

    def broken(url: str, body: bytes, headers: dict[str, str]) -> None:
        raise ConnectionError("receiver down")

    failed = WebhookEmitter(broken).send("http://h", "e", b"{}", {})
    assert (failed.status, failed.attempts) == ("failed", 4)
    assert "receiver down" in (failed.last_error or "")


def test_background_emitter_delivers_from_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[bytes] = []
    failures = iter([True, False, False, False])

    def fake_http(url: str, body: bytes, headers: dict[str, str]) -> None:
        if next(failures):
            raise ConnectionError("first try fails")
        received.append(body)

    monkeypatch.setattr(webhooks, "http_sender", fake_http)
    emitter = WebhookEmitter(retry_delay=0.01)
    for i in range(3):
        emitter.send("http://h", "e", str(i).encode(), {})
    assert emitter.wait_idle(2.0)
    assert sorted(received) == [b"0", b"1", b"2"]
    assert [d.status for d in emitter.deliveries()] == ["delivered"] * 3


def test_time_factor_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETBRIDGE_SANDBOX_TIME_FACTOR", "60")
    sandboxes = app_module.create_app().extensions["fleetbridge_sandboxes"]
    assert {s.time_factor for s in sandboxes.values()} == {60.0}
    monkeypatch.setenv("FLEETBRIDGE_SANDBOX_TIME_FACTOR", "0")
    with pytest.raises(ValueError):
        app_module.create_app()
    monkeypatch.delenv("FLEETBRIDGE_SANDBOX_TIME_FACTOR")
    assert app_module.time_factor_from_env() == 1.0
