"""Work messages between receivers and workers, and the dead letters they leave behind."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from fleetbridge.core.aws import client
from fleetbridge.core.config import get_settings
from fleetbridge.core.errors import InvalidInputError
from fleetbridge.core.models import iso, new_id, utcnow

LISTING_CAP = 1000


class WorkMessage(BaseModel):
    """What a receiver, schedule or replay hands to a flow's worker.

    `event_id` is the vendor's delivery id or a content hash: the worker's idempotency key.
    """

    flow: str
    connection_id: str
    kind: str  # webhook | poll | reconcile | replay | manual
    event_id: str
    event: str = ""
    payload: dict[str, Any] = Field(default_factory=dict)
    received_at: str = Field(default_factory=lambda: iso(utcnow()))


class DeadLetter(BaseModel):
    """A message that failed past its retries, as the API shows it."""

    message_id: str
    receive_count: int
    sent_at: str | None = None
    message: WorkMessage


def _queue_urls(flow: str) -> tuple[str, str]:
    pair = get_settings().queues.get(flow)
    if pair is None:
        raise InvalidInputError(f"flow {flow} has no queue", field="flow")
    return pair.queue, pair.dlq


def publish(message: WorkMessage) -> str:
    """Send `message` to its flow's queue; returns the SQS message id."""
    queue_url, _ = _queue_urls(message.flow)
    sent = client("sqs").send_message(
        QueueUrl=queue_url,
        MessageBody=message.model_dump_json(),
        MessageAttributes={
            "connection_id": {"DataType": "String", "StringValue": message.connection_id},
            "kind": {"DataType": "String", "StringValue": message.kind},
        },
    )
    return str(sent["MessageId"])


#: SQS's longest visibility timeout (12 hours).
MAX_VISIBILITY_SECONDS = 43200


def delay_retry(flow: str, receipt_handle: str, seconds: float) -> None:
    """Keep a received message of `flow`'s queue hidden for `seconds` (its next try waits that
    long: a vendor's Retry-After longer than the function may sleep)."""
    queue_url, _ = _queue_urls(flow)
    timeout = max(0, min(MAX_VISIBILITY_SECONDS, math.ceil(seconds)))
    client("sqs").change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=timeout
    )


def queue_continuation(flow: str, connection_id: str, source_event: str) -> str:
    """Queue the next part of a run that handed over (`budget.time_to_hand_over`); its event
    is `<source_event>:continued`. Returns the SQS message id."""
    return publish(
        WorkMessage(
            flow=flow,
            connection_id=connection_id,
            kind="reconcile",
            event_id=new_id("continue"),
            event=f"{source_event.removesuffix(':continued')}:continued",
        )
    )


def publish_many(messages: Iterable[WorkMessage]) -> int:
    """Send messages in batches of ten (one SQS call each); returns how many were sent.

    A batch entry SQS refuses raises, so nothing is silently dropped.
    """
    sqs = client("sqs")
    sent = 0
    batch: list[WorkMessage] = []

    def flush() -> None:
        nonlocal sent
        if not batch:
            return
        queue_url, _ = _queue_urls(batch[0].flow)
        answer = sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {
                    "Id": str(index),
                    "MessageBody": message.model_dump_json(),
                    "MessageAttributes": {
                        "connection_id": {
                            "DataType": "String",
                            "StringValue": message.connection_id,
                        },
                        "kind": {"DataType": "String", "StringValue": message.kind},
                    },
                }
                for index, message in enumerate(batch)
            ],
        )
        if answer.get("Failed"):
            raise RuntimeError(f"SQS refused {len(answer['Failed'])} messages: {answer['Failed']}")
        sent += len(batch)
        batch.clear()

    for message in messages:
        if batch and (len(batch) == 10 or batch[0].flow != message.flow):
            flush()
        batch.append(message)
    flush()
    return sent


def _drain_visible(queue_url: str) -> list[dict[str, Any]]:
    """Receive every message (hidden for a few seconds) so the caller can sort them."""
    sqs = client("sqs")
    seen: dict[str, dict[str, Any]] = {}
    while len(seen) < LISTING_CAP:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=20,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            break
        for raw in batch:
            seen.setdefault(raw["MessageId"], raw)
    return list(seen.values())


def _release(queue_url: str, messages: list[dict[str, Any]]) -> None:
    sqs = client("sqs")
    for start in range(0, len(messages), 10):
        entries = [
            {"Id": str(index), "ReceiptHandle": raw["ReceiptHandle"], "VisibilityTimeout": 0}
            for index, raw in enumerate(messages[start : start + 10])
        ]
        if entries:
            sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)


def _parse(raw: dict[str, Any]) -> DeadLetter | None:
    try:
        message = WorkMessage.model_validate(json.loads(raw["Body"]))
    except ValueError:
        return None
    attributes = raw.get("Attributes", {})
    sent = attributes.get("SentTimestamp")
    return DeadLetter(
        message_id=raw["MessageId"],
        receive_count=int(attributes.get("ApproximateReceiveCount", 0)),
        sent_at=iso(_from_ms(int(sent))) if sent else None,
        message=message,
    )


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def list_dead_letters(flow: str, connection_id: str) -> list[DeadLetter]:
    """The dead letters of one connection (others stay untouched in the DLQ)."""
    _, dlq_url = _queue_urls(flow)
    raw_messages = _drain_visible(dlq_url)
    try:
        letters = [_parse(raw) for raw in raw_messages]
        return [
            letter
            for letter in letters
            if letter is not None and letter.message.connection_id == connection_id
        ]
    finally:
        _release(dlq_url, raw_messages)


def replay_dead_letters(
    flow: str, connection_id: str, message_ids: set[str] | None = None
) -> list[str]:
    """Move the connection's dead letters (all, or `message_ids`) back to the work queue.

    Each replayed message keeps its event id, so the idempotent worker still acts once.
    Returns the ids of the replayed dead letters.
    """
    _, dlq_url = _queue_urls(flow)
    sqs = client("sqs")
    raw_messages = _drain_visible(dlq_url)
    replayed: list[str] = []
    keep: list[dict[str, Any]] = []
    for raw in raw_messages:
        letter = _parse(raw)
        wanted = (
            letter is not None
            and letter.message.connection_id == connection_id
            and (message_ids is None or raw["MessageId"] in message_ids)
        )
        if not wanted or letter is None:
            keep.append(raw)
            continue
        # a reconciliation stays one (the worker dispatches on the kind); the rest are replays
        kind = "reconcile" if letter.message.kind == "reconcile" else "replay"
        publish(letter.message.model_copy(update={"kind": kind}))
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=raw["ReceiptHandle"])
        replayed.append(raw["MessageId"])
    _release(dlq_url, keep)
    return replayed
