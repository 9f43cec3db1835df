"""Per-connection rate limits, shared by every worker of the connection.

A vendor's limit is per account, not per process. Time is cut into slots of
`period / (requests - 1)` times a small margin; each vendor call claims the first free slot at or
after now with a conditional put (atomic across processes) and waits for its slot to start.
Any window of `period` then holds at most `requests` slot starts with room to spare for clock
and scheduling jitter (spacing by `period / requests` would allow exactly `requests`, and one
late call would make it `requests + 1`: the shared-limiter test caught that). A limit of one
request a period (e.g. a vendor's per-endpoint limit) has no such room: two calls in neighbouring
slots could come moments apart. It keeps one item instead, when the next call may start, moved on
by `period` (plus the margin) past each call's start with a compare-and-set
(`SharedIntervalLimiter`): a call after a quiet period goes at once, the next one a period later.

Acquiring is bounded by the invocation (`core.budget`): a slot starting later than the invocation
can wait is not claimed and `SlotTooLate` says how long to wait instead (the client base hands the
message back to its queue for that long).
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from botocore.exceptions import ClientError

from fleetbridge.core import budget
from fleetbridge.core.config import get_settings
from fleetbridge.core.dynamo import table

SAFETY_MARGIN = 1.02
#: Real seconds added to a one-a-period turn: a call that finds its turn free goes once its
#: conditional write is done, a write a sped-up clock (FLEETBRIDGE_RATE_TIME_FACTOR) does not
#: shorten; at 60x the 2 % margin alone is 20 ms, less than a loaded moto write takes.
TURN_SLACK_SECONDS = 0.05
MAX_CLAIMS = 500


@dataclass(frozen=True)
class RateLimit:
    """`requests` per `per_seconds`, as the vendor documents it."""

    requests: int
    per_seconds: float

    def slot_seconds(self) -> float:
        """Length of one slot, scaled by FLEETBRIDGE_RATE_TIME_FACTOR (local benchmarks)."""
        factor = float(os.environ.get("FLEETBRIDGE_RATE_TIME_FACTOR", "1") or 1)
        return self.per_seconds / max(self.requests - 1, 1) * SAFETY_MARGIN / factor


class SlotTooLate(Exception):
    """The next free slot starts later than the invocation can wait (nothing was claimed)."""

    def __init__(self, key: str, delay: float) -> None:
        super().__init__(f"rate limiter {key}: the next slot starts in {delay:.1f} s")
        self.delay = delay


class RateLimiter(Protocol):
    """Blocks until one more call is allowed (`SlotTooLate` when that is past the budget)."""

    def acquire(self) -> None: ...


def _check_budget(key: str, delay: float) -> None:
    """`SlotTooLate` when waiting `delay` seconds would overrun the invocation."""
    if delay > 0 and not budget.can_wait(delay):
        raise SlotTooLate(key, delay)


class LocalRateLimiter:
    """Same slot scheme inside one process (tests, and single-process tools)."""

    def __init__(self, limit: RateLimit, key: str = "local") -> None:
        self._key = key
        self._slot = limit.slot_seconds()
        self._next_free = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Wait for the next slot (a slot after the last call's), or `SlotTooLate`."""
        with self._lock:
            start = max(time.monotonic(), self._next_free)
            _check_budget(self._key, start - time.monotonic())
            self._next_free = start + self._slot
        delay = start - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class SharedRateLimiter:
    """Slots claimed in DynamoDB (`RATE#<key>` / `SLOT#<n>`), shared by every process."""

    def __init__(self, key: str, limit: RateLimit, table_name: str | None = None) -> None:
        self._key = key
        self._slot = limit.slot_seconds()
        self._table = table(table_name or get_settings().data_table)
        self._hint = 0  # the slot this process last claimed: later claims start after it

    def acquire(self) -> None:
        """Claim the first free slot and wait for its start, or `SlotTooLate` (unclaimed)."""
        slot = max(math.floor(time.time() / self._slot), self._hint)
        for _ in range(MAX_CLAIMS):
            _check_budget(self._key, slot * self._slot - time.time())
            if self._claim(slot):
                self._hint = slot + 1
                delay = slot * self._slot - time.time()
                if delay > 0:
                    time.sleep(delay)
                return
            slot += 1
        raise RuntimeError(f"rate limiter {self._key}: no free slot in {MAX_CLAIMS} tries")

    def _claim(self, slot: int) -> bool:
        try:
            self._table.put_item(
                Item={
                    "pk": f"RATE#{self._key}",
                    "sk": f"SLOT#{slot:016d}",
                    "ttl": int(time.time()) + 3600,
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


class SharedIntervalLimiter:
    """One call a period for every process: the item `RATE#<key>` / `NEXT` holds when the next
    call may start; each call moves it on with a conditional put on the value it read."""

    def __init__(self, key: str, limit: RateLimit, table_name: str | None = None) -> None:
        self._key = key
        self._interval = limit.slot_seconds() + TURN_SLACK_SECONDS
        self._table = table(table_name or get_settings().data_table)

    def acquire(self) -> None:
        """Wait until a period after the last call's start, or `SlotTooLate` (nothing moved)."""
        for _ in range(MAX_CLAIMS):
            key = {"pk": f"RATE#{self._key}", "sk": "NEXT"}
            item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
            previous = item.get("next_free") if item else None
            start = max(time.time(), float(previous or 0))
            _check_budget(self._key, start - time.time())
            if self._swap(key, previous, start + self._interval):
                delay = start - time.time()
                if delay > 0:
                    time.sleep(delay)
                return
        raise RuntimeError(f"rate limiter {self._key}: no turn in {MAX_CLAIMS} tries")

    def _swap(self, key: dict[str, str], previous: Decimal | None, next_free: float) -> bool:
        """Store `next_free` if the item still holds `previous` (another process may have
        taken the turn since it was read)."""
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if previous is None
            else {
                "ConditionExpression": "next_free = :previous",
                "ExpressionAttributeValues": {":previous": previous},
            }
        )
        item = key | {"next_free": Decimal(f"{next_free:.6f}"), "ttl": int(time.time()) + 3600}
        try:
            self._table.put_item(Item=item, **condition)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


_local_limiters: dict[str, LocalRateLimiter] = {}
_local_lock = threading.Lock()


def limiter_for(key: str, limit: RateLimit, *, shared: bool = True) -> RateLimiter:
    """The limiter for `key` (vendor + account, and endpoint when the vendor limits endpoints
    apart). Shared through DynamoDB unless `shared=False`."""
    if shared:
        if limit.requests <= 1:
            return SharedIntervalLimiter(key, limit)
        return SharedRateLimiter(key, limit)
    with _local_lock:
        return _local_limiters.setdefault(key, LocalRateLimiter(limit, key))
