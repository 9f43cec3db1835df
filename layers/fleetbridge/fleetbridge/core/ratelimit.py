"""Per-connection rate limits, shared by every worker of the connection.

A vendor's limit is per account, not per process. Time is cut into slots of
`period / (requests - 1)` times a small margin; each vendor call claims the first free slot at or
after now with a conditional put (atomic across processes) and waits for its slot to start.
Any window of `period` then holds at most `requests` slot starts with room to spare for clock
and scheduling jitter (spacing by `period / requests` would allow exactly `requests`, and one
late call would make it `requests + 1`: the shared-limiter test caught that).
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from botocore.exceptions import ClientError

from fleetbridge.core.config import get_settings
from fleetbridge.core.dynamo import table

SAFETY_MARGIN = 1.02
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


class RateLimiter(Protocol):
    """Blocks until one more call is allowed."""

    def acquire(self) -> None: ...


class LocalRateLimiter:
    """Same slot scheme inside one process (tests, and single-process tools)."""

    def __init__(self, limit: RateLimit) -> None:
        self._slot = limit.slot_seconds()
        self._next_free = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            start = max(time.monotonic(), self._next_free)
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
        slot = max(math.floor(time.time() / self._slot), self._hint)
        for _ in range(MAX_CLAIMS):
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


_local_limiters: dict[str, LocalRateLimiter] = {}
_local_lock = threading.Lock()


def limiter_for(key: str, limit: RateLimit, *, shared: bool = True) -> RateLimiter:
    """The limiter for `key` (vendor + account). Shared through DynamoDB unless `shared=False`."""
    if shared:
        return SharedRateLimiter(key, limit)
    with _local_lock:
        return _local_limiters.setdefault(key, LocalRateLimiter(limit))
