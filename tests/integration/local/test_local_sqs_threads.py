"""The local moto's SQS under concurrent workers: nothing sent is lost, nothing is doubled.

moto alone loses messages here (a delete rebuilds the queue's list from a snapshot while a
send or a dead-letter move appends) and answers 500s (`list.remove` races); the local stack's
`make_sqs_thread_safe` is what makes a 1,000-change reliability run count true.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from local.stack.aws import MotoServer, aws_client

SENDERS, PER_SENDER, RECEIVERS = 4, 150, 4


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = MotoServer(port=0)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def test_concurrent_sends_receives_deletes_and_dead_letters_lose_nothing(moto_url: str) -> None:
    sqs = aws_client("sqs", moto_url)
    dlq_url = sqs.create_queue(QueueName="stress-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    # maxReceiveCount 1 and a 1 s visibility: messages left undeleted move to the DLQ while
    # other threads send and delete, the race moto loses messages in
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    queue_url = sqs.create_queue(
        QueueName="stress", Attributes={"VisibilityTimeout": "1", "RedrivePolicy": redrive}
    )["QueueUrl"]
    sent = [f"{sender}-{n}" for sender in range(SENDERS) for n in range(PER_SENDER)]
    deleted: Counter[str] = Counter()
    kept: set[str] = set()  # received and deliberately not deleted: they must reach the DLQ
    errors: list[BaseException] = []
    sending_done = threading.Event()
    lock = threading.Lock()

    def send(sender: int) -> None:
        client = aws_client("sqs", moto_url)
        for start in range(0, PER_SENDER, 10):
            entries = [
                {"Id": str(n), "MessageBody": f"{sender}-{n}"}
                for n in range(start, min(start + 10, PER_SENDER))
            ]
            client.send_message_batch(QueueUrl=queue_url, Entries=entries)

    def receive() -> None:
        client = aws_client("sqs", moto_url)
        idle = 0
        while idle < 3:
            batch = client.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            if not batch:
                idle += 1 if sending_done.is_set() else 0
                continue
            idle = 0
            to_delete = []
            for message in batch:
                body = message["Body"]
                if hash(body) % 7 == 0:  # every seventh body is left to be dead-lettered
                    with lock:
                        kept.add(body)
                else:
                    to_delete.append(message)
            if to_delete:
                client.delete_message_batch(
                    QueueUrl=queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(to_delete)
                    ],
                )
                with lock:
                    deleted.update(m["Body"] for m in to_delete)

    def guarded(target, *args) -> None:  # type: ignore[no-untyped-def]
        try:
            target(*args)
        except BaseException as exc:  # a 500 from moto surfaces here
            errors.append(exc)

    senders = [threading.Thread(target=guarded, args=(send, s)) for s in range(SENDERS)]
    receivers = [threading.Thread(target=guarded, args=(receive,)) for _ in range(RECEIVERS)]
    for thread in senders + receivers:
        thread.start()
    for thread in senders:
        thread.join()
    sending_done.set()
    for thread in receivers:
        thread.join(timeout=120)

    time.sleep(1.5)  # the last kept messages turn visible: one receive moves them to the DLQ
    assert sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages") is None
    dead = _drain(sqs, dlq_url)
    assert errors == []
    assert sorted(set(deleted) | dead) == sorted(sent)  # nothing lost
    assert not set(deleted) & dead
    assert dead == kept  # every message left undeleted was dead-lettered, no other
    assert max(deleted.values()) == 1  # nothing delivered again once deleted


def _drain(sqs, queue_url: str) -> set[str]:  # type: ignore[no-untyped-def]
    bodies: set[str] = set()
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60
        ).get("Messages", [])
        if not batch:
            return bodies
        bodies.update(m["Body"] for m in batch)
