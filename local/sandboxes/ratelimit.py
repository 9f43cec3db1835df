"""Per-account sliding-window rate limiter for the vendor sandboxes.

Windows and blocks are given in the vendor's own seconds and divided by the sandbox time factor,
so a time factor of 60 turns "60 requests a minute" into "60 requests a second".
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimitConfig:
    """A vendor's documented limit: ``limit`` requests per ``window_seconds``.

    ``block_seconds`` > 0 means the account is locked out for that long once it goes over
    (Keycafe); 0 means requests are refused only until the window has room again.
    """

    limit: int
    window_seconds: float
    block_seconds: float = 0.0


@dataclass(frozen=True)
class RateDecision:
    """The outcome of one request against the limiter."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: float  # real seconds until a retry can succeed (0 when allowed)

    @property
    def retry_after_header(self) -> str:
        """``Retry-After`` value: whole seconds, at least 1."""
        return str(max(1, math.ceil(self.retry_after)))


class RateLimiter:
    """Sliding-window log per account, thread safe."""

    def __init__(
        self,
        config: RateLimitConfig,
        time_factor: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.time_factor = time_factor
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}

    @property
    def window(self) -> float:
        """The window in real seconds (scaled by the time factor)."""
        return self.config.window_seconds / self.time_factor

    @property
    def block(self) -> float:
        """The lock-out in real seconds (scaled by the time factor)."""
        return self.config.block_seconds / self.time_factor

    def reconfigure(self, config: RateLimitConfig) -> None:
        """Switch to another limit and forget every account's history."""
        with self._lock:
            self.config = config
            self._hits.clear()
            self._blocked_until.clear()

    def reset(self) -> None:
        """Forget every account's history."""
        self.reconfigure(self.config)

    def hit(self, account: str) -> RateDecision:
        """Count one request for ``account`` and say whether it may proceed."""
        limit = self.config.limit
        with self._lock:
            now = self._monotonic()
            blocked_until = self._blocked_until.get(account, 0.0)
            if blocked_until > now:
                return RateDecision(False, limit, 0, blocked_until - now)
            hits = self._hits.setdefault(account, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= limit:
                if self.block > 0:
                    self._blocked_until[account] = now + self.block
                    return RateDecision(False, limit, 0, self.block)
                return RateDecision(False, limit, 0, hits[0] + self.window - now)
            hits.append(now)
            return RateDecision(True, limit, limit - len(hits), 0.0)

    def peek(self, account: str) -> int:
        """Requests still available to ``account`` in the current window (no side effect)."""
        with self._lock:
            now = self._monotonic()
            if self._blocked_until.get(account, 0.0) > now:
                return 0
            hits = self._hits.get(account, deque())
            return max(0, self.config.limit - sum(1 for t in hits if t > now - self.window))
