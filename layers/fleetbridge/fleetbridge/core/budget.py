"""What is left of the current invocation's time (docs/reliability.md, "Retry bounds").

The queue worker starts a budget from the Lambda context (`get_remaining_time_in_millis`) for
each batch. Whoever would wait (the vendor client honouring Retry-After or backing off) asks
`can_wait(seconds)` first: a wait that would end inside the safety margin is not taken, the
message goes back to its queue with that delay instead (`RetryLater`). Claims taken during the
invocation expire with it (`claim_expiry`), so a killed or timed-out worker never blocks the
redelivery. Without a budget (API calls, scripts, tests) nothing is bounded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

#: The margin kept at the end of an invocation: at most this, at least a quarter of its time.
MAX_MARGIN_SECONDS = 5.0
#: No record is started with less than this left, whatever the margin (no record is that quick).
MIN_START_SECONDS = 1.0


@dataclass(frozen=True)
class Budget:
    """The invocation's deadline (monotonic seconds) and the margin kept before it."""

    deadline: float
    margin: float
    total: float = 0.0  # the invocation's whole time (its function's timeout, about)

    def remaining(self) -> float:
        """Seconds left before the deadline."""
        return self.deadline - time.monotonic()


_current: ContextVar[Budget | None] = ContextVar("fleetbridge_budget", default=None)


def budget_of(context: Any) -> Budget | None:
    """The budget of a Lambda context (None when it cannot tell its remaining time)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    try:
        seconds = float(remaining()) / 1000
    except (TypeError, ValueError):
        return None
    if seconds <= 0:
        return None
    return Budget(time.monotonic() + seconds, min(MAX_MARGIN_SECONDS, seconds / 4), seconds)


@contextmanager
def invocation(context: Any) -> Iterator[Budget | None]:
    """Bound every wait inside the block by `context`'s remaining time."""
    token = _current.set(budget_of(context))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def current() -> Budget | None:
    """The running invocation's budget, if any."""
    return _current.get()


def can_wait(seconds: float) -> bool:
    """Whether sleeping `seconds` still leaves the safety margin of the invocation."""
    budget = _current.get()
    return budget is None or seconds <= budget.remaining() - budget.margin


def can_start() -> bool:
    """Whether there is time left to start one more record: the margin and at least
    `MIN_START_SECONDS` (without a budget, always)."""
    budget = _current.get()
    return budget is None or budget.remaining() >= max(budget.margin, MIN_START_SECONDS)


def claim_expiry(now: datetime, default: timedelta) -> datetime:
    """When a claim taken `now` must lapse: at the end of this invocation (a worker killed at
    its timeout leaves nothing that blocks the retry), else after `default`."""
    budget = _current.get()
    if budget is None:
        return now + default
    return now + timedelta(seconds=max(budget.remaining(), 0.0))


def time_to_hand_over(started: float, time_budget: float | None, *, progressed: bool) -> bool:
    """Whether a long run (a reconciliation) should stop before its next step and queue a
    continuation: its own `time_budget` (seconds since the monotonic `started`) is spent, or
    the invocation has less than two margins left (room for one more step) and this part has
    made progress (so every part moves the run on, even when reading took most of its time).
    A run killed at its timeout would burn a receive and start over."""
    if time_budget is not None and time.monotonic() - started > time_budget:
        return True
    budget = _current.get()
    return progressed and budget is not None and budget.remaining() < 2 * budget.margin
