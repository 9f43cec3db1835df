"""Issued session/access tokens for the sandboxes whose auth is a login call (GPS Insight,
Driveri, Striven), and the one client-credentials token exchange (Driveri, Striven).

A token lives ``ttl_seconds`` of the vendor's time, i.e. ``ttl_seconds / time_factor`` real
seconds, like every other sandbox clock and window.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from flask import request

from local.sandboxes.framework import SandboxError, VendorSandbox


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


def token_ttl(
    values: dict[str, Any], default: float, invalid: Callable[[str], SandboxError]
) -> float:
    """``values["token_ttl_seconds"]`` (else ``default``) as a positive number of seconds."""
    ttl = values.get("token_ttl_seconds", default)
    if not isinstance(ttl, int | float) or isinstance(ttl, bool) or ttl <= 0:
        raise invalid("token_ttl_seconds must be a positive number")
    return float(ttl)


class ClientCredentialsSandbox(VendorSandbox):
    """A vendor whose token endpoint (``token_path``) takes HTTP Basic ``client_id:client_secret``
    and whose every other call a Bearer token it issued (Driveri, Striven).

    Credentials hold ``client_id``, ``client_secret`` and ``token_ttl_seconds``; subclasses
    route ``token_path`` to a view that checks its own body and returns ``issue_token()``.
    """

    token_path: ClassVar[str]
    token_type: ClassVar[str] = "Bearer"

    def on_reset(self) -> None:
        """No tokens."""
        self.tokens = TokenStore(self.time_factor)

    def authenticate(self) -> str | None:
        """The token call checks Basic client credentials; every other call a Bearer token."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        creds = self.credentials
        if request.path.rstrip("/").endswith(self.token_path):
            if scheme.lower() != "basic":
                raise self.unauthorized("HTTP Basic client credentials are required")
            try:
                client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            valid = client_id == creds["client_id"] and hmac.compare_digest(
                secret, creds["client_secret"]
            )
            return client_id if valid else None
        if scheme.lower() != "bearer" or not value.strip():
            raise self.unauthorized("A Bearer access token is required")
        account, problem = self.tokens.check(value.strip())
        if account is None:
            raise self.unauthorized(f"The access token is {problem}")
        return account

    def issue_token(self) -> dict[str, Any]:
        """The token answer for the authenticated client (checked by ``authenticate``)."""
        ttl = float(self.credentials["token_ttl_seconds"])
        token = self.tokens.issue(self.account(), ttl)
        return {"access_token": token, "token_type": self.token_type, "expires_in": int(ttl)}
