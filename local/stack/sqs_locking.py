"""moto's SQS made safe for the local stack's threads (real SQS is; moto 5 is not).

The local stack serves moto from a threaded werkzeug server, and several workers receive,
delete and re-time messages of one queue at the same moment. moto mutates a queue's message
list without its lock in three places, and each loses or doubles work under load:

- `Queue.delete_message` rebuilds the list from a snapshot, so a message appended (sent, or
  moved to the dead-letter queue) meanwhile vanishes;
- `SQSBackend.receive_message` removes dead-lettered messages and pending marks unlocked
  (`list.remove(x): x not in list` answers a 500 when two receives race);
- `SQSBackend.purge_queue` likewise.

`make_sqs_thread_safe` runs each of them under the queue's own lock (the `Condition` moto
already holds per queue and takes to append), so a queue's mutations are serial. A long poll
waits on that condition without holding it, as moto's own loop does. `ChangeMessageVisibility`
is left unlocked: the local poller's heartbeat (`poller.py`, every half visibility timeout)
then came late and batches in flight were delivered twice.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from moto.sqs import models

_PATCHED = "_fleetbridge_thread_safe"


def make_sqs_thread_safe() -> None:
    """Serialise every mutation of a moto SQS queue on the queue's lock (idempotent)."""
    if getattr(models, _PATCHED, False):
        return
    backend, queue = models.SQSBackend, models.Queue
    backend.receive_message = _receive_under_lock(backend.receive_message)  # type: ignore[method-assign]
    backend.purge_queue = _by_queue_name(backend.purge_queue)  # type: ignore[method-assign]
    queue.delete_message = _on_own_queue(queue.delete_message)  # type: ignore[method-assign]
    setattr(models, _PATCHED, True)


def _on_own_queue(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(queue: Any, *args: Any, **kwargs: Any) -> Any:
        with queue._messages_lock:
            return method(queue, *args, **kwargs)

    return locked


def _by_queue_name(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        with backend.get_queue(queue_name)._messages_lock:
            return method(backend, queue_name, *args, **kwargs)

    return locked


def _receive_under_lock(receive: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(receive)
    def locked(
        backend: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> Any:
        lock = backend.get_queue(queue_name)._messages_lock
        deadline = time.monotonic() + float(wait_seconds_timeout or 0)
        with lock:
            while True:
                # one pass over the queue (no wait inside: it would hold the lock)
                result = receive(
                    backend, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
                remaining = deadline - time.monotonic()
                if result or remaining <= 0:
                    return result
                # woken by a send; at most 1 s, as a message also turns visible with time
                lock.wait(min(1.0, remaining))

    return locked
