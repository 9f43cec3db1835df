"""Issued session/access tokens for the sandboxes whose auth is a login call (GPS Insight, Driveri).

A token lives ``ttl_seconds`` of the vendor's time, i.e. ``ttl_seconds / time_factor`` real
seconds, like every other sandbox clock and window.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Session:
    """One issued token: the account it belongs to and when it stops working (monotonic)."""

    account: str
    expires_at: float


class TokenStore:
    """Thread-safe token -> session map with expiry on the (scaled) sandbox clock."""

    def __init__(
        self, time_factor: float = 1.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.time_factor = time_factor
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def issue(self, account: str, ttl_seconds: float) -> str:
        """A new random token for ``account`` valid ``ttl_seconds`` vendor seconds."""
        token = secrets.token_urlsafe(24)
        expires_at = self._monotonic() + ttl_seconds / self.time_factor
        with self._lock:
            now = self._monotonic()
            self._sessions = {t: s for t, s in self._sessions.items() if s.expires_at > now}
            self._sessions[token] = Session(account, expires_at)
        return token

    def check(self, token: str) -> tuple[str | None, str]:
        """``(account, "")`` for a live token, else ``(None, "unknown" | "expired")``."""
        with self._lock:
            session = self._sessions.get(token)
        if session is None:
            return None, "unknown"
        if session.expires_at <= self._monotonic():
            return None, "expired"
        return session.account, ""

    def expire_all(self) -> None:
        """Make every issued token expired (kept, so using one answers "expired")."""
        with self._lock:
            now = self._monotonic()
            self._sessions = {t: Session(s.account, now) for t, s in self._sessions.items()}

    def clear(self) -> None:
        """Forget every token."""
        with self._lock:
            self._sessions.clear()

    def count(self) -> int:
        """Tokens issued and still live."""
        now = self._monotonic()
        with self._lock:
            return sum(1 for s in self._sessions.values() if s.expires_at > now)
