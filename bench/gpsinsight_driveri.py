"""GPS Insight → Driveri: a first sync of N portal drivers, then a daily reconciliation with 2 %
drift in Driveri and 1 % portal changes.

Runs on the local stack (`LocalStack`: moto server, worker processes like Lambda's, schedules
off so only the bench triggers work) with the sandbox clocks sped up by `--time-factor`. The first
sync is the reconciliation Driver Sync's opt-in queues; the daily run is the schedule's function.

Prints, for each phase: Driveri calls (writes per changed driver: goal 1, and 0 for unchanged
drivers), total time against the Driveri rate-limit lower bound (every call the phase must make
at 10/s x factor; goal <= 1.15), and the worker's peak resident memory. Then the memory probe:
the reconciliation's peak traced allocations at N/4, N/2 and N drivers (goal: flat).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.fleetio_keycafe import peak_rss_mib
from local.stack.stack import LocalStack

DRIVERI_PER_SECOND = 10
PAGE = 100
WORKER = "GpsInsightDriveriWorkerFunction"
CREDENTIALS = {
    "gpsinsight_username": "sandbox-gps-user",
    "gpsinsight_password": "sandbox-gps-pass",
    "driveri_client_id": "sandbox-driveri-client",
    "driveri_client_secret": "sandbox-driveri-secret",
    "driveri_tenant": "sandbox-tenant",
}


def portal_driver(i: int) -> dict[str, Any]:
    return {
        "driver_id": i,
        "ref_id": f"R-{i}",
        "firstname": f"First{i}",
        "lastname": f"Last{i}",
        "email": f"driver{i}@example.com",
        "phone": f"+1555{i:07d}",
        "license_number": f"L-{i}",
        "group": f"Group {i % 20}",
        "driveri_driver_id": f"D-{i}",
    }


def driveri_driver(i: int) -> dict[str, Any]:
    d = portal_driver(i)
    return {
        "driverId": d["driveri_driver_id"],
        "firstName": d["firstname"],
        "lastName": d["lastname"],
        "email": d["email"],
        "phone": d["phone"],
        "licenseNumber": d["license_number"],
        "group": d["group"],
    }


class Bench:
    def __init__(self, stack: LocalStack, sandbox: httpx.Client, factor: float) -> None:
        self.stack, self.sandbox, self.factor = stack, sandbox, factor
        self.rate = DRIVERI_PER_SECOND * factor
        self.peak = 0.0

    def driveri_log(self) -> list[dict[str, Any]]:
        return list(self.sandbox.get("/_sandbox/driveri/requests").json()["requests"])

    def driveri_drivers(self) -> list[dict[str, Any]]:
        return list(self.sandbox.get("/_sandbox/driveri/state").json()["drivers"])

    def run(self, start: Any, done: Any) -> float:
        """Time from `start()` until `done()` holds and the queues are empty."""
        began = time.perf_counter()
        start()
        while not done():
            self.peak = max(self.peak, peak_rss_mib(self.stack.runtime.pool(WORKER).worker_pids))
            if time.perf_counter() - began > 3600:
                raise SystemExit("timed out")
            time.sleep(0.5)
        self.stack.drain(600)
        self.peak = max(self.peak, peak_rss_mib(self.stack.runtime.pool(WORKER).worker_pids))
        return time.perf_counter() - began

    def report(self, phase: str, elapsed: float, calls: list[dict[str, Any]], bound: int) -> None:
        kinds = Counter(
            f"{c['method']} {'/drivers' if '/drivers' in c['path'] else c['path']}" for c in calls
        )
        lower = bound / self.rate
        print(
            f"{phase}: {elapsed:.1f} s   Driveri lower bound ({bound} calls at {self.rate:g}/s): "
            f"{lower:.1f} s   ratio {elapsed / lower:.3f} (goal <= 1.15)"
        )
        print(f"  Driveri calls by kind: {dict(kinds)}")


def state_summary(api: httpx.Client, connection_id: str) -> dict[str, Any]:
    response = api.get(f"/connections/{connection_id}/reports/drift/latest")
    return dict(response.json()) if response.status_code == 200 else {}


PROBE = """
import sys, tracemalloc
from fleetbridge.core.connections import ConnectionRepository
from fleetbridge.flows.gpsinsight_driveri.context import context_for
from fleetbridge.flows.gpsinsight_driveri.reconcile import reconcile_drivers
ctx = context_for(ConnectionRepository().get(sys.argv[1]))
ctx.driveri.check()
ctx.portal.login()
tracemalloc.start()
reconcile_drivers(ctx, dry_run=True, source_event="bench")
print(tracemalloc.get_traced_memory()[1])
"""


def memory_probe(stack: LocalStack, sandbox: httpx.Client, connection_id: str, n: int) -> None:
    """Peak Python allocations of a dry-run reconciliation at N/4, N/2 and N drivers (portal and
    Driveri both holding them), measured with tracemalloc in a fresh process that has the
    worker's environment, so only the flow is measured, not the stack's moto and sandboxes."""
    env = {**os.environ, **stack.environment(stack.functions[WORKER])}
    env["PYTHONPATH"] = os.pathsep.join(["layers/fleetbridge", "."])
    print("memory probe (fresh process, dry-run reconciliation, peak traced allocations):")
    previous = None
    for size in (n // 4, n // 2, n):
        for vendor in ("gpsinsight", "driveri"):
            sandbox.post(f"/_sandbox/{vendor}/reset").raise_for_status()
        sandbox.post(
            "/_sandbox/gpsinsight/seed",
            json={"drivers": [portal_driver(i) for i in range(1, size + 1)]},
        ).raise_for_status()
        sandbox.post(
            "/_sandbox/driveri/seed",
            json={"drivers": [driveri_driver(i) for i in range(1, size + 1)]},
        ).raise_for_status()
        peak = _rss(env, connection_id, "run")
        growth = "" if previous is None else f"   x{peak / previous:.2f} for x2 drivers"
        print(
            f"  {size:6d} drivers: {peak / 2**20:6.1f} MiB "
            f"({peak / size / 1024:.2f} KiB/driver){growth}"
        )
        previous = peak


def _rss(env: dict[str, str], connection_id: str, mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, connection_id],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drivers", type=int, default=10_000)
    parser.add_argument(
        "--time-factor",
        type=float,
        default=1.0,
        help="sandbox clock speed-up (1 = Driveri's real 10/s)",
    )
    parser.add_argument("--drift", type=float, default=0.02, help="share edited in Driveri")
    parser.add_argument("--changes", type=float, default=0.01, help="share changed in the portal")
    parser.add_argument("--no-memory-probe", action="store_true")
    parser.add_argument(
        "--memory-only", action="store_true", help="skip the sync phases: only the memory probe"
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    n = args.drivers
    os.environ["FLEETBRIDGE_SANDBOX_LOG_SIZE"] = str(4 * n + 1000)  # count every call
    log_dir = Path(tempfile.mkdtemp(prefix="fleetbridge-bench-"))
    with (
        LocalStack(
            log_dir=log_dir,
            time_factor=args.time_factor,
            api_port=0,
            aws_port=0,
            sandbox_port=0,
            schedules=False,
        ) as stack,
        httpx.Client(base_url=stack.sandbox_url, timeout=120) as sandbox,
    ):
        bench = Bench(stack, sandbox, args.time_factor)
        tenant = httpx.post(f"{stack.api_url}/_local/tenants", json={"name": "Bench"}).json()
        api = httpx.Client(
            base_url=stack.api_url,
            timeout=120,
            headers={"Authorization": f"Bearer {tenant['api_key']}"},
        )
        connection = (
            api.post(
                "/connections",
                json={"flow": "gpsinsight-driveri", "name": "bench", "credentials": CREDENTIALS},
            )
            .raise_for_status()
            .json()
        )
        sandbox.post(
            "/_sandbox/gpsinsight/seed",
            json={"drivers": [portal_driver(i) for i in range(1, n + 1)]},
        ).raise_for_status()
        print(f"drivers: {n}   time factor: {args.time_factor:g} (Driveri {bench.rate:g}/s)")
        if args.memory_only:
            memory_probe(stack, sandbox, connection["id"], n)
            return

        # ---- first sync: the reconciliation queued by the opt-in
        before = len(bench.driveri_log())
        elapsed = bench.run(
            lambda: api.post(
                f"/connections/{connection['id']}/driver-sync",
                json={
                    "enabled": True,
                    "portal_user": "sandbox-gps-user",
                    "portal_password": "sandbox-gps-pass",
                },
            ).raise_for_status(),
            lambda: bool(state_summary(api, connection["id"]).get("complete")),
        )
        calls = [c for c in bench.driveri_log()[before:] if "/auth/" not in c["path"]]
        writes = [c for c in calls if c["method"] != "GET"]
        bench.report("first sync", elapsed, calls, n + 1)
        print(
            f"  writes per driver: {len(writes) / n:.3f} (goal 1)   Driveri drivers: "
            f"{len(bench.driveri_drivers())}"
        )

        # ---- drift: 2 % edited in Driveri, 1 % changed in the portal (disjoint)
        rng = random.Random(7)
        picked = rng.sample(
            range(1, n + 1), math.ceil(n * args.drift) + math.ceil(n * args.changes)
        )
        drifted = set(picked[: math.ceil(n * args.drift)])
        changed = set(picked[math.ceil(n * args.drift) :])
        edited = [
            {**d, "lastName": "EditedInDriveri"}
            for d in bench.driveri_drivers()
            if int(d["driverId"][2:]) in drifted
        ]
        sandbox.post("/_sandbox/driveri/seed", json={"drivers": edited}).raise_for_status()
        sandbox.post(
            "/_sandbox/gpsinsight/seed",
            json={"drivers": [{**portal_driver(i), "group": "Moved"} for i in sorted(changed)]},
        ).raise_for_status()

        # ---- the daily reconciliation
        before = len(bench.driveri_log())
        first_run_at = state_summary(api, connection["id"]).get("run_at")
        elapsed = bench.run(
            lambda: stack.invoke(WORKER.replace("Worker", "Daily"), _schedule_event()),
            lambda: state_summary(api, connection["id"]).get("run_at") != first_run_at,
        )
        calls = [c for c in bench.driveri_log()[before:] if "/auth/" not in c["path"]]
        writes = [c for c in calls if c["method"] != "GET"]
        pages = math.ceil(n / PAGE)
        bench.report("daily reconciliation", elapsed, calls, pages + len(drifted) + len(changed))
        written = {c["path"].rsplit("/", 1)[-1] for c in writes}
        expected = {f"D-{i}" for i in drifted | changed}
        print(
            f"  changed drivers: {len(expected)}   writes per changed driver: "
            f"{len(writes) / len(expected):.3f} (goal 1)   writes to unchanged drivers: "
            f"{len(written - expected)} (goal 0)   changed drivers not written: "
            f"{len(expected - written)}"
        )
        summary = state_summary(api, connection["id"])
        print(
            f"  drift report: {len(summary.get('drivers', []))} lines, summary {summary.get('summary')}"
        )
        print(f"peak resident memory of a worker process: {bench.peak:.0f} MiB")
        if not args.no_memory_probe:
            memory_probe(stack, sandbox, connection["id"], n)
        api.close()


def _schedule_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"bench-{time.time_ns()}",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": "2026-11-23T06:00:00Z",
        "resources": [],
        "detail": {},
    }


if __name__ == "__main__":
    main()
