"""Fault injection for the vendor sandboxes (``POST /_sandbox/<vendor>/faults``).

One die per vendor request picks at most one fault, with these probabilities:

- ``status_429``: refused before anything happens, with the vendor's own 429 headers
  (``retry_after_s`` overrides the Retry-After of vendors that send one, as sent: real
  seconds, not scaled by the time factor, e.g. 90 for a Retry-After longer than a 60 s
  function);
- ``status_5xx``: a 503 before anything happens;
- ``timeout``: held ``timeout_ms``, then a 504, nothing done;
- ``lost_response``: the request is carried out (a write is applied), then its answer is lost:
  a 503 or a dropped connection (no answer at all), half and half.

``latency_ms`` delays every request; ``methods`` (e.g. ``["POST", "PATCH"]``) limits the faults
to requests of those methods.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

PROBABILITY_KEYS = ("status_429", "status_5xx", "timeout", "lost_response")
LOST_AS = ("503", "drop")


class FaultConfigError(ValueError):
    """The faults body is not valid."""


@dataclass(frozen=True)
class FaultConfig:
    """Probabilities (0..1) of each fault per request, plus fixed latency and timeout hold."""

    status_429: float = 0.0
    status_5xx: float = 0.0
    timeout: float = 0.0
    lost_response: float = 0.0
    latency_ms: float = 0.0
    timeout_ms: float = 5000.0
    seed: int | None = None
    retry_after_s: float | None = None
    methods: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> FaultConfig:
        """Validate a control-interface body; ``{}`` gives the no-fault configuration."""
        unknown = set(body) - {
            *PROBABILITY_KEYS,
            "latency_ms",
            "timeout_ms",
            "seed",
            "retry_after_s",
            "methods",
        }
        if unknown:
            raise FaultConfigError(f"unknown fault keys: {sorted(unknown)}")
        values: dict[str, Any] = {}
        for key in PROBABILITY_KEYS:
            value = body.get(key, 0)
            if not _is_number(value) or not 0 <= value <= 1:
                raise FaultConfigError(f"{key} must be a probability between 0 and 1")
            values[key] = float(value)
        if sum(values.values()) > 1:
            raise FaultConfigError("the probabilities must add up to at most 1")
        for key, default in (("latency_ms", 0.0), ("timeout_ms", 5000.0)):
            value = body.get(key, default)
            if not _is_number(value) or value < 0:
                raise FaultConfigError(f"{key} must be a non-negative number")
            values[key] = float(value)
        seed = body.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise FaultConfigError("seed must be an integer")
        retry_after = body.get("retry_after_s")
        if retry_after is not None and (not _is_number(retry_after) or retry_after < 0):
            raise FaultConfigError("retry_after_s must be a non-negative number")
        methods = body.get("methods")
        if methods is not None and (
            not isinstance(methods, list) or not all(isinstance(m, str) for m in methods)
        ):
            raise FaultConfigError("methods must be a list of HTTP methods")
        chosen = tuple(m.upper() for m in methods) if methods is not None else None
        return cls(seed=seed, retry_after_s=retry_after, methods=chosen, **values)

    def to_json(self) -> dict[str, Any]:
        """The configuration as the control interface shows it."""
        return {
            "status_429": self.status_429,
            "status_5xx": self.status_5xx,
            "timeout": self.timeout,
            "lost_response": self.lost_response,
            "latency_ms": self.latency_ms,
            "timeout_ms": self.timeout_ms,
            "seed": self.seed,
            "retry_after_s": self.retry_after_s,
            "methods": list(self.methods) if self.methods is not None else None,
        }


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class FaultInjector:
    """Rolls one die per vendor request; deterministic when the config has a seed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.config = FaultConfig()
        self._rng = random.Random()

    def configure(self, config: FaultConfig) -> None:
        """Replace the configuration (and reseed the generator)."""
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)

    def reset(self) -> None:
        """No faults."""
        self.configure(FaultConfig())

    def roll(self, method: str = "GET") -> str | None:
        """The fault for a request: one of ``PROBABILITY_KEYS`` or None."""
        with self._lock:
            config = self.config
            if not any(getattr(config, key) for key in PROBABILITY_KEYS):
                return None
            if config.methods is not None and method.upper() not in config.methods:
                return None
            draw = self._rng.random()
        edge = 0.0
        for key in PROBABILITY_KEYS:
            edge += getattr(config, key)
            if draw < edge:
                return key
        return None

    def lost_as(self) -> str:
        """How a lost answer is lost: ``"503"`` or ``"drop"`` (the connection closes)."""
        with self._lock:
            return LOST_AS[self._rng.random() < 0.5]
