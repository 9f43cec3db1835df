"""The one queue worker: partial batch failures, idempotency per event, one notice per failure.

A `<flow>_worker` function calls `process_batch` and nothing else.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import cache
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

from fleetbridge.core import budget, health, idempotency
from fleetbridge.core.activity import ActivityLog
from fleetbridge.core.aws import clears_with_clients
from fleetbridge.core.connections import ConnectionRepository
from fleetbridge.core.errors import AuthError, NotFoundError, RetryLater
from fleetbridge.core.observability import RUN_DURATION, duration, logger, metric_scope
from fleetbridge.core.queue import WorkMessage, delay_retry, publish
from fleetbridge.core.registry import get_flow

#: Must match the queues' RedrivePolicy maxReceiveCount in template.yaml.
MAX_RECEIVES = int(os.environ.get("MAX_RECEIVE_COUNT", "5"))


@cache
def _idempotency_config() -> IdempotencyConfig:
    return idempotency.config("[connection_id, kind, event_id]")


@cache
def _once() -> Callable[..., Any]:
    """`_handle` wrapped in Powertools idempotency, built on first use (not at import)."""
    return idempotent_function(
        data_keyword_argument="message",
        config=_idempotency_config(),
        persistence_store=idempotency.persistence_layer(),
    )(_handle)


clears_with_clients(_once.cache_clear)


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
        recipients = list(connection.settings.get(flow.recipients_setting) or [])
        health.refused(connection, work, exc, recipients)  # raises WorkParked (or exc)
    return {"handled": work.event_id}


def _record_handler(record: SQSRecord) -> Any:
    work = WorkMessage.model_validate_json(record.body)
    with metric_scope(flow=work.flow, connection_id=work.connection_id):
        started = time.perf_counter()
        try:
            return _handle_record(record, work)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            duration(RUN_DURATION, elapsed_ms, kind=work.kind)


def _handle_record(record: SQSRecord, work: WorkMessage) -> Any:
    logger.append_keys(connection_id=work.connection_id, event_id=work.event_id)
    try:
        current = budget.current()
        if current is not None and current.remaining() < current.margin:
            # Too little time left to start: sent again as a new message rather than killed
            # midway (which would send the whole batch back, a receive for each message). Not
            # started is not failed: the copy starts with no receives counted towards the DLQ
            # (if the send fails, this one is retried as usual).
            publish(work)
            logger.info("requeued: no time left in this invocation")
            return {"requeued": work.event_id}
        return _once()(message=work.model_dump())
    except health.WorkParked as parked:
        logger.info("parked until the credentials work", extra={"reason": str(parked)})
        return {"parked": work.event_id}
    except NotFoundError:
        logger.info("dropped: connection no longer exists")
        return {"dropped": "connection deleted"}
    except Exception as exc:
        receives = int(record.attributes.approximate_receive_count or 1)
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
    _idempotency_config().register_lambda_context(context)
    with budget.invocation(context):  # every wait is bounded by what is left of the invocation
        answer = process_partial_response(
            event=event,
            record_handler=_record_handler,
            # every record failing is still a partial-batch answer: SQS retries each one
            processor=BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False),
            context=context,
        )
    return dict(answer)
