"""Webhook delivery for the vendor sandboxes.

Deliveries go out from a small pool of daemon threads (or synchronously through an injected
``webhook_sender`` in tests), are retried up to three times after a failure (0.5 s times the
attempt number apart, without holding a worker; synchronous deliveries retry at once), and are
kept in a log that ``GET /_sandbox/<vendor>/webhook-deliveries`` shows.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

WebhookSender = Callable[[str, bytes, dict[str, str]], None]

logger = logging.getLogger(__name__)


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def http_sender(url: str, body: bytes, headers: dict[str, str]) -> None:
    """POST ``body`` to ``url`` through one shared client; raise unless the answer is 2xx."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(timeout=5.0)
    _client.post(url, content=body, headers=headers).raise_for_status()


@dataclass
class Delivery:
    """One webhook delivery and its outcome."""

    url: str
    event: str
    body: bytes
    headers: dict[str, str]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: str = "pending"  # pending | delivered | failed
    attempts: int = 0
    last_error: str | None = None
    created_at: float = field(default_factory=time.time)
    delivered_at: float | None = None
    redelivery_of: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The delivery as the control interface shows it (body as text)."""
        return {
            "id": self.id,
            "url": self.url,
            "event": self.event,
            "headers": self.headers,
            "body": self.body.decode(),
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "created_at": self.created_at,
            "delivered_at": self.delivered_at,
            "redelivery_of": self.redelivery_of,
        }


class WebhookEmitter:
    """Sends deliveries with retries; synchronous when a sender is injected."""

    def __init__(
        self,
        sender: WebhookSender | None = None,
        *,
        workers: int = 4,
        retries: int = 3,
        retry_delay: float = 0.5,
    ) -> None:
        self._synchronous = sender is not None
        self._sender: WebhookSender = sender or http_sender
        self._workers = workers
        self.retries = retries
        self.retry_delay = retry_delay  # seconds times the attempt number (background only)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._deliveries: dict[str, Delivery] = {}
        self._queue: queue.Queue[Delivery] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._names = itertools.count(1)

    def send(self, url: str, event: str, body: bytes, headers: dict[str, str]) -> Delivery:
        """Record and dispatch one delivery."""
        return self._dispatch(Delivery(url=url, event=event, body=body, headers=dict(headers)))

    def redeliver(self, delivery_id: str) -> Delivery | None:
        """Send the identical body and headers of an earlier delivery again (None if unknown)."""
        with self._lock:
            original = self._deliveries.get(delivery_id)
        if original is None:
            return None
        copy = Delivery(
            url=original.url,
            event=original.event,
            body=original.body,
            headers=dict(original.headers),
            redelivery_of=original.id,
        )
        return self._dispatch(copy)

    def deliveries(self) -> list[Delivery]:
        """Every delivery so far, oldest first."""
        with self._lock:
            return list(self._deliveries.values())

    def clear(self) -> None:
        """Forget the delivery log (deliveries in flight still finish)."""
        with self._lock:
            self._deliveries.clear()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until no delivery is in flight; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def _dispatch(self, delivery: Delivery) -> Delivery:
        with self._lock:
            self._deliveries[delivery.id] = delivery
            self._pending += 1
        if self._synchronous:
            self._deliver(delivery)
        else:
            self._ensure_workers()
            self._queue.put(delivery)
        return delivery

    def _ensure_workers(self) -> None:
        with self._lock:
            while len(self._threads) < self._workers:
                thread = threading.Thread(
                    target=self._work, name=f"sandbox-webhooks-{next(self._names)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while True:
            delivery = self._queue.get()
            if self._attempt(delivery):
                self._finish()
            else:  # retry later without holding this worker
                timer = threading.Timer(
                    self.retry_delay * delivery.attempts, self._queue.put, args=(delivery,)
                )
                timer.daemon = True
                timer.start()

    def _deliver(self, delivery: Delivery) -> None:
        """Synchronous delivery: every attempt at once."""
        while not self._attempt(delivery):
            pass
        self._finish()

    def _attempt(self, delivery: Delivery) -> bool:
        """One attempt; True when the delivery is settled (delivered, or out of retries)."""
        delivery.attempts += 1
        try:
            self._sender(delivery.url, delivery.body, delivery.headers)
        except Exception as exc:  # any failure of the receiver is retried
            delivery.last_error = f"{type(exc).__name__}: {exc}"
            logger.warning(
                "webhook %s to %s failed (attempt %d): %s",
                delivery.event,
                delivery.url,
                delivery.attempts,
                delivery.last_error,
            )
            if delivery.attempts <= self.retries:
                return False
            delivery.status = "failed"
            return True
        delivery.status = "delivered"
        delivery.delivered_at = time.time()
        return True

    def _finish(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()
