"""Fleetio → Keycafe burst: N assignments created at once, booked under Keycafe's rate limit.

Runs on the local stack (`LocalStack`: moto server, API emulator, SQS poller, worker processes
like Lambda's) with the sandbox clocks sped up by `--time-factor`. The assignments are created
through the Fleetio sandbox API in one burst; its signed webhooks go through the webhook
function, the queue and the worker, exactly as in production.

Prints: total time (first assignment created → last booking seen) against the rate-limit lower
bound (N booking calls at Keycafe's 60/min, scaled; goal <= 1.15), Keycafe calls per assignment
(goal: 1 booking call + 0 redundant), and the peak resident memory of the worker processes.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from local.stack.stack import LocalStack

KEYCAFE_PER_MINUTE = 60
SECRET = "bench-fleetio-webhook-secret"
FLEETIO = {"Authorization": "Token sandbox-fleetio-key", "Account-Token": "sandbox-fleetio-account"}
CREDENTIALS = {
    "fleetio_api_key": "sandbox-fleetio-key",
    "fleetio_account_token": "sandbox-fleetio-account",
    "fleetio_webhook_secret": SECRET,
    "keycafe_email": "ops@sandbox.example",
    "keycafe_token": "sandbox-keycafe-token",
}
WORKER = "FleetioKeycafeWorkerFunction"


def peak_rss_mib(pids: list[int]) -> float:
    """Largest VmHWM (peak resident set) among the given processes, in MiB."""
    peaks = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


def prepare(stack: LocalStack, sandbox: httpx.Client, count: int) -> httpx.Client:
    """Tenant, connection, Fleetio/Keycafe data and one key link per vehicle."""
    tenant = httpx.post(f"{stack.api_url}/_local/tenants", json={"name": "Bench"}).json()
    api = httpx.Client(
        base_url=stack.api_url, timeout=60, headers={"Authorization": f"Bearer {tenant['api_key']}"}
    )
    connection = (
        api.post(
            "/connections",
            json={"flow": "fleetio-keycafe", "name": "bench", "credentials": CREDENTIALS},
        )
        .raise_for_status()
        .json()
    )
    sandbox.post(
        "/_sandbox/fleetio/seed",
        json={
            "vehicles": [{"id": i, "name": f"Van {i}"} for i in range(1, count + 1)],
            "contacts": [
                {
                    "id": i,
                    "first_name": "Driver",
                    "last_name": str(i),
                    "email": f"driver{i}@example.com",
                }
                for i in range(1, count + 1)
            ],
            "webhooks": [
                {
                    "url": connection["webhook_urls"]["fleetio"],
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
    for i in range(1, count + 1):
        api.put(
            f"/connections/{connection['id']}/vehicles/{i}/link", json={"key_id": 1000 + i}
        ).raise_for_status()
    return api


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignments", type=int, default=500)
    parser.add_argument(
        "--time-factor",
        type=float,
        default=5.0,
        help="sandbox clock speed-up: Keycafe allows 60/min x this",
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    log_dir = Path(tempfile.mkdtemp(prefix="fleetbridge-bench-"))
    with (
        LocalStack(
            log_dir=log_dir, time_factor=args.time_factor, api_port=0, aws_port=0, sandbox_port=0
        ) as stack,
        httpx.Client(base_url=stack.sandbox_url, timeout=60) as sandbox,
    ):
        api = prepare(stack, sandbox, args.assignments)
        keycafe_before = len(sandbox.get("/_sandbox/keycafe/requests").json()["requests"])
        start = datetime.now(UTC) + timedelta(hours=1)
        began = time.perf_counter()
        began_epoch = time.time()
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
        burst = time.perf_counter() - began
        peak = 0.0
        while True:
            peak = max(peak, peak_rss_mib(stack.runtime.pool(WORKER).worker_pids))
            accesses = sandbox.get("/_sandbox/keycafe/state").json()["accesses"]
            if len(accesses) >= args.assignments:
                break
            if time.perf_counter() - began > 1800:
                raise SystemExit(f"timed out with {len(accesses)} bookings")
            time.sleep(0.2)
        elapsed = time.perf_counter() - began
        stack.drain(120)
        accesses = sandbox.get("/_sandbox/keycafe/state").json()["accesses"]
        requests = sandbox.get("/_sandbox/keycafe/requests").json()["requests"][keycafe_before:]
        api.close()

    kinds = Counter(
        f"{r['method']} {r['path'].split('?')[0].rstrip('0123456789/')}" for r in requests
    )
    statuses = Counter(r["status"] for r in requests)
    bookings = kinds.get("POST /keycafe/v0/access", 0)
    duplicates = sum(n - 1 for n in Counter(a["name"] for a in accesses).values())
    lower_bound = args.assignments / (KEYCAFE_PER_MINUTE * args.time_factor / 60)
    print(
        f"assignments: {args.assignments}   time factor: {args.time_factor:g} "
        f"(Keycafe {KEYCAFE_PER_MINUTE * args.time_factor:g}/min)   burst created in {burst:.1f} s"
    )
    print(
        f"total time: {elapsed:.1f} s   rate-limit lower bound: {lower_bound:.1f} s   "
        f"ratio: {elapsed / lower_bound:.3f} (goal <= 1.15)"
    )
    print(
        f"Keycafe calls: {len(requests)} = {len(requests) / args.assignments:.3f} per assignment; "
        f"booking calls per assignment: {bookings / args.assignments:.3f} (goal 1); "
        f"duplicate bookings: {duplicates} (goal 0)"
    )
    print(f"Keycafe calls by kind: {dict(kinds)}   statuses: {dict(statuses)}")
    times = sorted(
        datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()
        for r in requests
        if r["method"] == "POST"
    )
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    if gaps:
        slot = 60 / (KEYCAFE_PER_MINUTE * args.time_factor)
        print(
            f"booking pace: first after {times[0] - began_epoch:.1f} s, median gap "
            f"{gaps[len(gaps) // 2]:.3f} s (limit {slot:.3f} s), gaps over 2x the limit: "
            f"{sum(g > 2 * slot for g in gaps)}"
        )
    print(f"peak resident memory of a worker process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
