"""SQS delivery (partial batch failures, DLQ after maxReceiveCount) and schedules."""

from __future__ import annotations

from typing import Any

import httpx

from local.stack.aws import aws_client
from local.stack.stack import LocalStack


def _receives(stack: LocalStack) -> dict[str, int]:
    items = aws_client("dynamodb", stack.aws_url).scan(TableName="ToyTable")["Items"]
    return {item["pk"]["S"]: int(item["receives"]["N"]) for item in items}


def _take_bodies(stack: LocalStack, queue: str) -> list[str]:
    """Receive and delete every message of `queue`."""
    sqs = aws_client("sqs", stack.aws_url)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    messages: list[dict[str, Any]] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
        "Messages", []
    )
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return sorted(m["Body"] for m in messages)


def test_partial_batch_failure_keeps_only_failures_until_the_dlq(toy_stack: LocalStack) -> None:
    sqs = aws_client("sqs", toy_stack.aws_url)
    url = toy_stack.resolver.ref("WorkQueue")  # type: ignore[union-attr]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
    )
    assert attributes["Attributes"]["VisibilityTimeout"] == "1"  # 50 s x 0.02
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(["ok-1", "ok-2", "fail-1"])
        ],
    )
    toy_stack.drain(timeout=20)
    receives = _receives(toy_stack)
    assert receives["ok-1"] == receives["ok-2"] == 1
    # maxReceiveCount 2: received twice, then moto moves it to the DLQ on the next receive
    assert receives["fail-1"] == 2
    assert _take_bodies(toy_stack, "WorkDeadLetterQueue") == ["fail-1"]


def test_a_crashing_batch_is_retried_then_dead_lettered(toy_stack: LocalStack) -> None:
    sqs = aws_client("sqs", toy_stack.aws_url)
    url = toy_stack.resolver.ref("WorkQueue")  # type: ignore[union-attr]
    sqs.send_message(QueueUrl=url, MessageBody="crash")
    toy_stack.drain(timeout=20)
    assert "crash" not in _receives(toy_stack)
    assert _take_bodies(toy_stack, "WorkDeadLetterQueue") == ["crash"]
    log = (toy_stack.log_dir / "WorkerFunction.log").read_text()
    assert log.count("RuntimeError: crash requested") >= 2


def test_schedules_are_listed_and_fire(toy_api: httpx.Client) -> None:
    listed = toy_api.get("/_local/schedules").json()
    assert {
        "function": "ScheduledFunction",
        "rate": "rate(1 minute)",
        "name": "Every",
        "enabled": True,
    } in listed
    assert any(s["rate"] == "cron(0 2 * * ? *)" for s in listed)
    fired = toy_api.post("/_local/schedules/ScheduledFunction")
    assert fired.status_code == 200
    event = fired.json()["event"]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    nightly = toy_api.post("/_local/schedules/ScheduledFunction", params={"name": "Nightly"})
    assert nightly.json() == {"event": {"job": "nightly"}}
    assert toy_api.post("/_local/schedules/EchoFunction").status_code == 404


def test_drain_endpoint(toy_api: httpx.Client) -> None:
    assert toy_api.post("/_local/drain", params={"timeout": "5"}).json() == {"drained": True}


def test_a_batch_in_flight_stays_invisible_past_the_scaled_timeout(toy_stack: LocalStack) -> None:
    """Local visibility is 1 s, the template's 50 s: a 2 s batch is not delivered twice."""
    sqs = aws_client("sqs", toy_stack.aws_url)
    url = toy_stack.resolver.ref("WorkQueue")  # type: ignore[union-attr]
    sqs.send_message(QueueUrl=url, MessageBody="slow-1")
    toy_stack.drain(timeout=20)
    assert _receives(toy_stack)["slow-1"] == 1
