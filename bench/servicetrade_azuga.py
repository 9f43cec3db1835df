"""ServiceTrade ↔ Azuga: a day of N appointments for T technicians, against Azuga's limits.

Runs in-process: moto with the template's resources, the vendor sandboxes on a loopback port
with their clocks (Azuga's one request a minute per endpoint, token lifetimes) and our rate
limiters sped up by `--time-factor`. Our functions are invoked as Lambda would: the poll's
work (`poll`), the Azuga webhook function for each geofence alert, then the worker over the
queue. Every figure is read from the sandboxes' request logs and state, never from our records.

Phases: schedule (the poll reads the day's N appointments: one fence each, in bulk), the same
poll again with nothing changed (goal: 0 Azuga calls), En Route (each tech clocks in En Route
for one appointment: TrackMe link + Service Link), arrivals (each en-route van is moved into its
fence; every alert is delivered twice: exactly one On Site clock-in per tech).

Lower bound per phase (calls): 1 login + the calls no batching can avoid: schedule
ceil(N / GEOFENCE_BATCH) bulk uploads; En Route 1 drivers list + 1 vehicles list + one TrackMe
link per en-route tech (azuga.md has no bulk TrackMe); arrivals 0 (pairing from the day's cached
lists). Its time: the busiest endpoint's calls at one a minute, (n - 1) minutes / factor.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import time
import warnings
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.servicetrade_azuga_report import available, report_rows
from bench.servicetrade_azuga_world import (
    SECRET,
    Receiver,
    azuga_world,
    place,
    servicetrade_world,
)
from tests.support.lambdas import FakeContext, load_handler

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "ServiceTradeAzugaQueue"
CREDENTIALS = {
    "servicetrade_username": "sandbox-st-user",
    "servicetrade_password": "sandbox-st-pass",
    "azuga_api_key": "sandbox-azuga-key",
    "servicetrade_azuga_webhook_secret": SECRET,
}
PER_ENDPOINT_SECONDS = 60.0


def endpoint(entry: dict[str, Any]) -> str:
    """`METHOD /path` with ids replaced (the sandbox's per-endpoint key)."""
    path = entry["path"].split("/azuga", 1)[-1]
    if path.startswith("/v3/geomarks/") and not path.endswith(".json"):
        path = "/v3/geomarks/{id}"
    return f"{entry['method']} {path}"


class Day:
    """The sandboxes, the connection and the figures of each phase."""

    def __init__(
        self, sandbox: httpx.Client, connection_id: str, factor: float, queue_url: str
    ) -> None:
        self.sandbox, self.connection_id, self.factor = sandbox, connection_id, factor
        self.queue_url = queue_url
        self.worker = load_handler("servicetrade_azuga_worker")
        self.rows: list[tuple[str, str, str]] = []
        self.calls = self.bound = 0

    def log(self, vendor: str) -> list[dict[str, Any]]:
        return list(self.sandbox.get(f"/_sandbox/{vendor}/requests").json()["requests"])

    def counts(self) -> tuple[int, int]:
        """Requests the ServiceTrade and Azuga sandboxes have logged."""
        return len(self.log("servicetrade")), len(self.log("azuga"))

    def state(self, vendor: str) -> dict[str, Any]:
        return dict(self.sandbox.get(f"/_sandbox/{vendor}/state").json())

    def ctx(self) -> Any:
        from fleetbridge.core.connections import ConnectionRepository
        from fleetbridge.flows.servicetrade_azuga.context import context_for

        return context_for(ConnectionRepository().get(self.connection_id))

    def phase(self, name: str, work: Any, bound: dict[str, int], per: int) -> list[dict[str, Any]]:
        """Run `work()`; add its Azuga figures against `bound` (calls per endpoint)."""
        before = len(self.log("azuga"))
        began = time.perf_counter()
        work()
        elapsed = time.perf_counter() - began
        calls = self.log("azuga")[before:]
        kinds = Counter(endpoint(c) for c in calls)
        refused = sum(1 for c in calls if c["status"] == 429)
        lower = sum(bound.values())
        self.calls, self.bound = self.calls + len(calls), self.bound + lower
        busiest = max(bound.values(), default=0)
        lower_s = max(0, busiest - 1) * PER_ENDPOINT_SECONDS / self.factor
        self.rows.append((f"{name}: Azuga calls", str(len(calls)), json.dumps(dict(kinds))))
        if per:
            self.rows.append((f"{name}: Azuga calls per item", f"{len(calls) / per:.3f}", ""))
        if lower:
            self.rows.append(
                (
                    f"{name}: lower bound (calls)",
                    str(lower),
                    f"{json.dumps(bound)}; ratio {len(calls) / lower:.3f} (goal <= 1.15)",
                )
            )
        accepted = len(calls) - refused
        detail = f"accepted calls {accepted}" + (f", ratio {accepted / lower:.3f}" if lower else "")
        self.rows.append((f"{name}: 429 answers", str(refused), detail))
        time_ratio = f"ratio {elapsed / lower_s:.3f} (goal <= 1.15)" if lower_s else ""
        self.rows.append(
            (f"{name}: time", f"{elapsed:.1f} s", f"lower bound {lower_s:.1f} s; {time_ratio}")
        )
        return calls

    def work_queue(self) -> None:
        """The worker over everything queued, as the SQS event source would hand it over."""
        import boto3

        from tests.support.events import sqs_event

        sqs = boto3.client("sqs", region_name="us-east-1")
        url = self.queue_url
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            event = sqs_event([json.loads(m["Body"]) for m in messages], queue=QUEUE)
            self.worker.lambda_handler(event, FakeContext(function_name="worker"))
            for m in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    def arrive(self, t: int, index: int) -> float:
        """Van t into appointment `index`'s fence (the sandbox sends the alert to our webhook,
        `Receiver`), then the worker; seconds until the On Site clock-in shows in ServiceTrade."""
        lat, lon = place(index)
        began = time.perf_counter()
        at = datetime.now(UTC).isoformat()
        body = {"vehicleId": f"v{t}", "lat": lat, "lon": lon, "at": at}
        for _ in range(2):  # the same position twice: one entry
            self.sandbox.post("/_sandbox/azuga/positions", json=body).raise_for_status()
        while not self.on_site(1000 + t):
            if time.perf_counter() - began > 120:
                raise SystemExit(f"tech {t} never clocked in on site")
            self.work_queue()
        return time.perf_counter() - began

    def on_site(self, tech: int) -> int:
        events = self.state("servicetrade")["clock_events"]
        return sum(1 for e in events if e["userId"] == tech and e["activity"] == "onsite")

    def print(self) -> None:
        width = max(len(r[0]) for r in self.rows)
        print(f"{'figure':<{width}}  {'value':>10}  detail")
        for label, value, detail in self.rows:
            print(f"{label:<{width}}  {value:>10}  {detail}")


def run(n: int, techs: int, factor: float) -> None:
    """The four phases, then one table of figures."""
    from moto import mock_aws

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ["FLEETBRIDGE_SANDBOX_LOG_SIZE"] = str(20 * n + 20 * techs + 1000)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with mock_aws():
        from fleetbridge.core.aws import reset_clients
        from fleetbridge.core.tenants import TenantRepository
        from fleetbridge.flows.servicetrade_azuga.poll import poll
        from fleetbridge.vendors.azuga import GEOFENCE_BATCH
        from local.sandboxes.app import run_sandboxes
        from local.stack.config import VENDOR_PATHS
        from tests.support.aws import create_template_resources
        from tests.support.events import http_event
        from tests.support.lambdas import invoke

        resources = create_template_resources(ROOT / "template.yaml")
        os.environ.update(resources["env"])
        server, _ = run_sandboxes("127.0.0.1", 0, time_factor=factor)
        base = f"http://127.0.0.1:{server.server_port}"
        os.environ["FLEETBRIDGE_VENDOR_URLS"] = json.dumps(
            {vendor: f"{base}{path}" for vendor, path in VENDOR_PATHS.items()}
        )
        os.environ["FLEETBRIDGE_RATE_TIME_FACTOR"] = str(factor)
        reset_clients()
        _, api_key = TenantRepository().create("Bench")
        answer = invoke(
            "api",
            http_event(
                "POST",
                "/connections",
                body={"flow": "servicetrade-azuga", "name": "bench", "credentials": CREDENTIALS},
                headers={"Authorization": f"Bearer {api_key}"},
            ),
        )
        assert answer["statusCode"] == 201, answer
        connection_id = json.loads(answer["body"])["id"]
        sandbox = httpx.Client(base_url=base, timeout=120)
        day = Day(sandbox, connection_id, factor, resources["queues"][QUEUE])
        receiver = Receiver(connection_id)
        seed = azuga_world(techs, receiver.url)
        sandbox.post("/_sandbox/azuga/seed", json=seed).raise_for_status()
        now = datetime.now(UTC)
        world = servicetrade_world(n, techs, now)
        sandbox.post("/_sandbox/servicetrade/seed", json=world).raise_for_status()
        time.sleep(2 * PER_ENDPOINT_SECONDS / factor)  # the connection test's login is old
        print(f"appointments: {n}   techs: {techs}   time factor: {factor:g}")

        uploads = math.ceil(n / GEOFENCE_BATCH)
        bound = {"POST /v3/auth/login": 1, "POST /v3/geomarks/bulkUpload.json": uploads}
        day.phase("schedule", lambda: poll(day.ctx(), source="bench"), bound, n)
        fences = len(day.state("azuga")["geomarks"])
        day.rows.append(("schedule: fences in Azuga", str(fences), f"of {n} appointments"))
        day.phase("poll, nothing changed", lambda: poll(day.ctx(), source="bench"), {}, n)

        clock_ins = [
            {
                "userId": 1000 + t,
                "jobId": 20_000 + t,
                "appointmentId": 30_000 + t,
                "activity": "enroute",
                "clockIn": int(now.timestamp()),
            }
            for t in range(techs)
        ]
        seeded = {"clock_events": clock_ins}
        sandbox.post("/_sandbox/servicetrade/seed", json=seeded).raise_for_status()
        bound = {
            "POST /v3/auth/login": 1,
            "GET /v3/users": 1,
            "GET /v3/trackees": 1,
            "POST /v1/trackme.json": techs,
        }
        day.phase("En Route", lambda: poll(day.ctx(), source="bench"), bound, techs)
        links = len(day.state("azuga")["trackme_links"])
        messages = len(day.state("servicetrade")["messages"])
        day.rows.append(("En Route: TrackMe links / Service Links", f"{links} / {messages}", ""))

        latencies: list[float] = []
        day.phase(
            "arrivals",
            lambda: latencies.extend(day.arrive(t, t) for t in range(techs)),
            {},
            techs,
        )
        once = sum(1 for t in range(techs) if day.on_site(1000 + t) == 1)
        day.rows.append(("arrivals: techs with exactly one On Site", str(once), f"of {techs}"))
        q = (
            statistics.quantiles(latencies, n=20, method="inclusive")
            if latencies[1:]
            else latencies
        )
        day.rows.append(
            (
                "arrival -> On Site latency",
                f"{statistics.median(latencies):.2f} s",
                f"median; p95 {q[-1]:.2f} s, max {max(latencies):.2f} s",
            )
        )
        day.rows.append(
            (
                "day: Azuga calls per appointment",
                f"{day.calls / n:.4f}",
                f"{day.calls} calls vs lower bound {day.bound}: ratio "
                f"{day.calls / max(1, day.bound):.3f} (goal <= 1.15)",
            )
        )
        if available():
            day.rows += report_rows(day.ctx(), now.date(), day.counts)
        else:
            day.rows.append(("report generation", "skipped", "no report module in the flow yet"))
        day.print()
        sandbox.close()
        receiver.shutdown()
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appointments", type=int, default=2000)
    parser.add_argument("--techs", type=int, default=150)
    parser.add_argument(
        "--time-factor", type=float, default=60.0, help="sandbox clock speed-up (1 = real time)"
    )
    args = parser.parse_args()
    run(args.appointments, min(args.techs, args.appointments), args.time_factor)


if __name__ == "__main__":
    main()
