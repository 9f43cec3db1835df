"""Striven → Onfleet: a first sync of N Striven tasks (10 % ineligible, 200 employees, 10 teams),
then one poll with 5 % of the tasks changed.

Runs on the local stack (`LocalStack`: moto server, worker processes like Lambda's, schedules
off so only the bench triggers work) with the sandbox clocks and our rate limiters sped up by
`--time-factor`. Each phase starts by invoking the poll schedule's function, as EventBridge
would, and ends when every queue is empty.

Prints, for each phase: Onfleet calls per synced task (goal: 1 task call per synced task, 0 for
unchanged ones; the driver and team calls of a first sync are shown apart), total time against
the Onfleet rate-limit lower bound (every Onfleet call the phase must make at 20/s x factor;
goal <= 1.15; our shared limiter spaces calls 1/19 s x 1.02 apart, so 1.073 is the best a run
can reach), the Striven calls, and the worker processes' peak resident memory. Then the
memory probe: the poll's peak traced allocations at N/4, N/2 and N tasks (goal: flat, the task
pages are streamed into the queue).
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import os
import random
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bench.fleetio_keycafe import peak_rss_mib
from local.stack.stack import LocalStack

ONFLEET_PER_SECOND = 20
WORKER = "StrivenOnfleetWorkerFunction"
POLL = "StrivenOnfleetPollFunction"
ZONE = "America/Chicago"
CREDENTIALS = {
    "striven_client_id": "sandbox-striven-client",
    "striven_client_secret": "sandbox-striven-secret",
    "onfleet_api_key": "sandbox-onfleet-key",
}
INELIGIBLE = (  # every tenth task, one reason after the other
    {"customer": None},
    {"status": "In Progress"},
    {"assignedTo": []},
    {"startDate": "far", "dueDate": "far"},
)


def local(hours: float) -> str:
    moment = datetime.now(UTC) + timedelta(hours=hours)
    return moment.astimezone(ZoneInfo(ZONE)).replace(tzinfo=None).isoformat(timespec="seconds")


def world(tasks: int, employees: int, teams: int) -> dict[str, Any]:
    """The Striven seed: types, employees (one unique mobile each), teams, tasks."""
    # explicit versions: seeding thousands at once would run the sandbox's clock ahead of ours
    soon, later, far, updated = local(1), local(3), local(72), local(-0.05)
    records = []
    for i in range(1, tasks + 1):
        task: dict[str, Any] = {
            "id": i,
            "title": f"Visit {i}",
            "description": "Ring twice",
            "status": "Open",
            "type": 1,
            "customer": {"id": 10_000 + i, "name": f"Customer {i}", "phone": "3125550199"},
            "assignedTo": [(i - 1) % employees + 1],
            "startDate": soon,
            "dueDate": later,
            "lastUpdatedDate": updated,
            "location": {
                "name": f"Site {i}",
                "address": {"address1": f"{i} Main St", "city": "Springfield", "state": "IL"},
                "latitude": 39.0 + (i % 1000) / 1000,
                "longitude": -89.6,
            },
        }
        if i % 10 == 0:
            change = dict(INELIGIBLE[(i // 10) % len(INELIGIBLE)])
            if change.get("startDate") == "far":
                change = {"startDate": far, "dueDate": far}
            task.update(change)
        records.append(task)
    return {
        "settings": {"time_zone": ZONE},
        "task_types": [{"id": 1, "name": "Service"}],
        "employees": [
            {
                "id": e,
                "firstName": "Driver",
                "lastName": str(e),
                "phones": [{"phoneType": "Mobile", "number": f"+1312555{e:04d}"}],
            }
            for e in range(1, employees + 1)
        ],
        "teams": [
            {
                "id": t,
                "name": f"Team {t}",
                "memberIds": [e for e in range(1, employees + 1) if (e - 1) % teams + 1 == t],
            }
            for t in range(1, teams + 1)
        ],
        "tasks": records,
    }


def schedule_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"bench-{time.time_ns()}",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": [],
        "detail": {},
    }


class Bench:
    def __init__(self, stack: LocalStack, sandbox: httpx.Client, factor: float) -> None:
        self.stack, self.sandbox, self.factor = stack, sandbox, factor
        self.rate = ONFLEET_PER_SECOND * factor

    def log(self, vendor: str) -> list[dict[str, Any]]:
        return list(self.sandbox.get(f"/_sandbox/{vendor}/requests").json()["requests"])

    def poll(self) -> float:
        """Invoke the poll schedule's function; time until every queue is empty.

        This process hosts the local stack's moto and vendor sandboxes (threads under one GIL):
        a garbage collection of their large heap stalls every AWS and vendor call of every
        worker for up to two seconds (measured: 0-call seconds in the Onfleet request log). An
        emulator artifact, not the flow's: the collector is off while a phase is timed (the
        worker processes keep theirs).
        """
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            began = time.perf_counter()
            answer = self.stack.invoke(POLL, schedule_event())
            if answer.error:
                raise SystemExit(f"the poll function failed: {answer.error}")
            self.stack.drain(3600)
            return time.perf_counter() - began
        finally:
            gc.enable()
            gc.unfreeze()

    def report(self, phase: str, elapsed: float, calls: list[dict[str, Any]], bound: int) -> None:
        lower = bound / self.rate
        print(
            f"{phase}: {elapsed:.1f} s   Onfleet lower bound ({bound} calls at {self.rate:g}/s): "
            f"{lower:.1f} s   ratio {elapsed / lower:.3f} (goal <= 1.15)"
        )
        print(f"  Onfleet calls by kind: {dict(sorted(kinds(calls).items()))}")


def kinds(calls: Iterable[dict[str, Any]]) -> Counter[str]:
    """`METHOD /path` counts, the vendor prefix dropped and ids folded."""
    out: Counter[str] = Counter()
    for call in calls:
        path = call["path"].split("/api/v2", 1)[-1] if "/api/v2" in call["path"] else call["path"]
        parts = [p for p in path.split("/") if p and p != "striven"]
        parts = ["{id}" if p[:1].isdigit() or len(p) == 24 else p for p in parts]
        out[f"{call['method']} /{'/'.join(parts)}"] += 1
    return out


def memory_probe(stack: LocalStack, sandbox: httpx.Client, connection_id: str, n: int) -> None:
    """Peak traced allocations of the poll (messages counted, not sent) at N/4, N/2 and N."""
    os.environ.update(stack.environment(stack.functions[WORKER]))
    from fleetbridge.core.aws import reset_clients
    from fleetbridge.core.config import get_settings
    from fleetbridge.core.connections import ConnectionRepository
    from fleetbridge.flows.striven_onfleet import POLL_CURSOR, STATE_ID
    from fleetbridge.flows.striven_onfleet import poll as poll_module
    from fleetbridge.flows.striven_onfleet.context import context_for

    get_settings.cache_clear()
    reset_clients()
    connection = ConnectionRepository().get(connection_id)
    poll_module.publish_many = lambda messages: sum(1 for _ in messages)  # type: ignore[assignment]
    print("memory probe (one poll reading every task, messages built but not sent):")
    previous = None
    for size in (n // 4, n // 2, n):
        sandbox.post("/_sandbox/striven/reset").raise_for_status()
        sandbox.post("/_sandbox/striven/seed", json=world(size, 200, 10)).raise_for_status()
        ctx = context_for(connection)
        gc.collect()  # garbage of the previous size must not count for this one
        state = ctx.mappings.get(POLL_CURSOR, STATE_ID)
        if state is not None:
            ctx.mappings.delete(state)  # no high-water mark: the poll reads all `size` tasks
        tracemalloc.start()
        summary = poll_module.poll_tasks(ctx, poll_id="bench-probe")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        ctx.close()
        assert summary.get("read") == size, summary
        growth = "" if previous is None else f"   x{peak / previous:.2f} for x2 tasks"
        print(f"  {size:6d} tasks: {peak / 2**20:6.2f} MiB peak{growth}")
        previous = peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--employees", type=int, default=200)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--changed", type=float, default=0.05, help="share changed for the poll")
    parser.add_argument("--time-factor", type=float, default=1.0)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=3,
        help="worker processes (the local stack's default; Lambda runs up to 10)",
    )
    parser.add_argument(
        "--tasks-per-message", type=int, default=10, help="1: one queued message per task"
    )
    parser.add_argument(
        "--onfleet-latency-ms",
        type=float,
        default=0,
        help="added to every Onfleet answer (the sandbox's latency fault): production-like "
        "latency, e.g. 150, to compare designs; 0 = the sandbox's own few milliseconds",
    )
    parser.add_argument("--no-memory-probe", action="store_true")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    os.environ["FLEETBRIDGE_SANDBOX_LOG_SIZE"] = str(args.tasks * 4 + 10_000)
    n = args.tasks
    log_dir = Path(tempfile.mkdtemp(prefix="fleetbridge-bench-"))
    with (
        LocalStack(
            log_dir=log_dir,
            time_factor=args.time_factor,
            concurrency=args.concurrency,
            env_overrides={"TASKS_PER_MESSAGE": str(args.tasks_per_message)},
            api_port=0,
            aws_port=0,
            sandbox_port=0,
            schedules=False,
        ) as stack,
        httpx.Client(base_url=stack.sandbox_url, timeout=300) as sandbox,
    ):
        bench = Bench(stack, sandbox, args.time_factor)
        tenant = httpx.post(f"{stack.api_url}/_local/tenants", json={"name": "Bench"}).json()
        api = httpx.Client(
            base_url=stack.api_url,
            timeout=120,
            headers={"Authorization": f"Bearer {tenant['api_key']}"},
        )
        if args.onfleet_latency_ms:
            sandbox.post(
                "/_sandbox/onfleet/faults", json={"latency_ms": args.onfleet_latency_ms}
            ).raise_for_status()
        seed = world(n, args.employees, args.teams)
        sandbox.post("/_sandbox/striven/seed", json=seed).raise_for_status()
        connection = (
            api.post(
                "/connections",
                json={
                    "flow": "striven-onfleet",
                    "name": "bench",
                    "credentials": CREDENTIALS,
                    "settings": {
                        "time_zone": ZONE,
                        "task_type_ids": [1],
                        "team_ids": list(range(1, args.teams + 1)),
                        "teams": seed["teams"],  # the default team source
                        "notify_recipients": ["dispatch@example.com"],
                        "poll_minutes": 1,
                    },
                },
            )
            .raise_for_status()
            .json()
        )
        eligible = n - n // 10
        print(
            f"tasks: {n} ({eligible} eligible)   employees: {args.employees}   teams: "
            f"{args.teams}   time factor: {args.time_factor:g} (Onfleet {bench.rate:g}/s, "
            f"Striven {100 * args.time_factor:g}/min)   worker processes: {args.concurrency}"
        )

        # ---- first sync: the first poll reads every task
        onfleet_before, striven_before = len(bench.log("onfleet")), len(bench.log("striven"))
        first = bench.poll()
        calls = bench.log("onfleet")[onfleet_before:]
        by_kind = kinds(calls)
        tasks_in_onfleet = len(sandbox.get("/_sandbox/onfleet/state").json()["tasks"])
        drivers = len({t["assignedTo"][0] for t in seed["tasks"] if t["id"] % 10})
        bound = eligible + 2 * drivers + args.teams  # tasks, GET+POST per new driver, teams
        bench.report("first sync", first, calls, bound)
        print(
            f"  tasks created: {tasks_in_onfleet} of {eligible}   task calls per synced task: "
            f"{by_kind['POST /tasks'] / eligible:.3f} (goal 1)   all Onfleet calls per synced "
            f"task: {len(calls) / eligible:.3f} (drivers and teams included)"
        )
        print(f"  Striven calls: {dict(kinds(bench.log('striven')[striven_before:]))}")

        # ---- one poll with 5 % changed (titles: a fingerprinted field)
        rng = random.Random(5)
        changed = sorted(rng.sample([i for i in range(1, n + 1) if i % 10], math.ceil(n * 0.05)))
        sandbox.post(
            "/_sandbox/striven/seed",
            json={
                "tasks": [
                    {"id": i, "title": f"Visit {i}, moved", "lastUpdatedDate": local(-0.001)}
                    for i in changed
                ]
            },
        ).raise_for_status()
        onfleet_before, striven_before = len(bench.log("onfleet")), len(bench.log("striven"))
        second = bench.poll()
        calls = bench.log("onfleet")[onfleet_before:]
        writes = [c for c in calls if c["method"] != "GET"]
        bench.report("poll with 5 % changed", second, calls, len(changed))
        written = {c["path"].rsplit("/", 1)[-1] for c in writes}
        state = {t["id"]: t for t in sandbox.get("/_sandbox/onfleet/state").json()["tasks"]}
        expected = {
            t["id"]
            for t in state.values()
            for m in t.get("metadata") or []
            if m["name"] == "strivenTaskId" and int(m["value"]) in set(changed)
        }
        print(
            f"  changed tasks: {len(changed)}   Onfleet calls per changed task: "
            f"{len(calls) / len(changed):.3f} (goal 1)   calls for unchanged tasks: "
            f"{len(written - expected)} (goal 0)   changed tasks not written: "
            f"{len(expected - written)}"
        )
        print(f"  Striven calls: {dict(kinds(bench.log('striven')[striven_before:]))}")
        total_bound = (bound + len(changed)) / bench.rate
        print(
            f"both phases: {first + second:.1f} s vs {total_bound:.1f} s lower bound: ratio "
            f"{(first + second) / total_bound:.3f} (goal <= 1.15)"
        )
        pids = stack.runtime.pool(WORKER).worker_pids
        print(f"peak resident memory of a worker process: {peak_rss_mib(pids):.0f} MiB")
        if not args.no_memory_probe:
            memory_probe(stack, sandbox, connection["id"], n)
        api.close()


if __name__ == "__main__":
    main()
