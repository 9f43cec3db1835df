"""The SQS event source mappings: long-poll each queue on moto and invoke its function.

Like Lambda's poller: batches of up to BatchSize (collected during
MaximumBatchingWindowInSeconds), successful messages deleted, failed ones left to reappear
after the visibility timeout (all of them when the function errors, only those listed in
`batchItemFailures` with ReportBatchItemFailures), and moto moves a message to the DLQ when
it is received again after `maxReceiveCount` receives. Two batches per queue can be in
flight at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from local.stack.aws import aws_client
from local.stack.events import sqs_record
from local.stack.functions import SqsSource
from local.stack.runtime import FunctionRuntime

logger = logging.getLogger(__name__)

WAIT_SECONDS = 1
BATCHES_IN_FLIGHT = 2


@dataclass
class BatchOutcome:
    """What happened to one batch (for logs and tests)."""

    received: int
    deleted: int
    error: str | None = None


def failed_message_ids(
    source: SqsSource, records: list[dict[str, Any]], result: Any
) -> set[str] | None:
    """The message ids to keep for a successful invocation; None means the whole batch failed.

    Without ReportBatchItemFailures every message succeeded. With it, `batchItemFailures`
    lists the failures; an identifier that is empty or not in the batch fails the batch.
    """
    if not source.report_failures or not result:
        return set()
    if not isinstance(result, dict):
        return None
    failures = result.get("batchItemFailures") or []
    if not isinstance(failures, list):
        return None
    batch_ids = {record["messageId"] for record in records}
    ids: set[str] = set()
    for failure in failures:
        item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not item or item not in batch_ids:
            return None
        ids.add(item)
    return ids


class QueuePoller:
    """The pollers of one SQS event source."""

    def __init__(
        self,
        source: SqsSource,
        queue_url: str,
        runtime: FunctionRuntime,
        endpoint: str,
        visibility: tuple[float, float] | None = None,
        batches_in_flight: int = BATCHES_IN_FLIGHT,
    ) -> None:
        """`visibility` is (the queue's local visibility timeout, the template's one).
        `batches_in_flight`: concurrent invocations (Lambda scales out; locally one per worker).

        When the local one is scaled down, a batch in flight is kept invisible for up to the
        template's timeout, as in AWS, where the visibility timeout outlasts the function's;
        only retries after a failure come faster.
        """
        self.source = source
        self.queue_url = queue_url
        self.runtime = runtime
        self.endpoint = endpoint
        self.visibility, self.hold_for = visibility or (0.0, 0.0)
        self.in_flight = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.batches_in_flight = batches_in_flight

    def start(self) -> None:
        """Start the polling threads."""
        for index in range(self.batches_in_flight):
            thread = threading.Thread(
                target=self._run, name=f"sqs-{self.source.function}-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    @property
    def alive(self) -> bool:
        """True when every polling thread runs."""
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def request_stop(self) -> None:
        """Ask the threads to stop after their current receive or batch."""
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling; waits for batches in flight (up to `timeout`)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _receive(self, sqs: Any, count: int, wait: int) -> list[dict[str, Any]]:
        return sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(10, count)),
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])

    def _collect(self, sqs: Any) -> list[dict[str, Any]]:
        batch = self._receive(sqs, self.source.batch_size, WAIT_SECONDS)
        if not batch or self.source.batching_window <= 0:
            return batch
        deadline = time.monotonic() + self.source.batching_window
        while len(batch) < self.source.batch_size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            more = self._receive(sqs, self.source.batch_size - len(batch), 0)
            batch.extend(more)
            if not more:
                self._stop.wait(min(0.1, remaining))
        return batch

    def _run(self) -> None:
        sqs = aws_client("sqs", self.endpoint)
        while not self._stop.is_set():
            try:
                messages = self._collect(sqs)
            except Exception:
                if not self._stop.is_set():
                    logger.exception("receiving from %s failed", self.queue_url)
                    self._stop.wait(1)
                continue
            if not messages:
                continue
            with self._lock:
                self.in_flight += 1
            try:
                self.process(sqs, messages)
            except Exception:
                logger.exception("processing a batch of %s failed", self.source.queue_id)
            finally:
                with self._lock:
                    self.in_flight -= 1

    def _hold(self, sqs: Any, messages: list[dict[str, Any]], done: threading.Event) -> None:
        """Keep a batch in flight invisible (up to the template's visibility timeout)."""
        started = time.monotonic()
        while not done.wait(max(0.2, self.visibility / 2)):
            if time.monotonic() - started + self.visibility > self.hold_for:
                return
            for start in range(0, len(messages), 10):
                entries = [
                    {
                        "Id": str(index),
                        "ReceiptHandle": message["ReceiptHandle"],
                        "VisibilityTimeout": int(self.visibility),
                    }
                    for index, message in enumerate(messages[start : start + 10])
                ]
                try:
                    sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)
                except Exception:
                    logger.debug("could not extend the visibility of a batch", exc_info=True)

    def process(self, sqs: Any, messages: list[dict[str, Any]]) -> BatchOutcome:
        """Invoke the function with one batch and delete what succeeded."""
        records = [sqs_record(message, self.source.queue_arn) for message in messages]
        done = threading.Event()
        holder = None
        if self.hold_for > self.visibility > 0:
            holder = threading.Thread(target=self._hold, args=(sqs, messages, done), daemon=True)
            holder.start()
        try:
            invocation = self.runtime.invoke(self.source.function, {"Records": records})
        finally:
            done.set()
            if holder is not None:
                holder.join()
        if not invocation.ok:
            error = (invocation.error or {}).get("errorType", "error")
            logger.info("%s failed a batch of %d (%s)", self.source.function, len(records), error)
            return BatchOutcome(len(records), 0, error)
        keep = failed_message_ids(self.source, records, invocation.result)
        if keep is None:
            logger.warning(
                "%s returned invalid batchItemFailures: the batch fails", self.source.function
            )
            return BatchOutcome(len(records), 0, "InvalidBatchItemFailures")
        succeeded = [m for m in messages if m["MessageId"] not in keep]
        for start in range(0, len(succeeded), 10):
            entries = [
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(succeeded[start : start + 10])
            ]
            sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return BatchOutcome(len(records), len(succeeded))


