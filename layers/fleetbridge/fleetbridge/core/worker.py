"""The one queue worker: partial batch failures, idempotency per event, one notice per failure.

A `<flow>_worker` function calls `process_batch` and nothing else. Other queue functions (the
routing solver) build on the same pieces: `Once` (a handler run once per event), `measured`
(the record's metrics and `RunDuration`), `receive_count` (is this the last retry?) and
`run_batch` (the SQS batch with partial failures).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from fleetbridge.core import budget, flow_settings, health, idempotency
from fleetbridge.core.activity import ActivityLog
from fleetbridge.core.aws import clears_with_clients
from fleetbridge.core.connections import ConnectionRepository
from fleetbridge.core.errors import AuthError, NotFoundError, RetryLater
from fleetbridge.core.observability import RUN_DURATION, duration, logger, metric_scope
from fleetbridge.core.queue import WorkMessage, delay_retry, publish
from fleetbridge.core.registry import get_flow

#: Must match the queues' RedrivePolicy maxReceiveCount in template.yaml.
MAX_RECEIVES = int(os.environ.get("MAX_RECEIVE_COUNT", "5"))


class Once:
    """`handler` run once per event: Powertools idempotency on the Idempotency table, keyed by
    the JMESPath `key` over the keyword argument `argument`; a repeat returns the stored result.

    Built on first use, not at import (cold start), and rebuilt when the AWS clients are.
    """

    def __init__(self, handler: Callable[..., Any], key: str, *, argument: str = "message"):
        self._handler = handler
        self._key = key
        self._argument = argument
        self._config: IdempotencyConfig | None = None
        self._wrapped: Callable[..., Any] | None = None
        clears_with_clients(self.clear)

    def config(self) -> IdempotencyConfig:
        """The idempotency configuration (register the Lambda context on it per invocation)."""
        if self._config is None:
            self._config = idempotency.config(self._key)
        return self._config

    def __call__(self, **kwargs: Any) -> Any:
        """Run the handler with `kwargs`, or return what the first run of this event returned."""
        if self._wrapped is None:
            self._wrapped = idempotent_function(
                data_keyword_argument=self._argument,
                config=self.config(),
                persistence_store=idempotency.persistence_layer(),
            )(self._handler)
        return self._wrapped(**kwargs)

    def clear(self) -> None:
        """Forget the wrapped handler (its persistence layer holds an AWS client)."""
        self._wrapped = None


def receive_count(record: SQSRecord) -> int:
    """How many times SQS has delivered `record` (1 the first time)."""
    return int(record.attributes.approximate_receive_count or 1)


@contextmanager
def measured(work: WorkMessage, **dimensions: str) -> Iterator[None]:
    """Metrics counted while handling `work` carry its flow (and `dimensions`); the time taken
    is `RunDuration` per message kind."""
    with metric_scope(flow=work.flow, **dimensions):
        started = time.perf_counter()
        try:
            yield
        finally:
            duration(RUN_DURATION, (time.perf_counter() - started) * 1000, kind=work.kind)


def run_batch(
    event: dict[str, Any],
    context: LambdaContext,
    record_handler: Callable[[SQSRecord], Any],
    *once: Once,
) -> dict[str, Any]:
    """Handle each record of an SQS batch; failed records are reported back (partial batch
    failures) and retried by SQS. `once`: the idempotent handlers this invocation uses."""
    for handler in once:
        handler.config().register_lambda_context(context)
    answer = process_partial_response(
        event=event,
        record_handler=record_handler,
        # every record failing is still a partial-batch answer: SQS retries each one
        processor=BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False),
        context=context,
    )
    return dict(answer)


def _handle(message: dict[str, Any]) -> dict[str, Any]:
    work = WorkMessage.model_validate(message)
    connection = ConnectionRepository().get(work.connection_id)
    if not connection.enabled:
        logger.info("skipped: connection disabled", extra={"connection_id": connection.id})
        return {"skipped": "connection disabled"}
    flow = get_flow(work.flow)
    health.hold_if_paused(connection, work)  # credentials refused: wait, do not burn retries
    try:
        if work.kind == "reconcile":
            if flow.reconcile is None:
                return {"skipped": "no reconciliation"}
            plan = flow.reconcile(connection, False)
            return {"reconciled": plan.summary()}
        flow.handle_message(connection, work)
    except AuthError as exc:
        recipients = flow_settings.recipients(connection.settings)
        health.refused(connection, work, exc, recipients)  # raises WorkParked (or exc)
    return {"handled": work.event_id}


_ONCE = Once(_handle, "[connection_id, kind, event_id]")


def _record_handler(record: SQSRecord) -> Any:
    work = WorkMessage.model_validate_json(record.body)
    with measured(work, connection_id=work.connection_id):
        return _handle_record(record, work)


def _handle_record(record: SQSRecord, work: WorkMessage) -> Any:
    logger.append_keys(connection_id=work.connection_id, event_id=work.event_id)
    try:
        if not budget.can_start():
            # Too little time left to start: sent again as a new message rather than killed
            # midway (which would send the whole batch back, a receive for each message). Not
            # started is not failed: the copy starts with no receives counted towards the DLQ
            # (if the send fails, this one is retried as usual).
            publish(work)
            logger.info("requeued: no time left in this invocation")
            return {"requeued": work.event_id}
        return _ONCE(message=work.model_dump())
    except health.WorkParked as parked:
        logger.info("parked until the credentials work", extra={"reason": str(parked)})
        return {"parked": work.event_id}
    except NotFoundError:
        logger.info("dropped: connection no longer exists")
        return {"dropped": "connection deleted"}
    except Exception as exc:
        receives = receive_count(record)
        # the batch processor keeps the error to itself: log it, or a failure is invisible
        logger.exception("message failed", extra={"receive_count": receives})
        later = retry_later(exc)
        current = budget.current()
        if later is None and isinstance(exc, IdempotencyAlreadyInProgressError) and current:
            # Another invocation holds this event: a duplicate delivery running now, or a
            # killed one whose claim lapses at its deadline, at most one function time away.
            later = RetryLater("in progress elsewhere", vendor="queue", retry_after=current.total)
        if receives >= MAX_RECEIVES:
            _final_failure(work, exc)
        elif later is not None:
            _put_back(record, work, later)
        raise
    finally:
        logger.remove_keys(["connection_id", "event_id"])


def retry_later(error: BaseException) -> RetryLater | None:
    """The `RetryLater` that caused `error` (raised or wrapped), if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, RetryLater):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _put_back(record: SQSRecord, work: WorkMessage, later: RetryLater) -> None:
    """The vendor asked for longer than this invocation has: the message waits in its queue
    (the rest of the batch carries on). Without a receipt handle it retries as usual."""
    logger.info("message put back", extra={"delay_s": round(later.retry_after, 1)})
    if not record.receipt_handle:
        return
    try:
        delay_retry(work.flow, record.receipt_handle, later.retry_after)
    except Exception:  # the usual visibility timeout then applies: retried sooner, not lost
        logger.exception("could not delay the message")


def _final_failure(work: WorkMessage, error: Exception) -> None:
    """The last retry failed: the message goes to the DLQ. Say so once, not on every retry."""
    try:
        connection = ConnectionRepository().get(work.connection_id)
        ActivityLog().record(
            connection,
            action="failed",
            entity=str(work.payload.get("entity", work.event)),
            source_event=work.event or work.kind,
            reason=f"dead_letter: {error}",
            vendor_ids={"event_id": work.event_id},
        )
        hook = get_flow(work.flow).on_dead_letter
        if hook is not None:
            hook(connection, work, error)
    except Exception:  # the original error matters more than a failed notice
        logger.exception("could not record the final failure")


def process_batch(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Process an SQS batch; failed records are reported back and retried by SQS."""
    with budget.invocation(context):  # every wait is bounded by what is left of the invocation
        return run_batch(event, context, _record_handler, _ONCE)
