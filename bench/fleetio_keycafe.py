"""Fleetio → Keycafe burst: N assignments created at once, booked under Keycafe's rate limit.

Runs in one process: moto (in-process) for AWS, the vendor sandboxes on a loopback port with
their clocks sped up by `--time-factor`, and the real handlers: every Fleetio delivery goes
through the webhook function, then `--workers` concurrent worker threads drain the queue like the
SQS event source (they share Keycafe's limit through the DynamoDB rate limiter).

Prints: total time against the rate-limit lower bound (N bookings at Keycafe's 60/min, scaled;
goal <= 1.15), Keycafe calls per assignment (goal: 1 booking call + 0 redundant), and the peak
memory allocated while the workers ran (tracemalloc).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "fleetbridge"), str(ROOT)]
os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_LOG_LEVEL="ERROR",
    POWERTOOLS_METRICS_NAMESPACE="Bench",
)
for _name in ("AWS_ENDPOINT_URL", "FLEETBRIDGE_AWS_ENDPOINT"):
    os.environ.pop(_name, None)

import boto3  # noqa: E402
import httpx  # noqa: E402
from moto import mock_aws  # noqa: E402

from tests.support.aws import create_template_resources  # noqa: E402
from tests.support.events import http_event, sqs_event  # noqa: E402
from tests.support.lambdas import FakeContext, load_handler  # noqa: E402

KEYCAFE_PER_MINUTE = 60
SECRET = "bench-fleetio-webhook-secret"
FLEETIO = {"Authorization": "Token sandbox-fleetio-key", "Account-Token": "sandbox-fleetio-account"}


def seed(sandbox: httpx.Client, count: int) -> None:
    vehicles = [{"id": i, "name": f"Van {i}"} for i in range(1, count + 1)]
    contacts = [
        {"id": i, "first_name": "Driver", "last_name": str(i), "email": f"driver{i}@example.com"}
        for i in range(1, count + 1)
    ]
    sandbox.post(
        "/_sandbox/fleetio/seed",
        json={
            "vehicles": vehicles,
            "contacts": contacts,
            "webhooks": [
                {
                    "url": "http://127.0.0.1:9/unused",
                    "secret": SECRET,
                    "events": ["vehicle_assignment_created"],
                }
            ],
        },
    ).raise_for_status()
    sandbox.post(
        "/_sandbox/keycafe/seed",
        json={
            "keys": [{"id": 1000 + i, "name": f"Van {i} key"} for i in range(1, count + 1)],
            "users": [
                {"id": 5000 + i, "email": f"driver{i}@example.com"} for i in range(1, count // 5)
            ],
        },
    ).raise_for_status()


def setup_connection(count: int) -> str:
    from fleetbridge.core.connection_service import create_connection
    from fleetbridge.core.mappings import MappingRepository
    from fleetbridge.core.models import Mapping
    from fleetbridge.core.tenants import TenantRepository

    tenant, _ = TenantRepository().create("Bench")
    connection = create_connection(
        tenant.id,
        flow_id="fleetio-keycafe",
        name="bench",
        settings={},
        credentials={
            "fleetio_api_key": "sandbox-fleetio-key",
            "fleetio_account_token": "sandbox-fleetio-account",
            "fleetio_webhook_secret": SECRET,
            "keycafe_email": "ops@sandbox.example",
            "keycafe_token": "sandbox-keycafe-token",
        },
    )
    mappings = MappingRepository(connection.id)
    for i in range(1, count + 1):  # links made directly: the bench measures bookings, not setup
        mappings.save(
            Mapping(
                connection_id=connection.id,
                entity="vehicle_link",
                external_id=str(i),
                other_id=str(1000 + i),
                data={
                    "notification": "automatic",
                    "key_name": f"Van {i} key",
                    "vehicle_name": f"Van {i}",
                },
            )
        )
    return connection.id


def drain(queue_url: str, stop: threading.Event, errors: list[str]) -> None:
    """One worker: receive batches, invoke the handler, delete what succeeded."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    handler = load_handler("fleetio_keycafe_worker").lambda_handler
    while not stop.is_set():
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            time.sleep(0.05)
            continue
        event = sqs_event([json.loads(m["Body"]) for m in messages])
        for record, message in zip(event["Records"], messages, strict=True):
            record["messageId"] = message["MessageId"]
        answer = handler(event, FakeContext(function_name="FleetioKeycafeWorkerFunction"))
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        errors.extend(failed)
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignments", type=int, default=500)
    parser.add_argument("--time-factor", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    os.environ["FLEETBRIDGE_SANDBOX_TIME_FACTOR"] = str(args.time_factor)
    os.environ["FLEETBRIDGE_RATE_TIME_FACTOR"] = str(args.time_factor)

    from local.sandboxes.app import run_sandboxes

    server, _ = run_sandboxes("127.0.0.1", 0, time_factor=args.time_factor)
    base = f"http://127.0.0.1:{server.server_port}"
    os.environ["FLEETBRIDGE_VENDOR_URLS"] = json.dumps(
        {"fleetio": f"{base}/fleetio/api", "keycafe": f"{base}/keycafe/v0"}
    )
    with mock_aws(), httpx.Client(base_url=base, timeout=30) as sandbox:
        resources = create_template_resources(ROOT / "template.yaml", visibility_timeout=120)
        os.environ.update(resources["env"])
        from fleetbridge.core.aws import reset_clients

        reset_clients()
        seed(sandbox, args.assignments)
        connection_id = setup_connection(args.assignments)
        start = datetime.now(UTC) + timedelta(hours=1)
        for i in range(1, args.assignments + 1):  # the burst
            sandbox.post(
                "/fleetio/api/v1/vehicle_assignments",
                headers=FLEETIO,
                json={
                    "vehicle_id": i,
                    "contact_id": i,
                    "started_at": start.isoformat(),
                    "ended_at": (start + timedelta(hours=8)).isoformat(),
                },
            ).raise_for_status()
        deliveries = sandbox.get("/_sandbox/fleetio/webhook-deliveries").json()["deliveries"]
        sandbox.get("/_sandbox/keycafe/requests")  # log starts below
        keycafe_before = len(sandbox.get("/_sandbox/keycafe/requests").json()["requests"])

        tracemalloc.start()
        began = time.perf_counter()
        webhook = load_handler("fleetio_webhook").lambda_handler
        for delivery in deliveries:
            answer = webhook(
                http_event(
                    "POST",
                    f"/hooks/fleetio/{connection_id}",
                    raw_body=delivery["body"].encode(),
                    headers=delivery["headers"],
                    path_parameters={"connection_id": connection_id},
                ),
                FakeContext(function_name="FleetioWebhookFunction"),
            )
            assert answer["statusCode"] == 202, answer
        stop, errors = threading.Event(), []
        queue_url = resources["queues"]["FleetioKeycafeQueue"]
        threads = [
            threading.Thread(target=drain, args=(queue_url, stop, errors), daemon=True)
            for _ in range(args.workers)
        ]
        for thread in threads:
            thread.start()
        while True:
            state = sandbox.get("/_sandbox/keycafe/state").json()
            if len([a for a in state["accesses"] if a["status"] == "ACTIVE"]) >= args.assignments:
                break
            if time.perf_counter() - began > 600:
                raise SystemExit("timed out")
            time.sleep(0.5)
        elapsed = time.perf_counter() - began
        stop.set()
        for thread in threads:
            thread.join()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        requests = sandbox.get("/_sandbox/keycafe/requests").json()["requests"][keycafe_before:]
        calls = Counter(
            f"{r['method']} {r['path'].split('?')[0].rstrip('0123456789')}" for r in requests
        )
        bookings = calls.get("POST /keycafe/v0/access", 0)
        statuses = Counter(r["status"] for r in requests)
        names = Counter(a["name"] for a in state["accesses"])
    server.shutdown()

    lower_bound = args.assignments / (KEYCAFE_PER_MINUTE * args.time_factor / 60)
    print(
        f"assignments: {args.assignments}  workers: {args.workers}  time factor: {args.time_factor:g}"
    )
    print(
        f"total time: {elapsed:.2f} s   rate-limit lower bound: {lower_bound:.2f} s   "
        f"ratio: {elapsed / lower_bound:.3f} (goal <= 1.15)"
    )
    print(
        f"Keycafe calls: {len(requests)}  per assignment: {len(requests) / args.assignments:.3f}  "
        f"booking calls per assignment: {bookings / args.assignments:.3f} (goal 1)  "
        f"redundant bookings: {sum(n - 1 for n in names.values())} (goal 0)"
    )
    print(f"Keycafe calls by kind: {dict(calls)}  statuses: {dict(statuses)}")
    print(f"failed records (retried by SQS): {len(errors)}")
    print(f"peak memory allocated during the run: {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