class SqsPoller:
    """Every SQS event source of the stack."""

    def __init__(self, pollers: Iterable[QueuePoller], endpoint: str) -> None:
        self.pollers = list(pollers)
        self.endpoint = endpoint

    def start(self) -> None:
        """Start polling every queue."""
        for poller in self.pollers:
            poller.start()

    def stop(self) -> None:
        """Stop polling (all queues in parallel)."""
        for poller in self.pollers:
            poller.request_stop()
        for poller in self.pollers:
            poller.stop()

    @property
    def alive(self) -> bool:
        """True when every poller runs."""
        return all(poller.alive for poller in self.pollers)

    def busy_queues(self) -> list[str]:
        """The source queues that still hold messages (visible, in flight or delayed)."""
        sqs = aws_client("sqs", self.endpoint)
        busy: list[str] = []
        for poller in self.pollers:
            attributes = sqs.get_queue_attributes(
                QueueUrl=poller.queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            if poller.in_flight or any(int(v) for v in attributes.values()):
                busy.append(poller.source.queue_id)
        return busy

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every source queue is empty and no batch is in flight.

        Messages that failed count until they are processed again or moved to their DLQ.
        Raises TimeoutError naming the busy queues.
        """
        deadline = time.monotonic() + timeout
        quiet = 0
        busy: list[str] = []
        while time.monotonic() < deadline:
            busy = self.busy_queues()
            quiet = 0 if busy else quiet + 1
            if quiet >= 2:
                return
            time.sleep(0.1)
        raise TimeoutError(f"queues still busy after {timeout} s: {', '.join(busy)}")
