"""Exactly once, never stuck: every flow under duplicates, vendor faults and crashes (issue 12).

Runs on the local stack (`LocalStack`: moto, API emulator, SQS poller with its DLQs, worker
processes like Lambda's) with the sandbox clocks sped up, the queue visibility timeouts scaled
down and the function timeouts capped (`--max-timeout`, so a Retry-After can outlast a
function). Per flow and scenario it pushes changes through the vendors' own APIs (Fleetio
assignments whose webhooks reach the stack; Striven tasks and GPS Insight drivers read by
polls and syncs), waits for the queues, clears the faults, replays the dead letters through the
API and waits again. Every count comes from the sandboxes' state and request logs, never from
our own tables:

- pushed: source changes made; retries: vendor answers that asked for a retry (429, 5xx,
  timeouts, lost answers) and worker processes killed by the crash fault;
- dead letters / replayed: messages in the flow's DLQ after the faults, and replayed;
- lost: source records with no target object at the end (goal 0);
- duplicated: target objects beyond one per source record (goal 0);
- stuck: after the faults cleared and the replay, source records still not in the target, plus
  messages left in the DLQ (goal 0).

Scenarios (`SCENARIOS`): `dupes` (the same delivery x3 and the same content under new ids),
`faults` (20 % 429 with the vendor's headers, part of them with a Retry-After past the
function's time, 10 % 5xx, 5 % timeouts, 5 % lost answers, 50 ms latency), `crash` (a worker
killed after 30 % of its vendor writes, before its next step), `race` (two deliveries of one
record at once). Other scenarios join as rows through `SCENARIOS` (e.g. a credential revoked,
an empty source list). `python bench/reliability.py` prints one table; `--quick` is the short
mode the tests run (`tests/reliability/`).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx

from local.stack.stack import LocalStack

FAULTS = {
    "status_429": 0.2,
    "status_5xx": 0.1,
    "timeout": 0.05,
    "lost_response": 0.05,
    "latency_ms": 50,
    "timeout_ms": 1500,
}
CRASH = {"crash_after_vendor_write": 0.3}
FLEETIO_HEADERS = {
    "Authorization": "Token sandbox-fleetio-key",
    "Account-Token": "sandbox-fleetio-account",
}


@dataclass
class Row:
    """One line of the table."""

    flow: str
    scenario: str
    pushed: int = 0
    retries: int = 0
    dead_letters: int = 0
    replayed: int = 0
    lost: int = 0
    duplicated: int = 0
    stuck: int = 0
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The goals: nothing lost, doubled or stuck."""
        return self.lost == 0 and self.duplicated == 0 and self.stuck == 0


# ----------------------------------------------------------------------------- the world
class World:
    """The running stack, one tenant, and helpers over the sandboxes and the API."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.max_timeout = stack.settings.max_timeout or 60.0
        self.sandbox = httpx.Client(base_url=stack.sandbox_url, timeout=120)
        tenant = httpx.post(f"{stack.api_url}/_local/tenants", json={"name": "Reliability"})
        tenant.raise_for_status()
        self.api = httpx.Client(
            base_url=stack.api_url,
            timeout=120,
            headers={"Authorization": f"Bearer {tenant.json()['api_key']}"},
        )
        self.sqs = boto3.client(
            "sqs",
            endpoint_url=stack.aws_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def close(self) -> None:
        self.sandbox.close()
        self.api.close()

    def faults(self, vendors: tuple[str, ...], body: dict[str, Any]) -> None:
        for vendor in vendors:
            self.sandbox.post(f"/_sandbox/{vendor}/faults", json=body).raise_for_status()

    def crash(self, body: dict[str, Any]) -> None:
        httpx.post(f"{self.stack.api_url}/_local/faults", json=body).raise_for_status()

    def log(self, vendor: str) -> list[dict[str, Any]]:
        return list(self.sandbox.get(f"/_sandbox/{vendor}/requests").json()["requests"])

    def state(self, vendor: str) -> dict[str, Any]:
        return dict(self.sandbox.get(f"/_sandbox/{vendor}/state").json())

    def drain(self, timeout: float = 600) -> None:
        """Wait for every queue (failed messages count until retried or dead-lettered)."""
        self.stack.drain(timeout)

    def dead_letters(self, connection_id: str) -> int:
        answer = self.api.get(f"/connections/{connection_id}/dead-letters")
        answer.raise_for_status()
        return len(answer.json()["items"])

    def replay(self, connection_id: str) -> int:
        answer = self.api.post(f"/connections/{connection_id}/dead-letters/replay", json={})
        answer.raise_for_status()
        return len(answer.json()["replayed"])

    def crashes(self, worker: str) -> int:
        path = self.stack.log_dir / f"{worker}.log"
        return path.read_text(errors="replace").count("[CRASH]") if path.exists() else 0


def _retries(log: list[dict[str, Any]]) -> int:
    return sum(1 for e in log if e.get("fault") or e.get("status") == 429)


# ----------------------------------------------------------------------------- flows
class FlowDriver:
    """What a scenario needs from one flow: set up, push changes, trigger, count."""

    flow = ""
    worker = ""
    vendors: tuple[str, ...] = ()
    faulted: tuple[str, ...] = ()  # the vendors faults are injected into

    def __init__(self, world: World) -> None:
        self.world = world
        self.connection_id = ""
        self.expected: set[str] = set()
        self.crashes_before = 0

    def setup(self, n: int) -> None:
        raise NotImplementedError

    def push(self, n: int) -> int:
        """Make `n` source changes and let them reach the stack; returns how many."""
        raise NotImplementedError

    def push_again(self) -> None:
        """The same delivery three times and the same content under new ids."""
        raise NotImplementedError

    def race(self) -> None:
        """Two deliveries of one record at once."""
        self.push_again()

    def settle(self) -> None:
        """After the faults: the flow's own next trigger (a poll or sync), as in production."""

    def targets(self) -> Counter[str]:
        """Target objects per source key, from the target sandbox's state."""
        raise NotImplementedError


class FleetioKeycafe(FlowDriver):
    flow = "fleetio-keycafe"
    worker = "FleetioKeycafeWorkerFunction"
    vendors = ("fleetio", "keycafe")
    faulted = ("keycafe", "fleetio")  # Fleetio: the reads and the write-back of the access
    SECRET = "reliability-fleetio-webhook-secret"

    def setup(self, n: int) -> None:
        w = self.world
        connection = w.api.post(
            "/connections",
            json={
                "flow": self.flow,
                "name": "reliability",
                "credentials": {
                    "fleetio_api_key": "sandbox-fleetio-key",
                    "fleetio_account_token": "sandbox-fleetio-account",
                    "fleetio_webhook_secret": self.SECRET,
                    "keycafe_email": "ops@sandbox.example",
                    "keycafe_token": "sandbox-keycafe-token",
                },
                "settings": {"admin_emails": ["ops@example.com"]},
            },
        )
        connection.raise_for_status()
        self.connection_id = connection.json()["id"]
        w.sandbox.post(
            "/_sandbox/fleetio/seed",
            json={
                "vehicles": [{"id": i, "name": f"Van {i}"} for i in range(1, n + 1)],
                "contacts": [
                    {"id": i, "first_name": "D", "last_name": str(i), "email": f"d{i}@example.com"}
                    for i in range(1, n + 1)
                ],
                "webhooks": [
                    {
                        "url": connection.json()["webhook_urls"]["fleetio"],
                        "secret": self.SECRET,
                        "events": ["vehicle_assignment_created", "vehicle_assignment_updated"],
                    }
                ],
            },
        ).raise_for_status()
        w.sandbox.post(
            "/_sandbox/keycafe/seed",
            json={"keys": [{"id": 1000 + i, "name": f"Van {i} key"} for i in range(1, n + 1)]},
        ).raise_for_status()
        for i in range(1, n + 1):
            w.api.put(
                f"/connections/{self.connection_id}/vehicles/{i}/link", json={"key_id": 1000 + i}
            ).raise_for_status()
        self.vehicles = n

    def push(self, n: int) -> int:
        start = datetime.now(UTC) + timedelta(hours=1)
        for i in range(1, n + 1):
            body = {
                "vehicle_id": (i - 1) % self.vehicles + 1,
                "contact_id": (i - 1) % self.vehicles + 1,
                "started_at": (start + timedelta(days=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ended_at": (start + timedelta(days=i, hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            answer = self.world.sandbox.post(
                "/fleetio/api/v1/vehicle_assignments", json=body, headers=FLEETIO_HEADERS
            )
            answer.raise_for_status()
            self.expected.add(str(answer.json()["id"]))
        self.world.sandbox.get("/_sandbox/fleetio/webhook-deliveries", params={"wait": 30})
        return n

    def push_again(self) -> None:
        w = self.world
        deliveries = w.sandbox.get("/_sandbox/fleetio/webhook-deliveries").json()["deliveries"]
        for delivery in deliveries:  # the same delivery twice more (3 in all)
            for _ in range(2):
                w.sandbox.post(f"/_sandbox/fleetio/webhook-deliveries/{delivery['id']}/redeliver")
        for assignment_id in sorted(self.expected):  # the same content under a new event id
            current = w.sandbox.get(
                f"/fleetio/api/v1/vehicle_assignments/{assignment_id}", headers=FLEETIO_HEADERS
            ).json()
            w.sandbox.patch(
                f"/fleetio/api/v1/vehicle_assignments/{assignment_id}",
                json={"started_at": current["started_at"]},
                headers=FLEETIO_HEADERS,
            )
        w.sandbox.get("/_sandbox/fleetio/webhook-deliveries", params={"wait": 30})

    def settle(self) -> None:
        # the daily reconciliation books what is still missing
        self.world.api.post(
            f"/connections/{self.connection_id}/sync", params={"dry_run": "false"}
        ).raise_for_status()

    def targets(self) -> Counter[str]:
        found: Counter[str] = Counter()
        for access in self.world.state("keycafe")["accesses"]:
            name = access.get("name") or ""
            if access.get("status") == "ACTIVE" and name.endswith(f" · {self.connection_id}"):
                found[name.split(" · assignment ")[1].split(" · ")[0]] += 1
        return found


class StrivenOnfleet(FlowDriver):
    flow = "striven-onfleet"
    worker = "StrivenOnfleetWorkerFunction"
    vendors = ("striven", "onfleet")
    faulted = ("onfleet",)
    ZONE = "America/Chicago"

    def _local(self, hours: float) -> str:
        from zoneinfo import ZoneInfo

        moment = datetime.now(UTC) + timedelta(hours=hours)
        return moment.astimezone(ZoneInfo(self.ZONE)).replace(tzinfo=None).isoformat("T", "seconds")

    def setup(self, n: int) -> None:
        self.employees = max(2, n // 10)
        team = {"id": 1, "name": "Team 1", "memberIds": list(range(1, self.employees + 1))}
        self.world.sandbox.post(
            "/_sandbox/striven/seed",
            json={
                "task_types": [{"id": 1, "name": "Service"}],
                "employees": [
                    {
                        "id": e,
                        "firstName": "Driver",
                        "lastName": str(e),
                        "phones": [{"phoneType": "Mobile", "number": f"+1312555{e:04d}"}],
                    }
                    for e in range(1, self.employees + 1)
                ],
                "teams": [team],
            },
        ).raise_for_status()
        connection = self.world.api.post(
            "/connections",
            json={
                "flow": self.flow,
                "name": "reliability",
                "credentials": {
                    "striven_client_id": "sandbox-striven-client",
                    "striven_client_secret": "sandbox-striven-secret",
                    "onfleet_api_key": "sandbox-onfleet-key",
                },
                "settings": {
                    "time_zone": self.ZONE,
                    "task_type_ids": [1],
                    "team_ids": [1],
                    "teams": [team],
                    "notify_recipients": ["dispatch@example.com"],
                    "poll_minutes": 1,
                },
            },
        )
        connection.raise_for_status()
        self.connection_id = connection.json()["id"]
        self.next_id = 1

    def push(self, n: int) -> int:
        tasks = []
        for i in range(self.next_id, self.next_id + n):
            tasks.append(
                {
                    "id": i,
                    "title": f"Visit {i}",
                    "status": "Open",
                    "type": 1,
                    "customer": {"id": 10_000 + i, "name": f"Customer {i}"},
                    "assignedTo": [(i - 1) % self.employees + 1],
                    "startDate": self._local(1),
                    "dueDate": self._local(3),
                    "location": {
                        "name": f"Site {i}",
                        "address": {"address1": f"{i} Main St", "city": "Springfield"},
                        "latitude": 39.5,
                        "longitude": -89.6,
                    },
                }
            )
            self.expected.add(str(i))
        self.next_id += n
        self.world.sandbox.post("/_sandbox/striven/seed", json={"tasks": tasks})
        self._poll()
        return n

    def _poll(self) -> None:
        """The one-minute schedule fires (every connection's interval is one minute)."""
        event = {
            "version": "0",
            "id": f"reliability-{time.time_ns()}",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "time": _now_text(),
            "resources": [],
            "detail": {},
        }
        answer = self.world.stack.invoke("StrivenOnfleetPollFunction", event)
        if not answer.ok:
            raise RuntimeError(f"the poll function failed: {answer.error}")

    def push_again(self) -> None:
        for _ in range(3):  # the same content three times, each under a new message id
            self._poll()

    def settle(self) -> None:
        self._poll()

    def targets(self) -> Counter[str]:
        found: Counter[str] = Counter()
        for task in self.world.state("onfleet")["tasks"]:
            for meta in task.get("metadata") or []:
                if meta.get("name") == "strivenTaskId":
                    found[str(meta.get("value"))] += 1
        return found


class GpsInsightDriveri(FlowDriver):
    flow = "gpsinsight-driveri"
    worker = "GpsInsightDriveriWorkerFunction"
    vendors = ("gpsinsight", "driveri")
    faulted = ("driveri",)

    def setup(self, n: int) -> None:
        connection = self.world.api.post(
            "/connections",
            json={
                "flow": self.flow,
                "name": "reliability",
                "credentials": {
                    "driveri_client_id": "sandbox-driveri-client",
                    "driveri_client_secret": "sandbox-driveri-secret",
                    "driveri_tenant": "sandbox-tenant",
                    "gpsinsight_username": "sandbox-gps-user",
                    "gpsinsight_password": "sandbox-gps-pass",
                },
            },
        )
        connection.raise_for_status()
        self.connection_id = connection.json()["id"]
        self.next_id = 1
        self.opted_in = False

    def push(self, n: int) -> int:
        drivers = []
        for i in range(self.next_id, self.next_id + n):
            drivers.append(
                {
                    "driver_id": i,
                    "ref_id": f"R-{i}",
                    "firstname": f"First{i}",
                    "lastname": f"Last{i}",
                    "email": f"driver{i}@example.com",
                    "driveri_driver_id": f"D-{i}",
                }
            )
            self.expected.add(f"D-{i}")
        self.next_id += n
        self.world.sandbox.post("/_sandbox/gpsinsight/seed", json={"drivers": drivers})
        if not self.opted_in:  # the opt-in queues the first sync
            self.world.api.post(
                f"/connections/{self.connection_id}/driver-sync",
                json={
                    "enabled": True,
                    "portal_user": "sandbox-gps-user",
                    "portal_password": "sandbox-gps-pass",
                },
            ).raise_for_status()
            self.opted_in = True
        else:
            self._sync()
        return n

    def _sync(self) -> None:
        self.world.api.post(
            f"/connections/{self.connection_id}/sync", params={"dry_run": "false"}
        ).raise_for_status()

    def push_again(self) -> None:
        for _ in range(3):
            self._sync()

    def settle(self) -> None:
        self._sync()

    def targets(self) -> Counter[str]:
        return Counter(
            str(d["driverId"])
            for d in self.world.state("driveri")["drivers"]
            if str(d.get("driverId", "")).startswith("D-")
        )


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


FLOWS: dict[str, type[FlowDriver]] = {
    "fleetio-keycafe": FleetioKeycafe,
    "striven-onfleet": StrivenOnfleet,
    "gpsinsight-driveri": GpsInsightDriveri,
}


# ----------------------------------------------------------------------------- scenarios
def _finish(world: World, driver: FlowDriver, row: Row, began: float) -> Row:
    """Faults cleared: drain, replay the dead letters, let the flow's next trigger run, count."""
    world.faults(driver.faulted, {})
    world.crash({})
    world.drain()
    row.dead_letters = world.dead_letters(driver.connection_id)
    if row.dead_letters:
        row.replayed = world.replay(driver.connection_id)
        world.drain()
    driver.settle()
    world.drain()
    found = driver.targets()
    row.duplicated = sum(count - 1 for key, count in found.items() if count > 1)
    row.lost = len(driver.expected - set(found))
    row.stuck = row.lost + world.dead_letters(driver.connection_id)
    crashes = world.crashes(driver.worker) - driver.crashes_before
    row.retries = sum(_retries(world.log(v)) for v in driver.vendors) + crashes
    row.wall_s = time.perf_counter() - began
    return row


def scenario_dupes(world: World, driver: FlowDriver, n: int) -> Row:
    row = Row(driver.flow, "dupes x3 + same content")
    began = time.perf_counter()
    row.pushed = driver.push(n)
    world.drain()
    driver.push_again()
    return _finish(world, driver, row, began)


def scenario_faults(world: World, driver: FlowDriver, n: int) -> Row:
    row = Row(driver.flow, "429/5xx/timeouts/lost + latency")
    began = time.perf_counter()
    target = driver.faulted[:1]  # the harness writes to the source vendor: faulted after
    world.faults(target, {**FAULTS, "seed": 12})
    row.pushed = driver.push(n)
    world.faults(driver.faulted, {**FAULTS, "seed": 12})
    world.drain()
    # then 429s whose Retry-After outlasts the function: put back, not slept, not lost
    world.faults(driver.faulted, {})
    world.faults(target, {"status_429": 1.0, "retry_after_s": world.max_timeout * 1.5})
    row.pushed += driver.push(max(1, n // 4))
    time.sleep(4)
    world.faults(target, {**FAULTS, "seed": 13})
    return _finish(world, driver, row, began)


def scenario_crash(world: World, driver: FlowDriver, n: int) -> Row:
    row = Row(driver.flow, "worker killed after a write")
    began = time.perf_counter()
    world.crash({**CRASH, "seed": 5})
    row.pushed = driver.push(n)
    world.drain()
    return _finish(world, driver, row, began)


def scenario_race(world: World, driver: FlowDriver, n: int) -> Row:
    row = Row(driver.flow, "two deliveries of one record")
    began = time.perf_counter()
    row.pushed = driver.push(n)
    driver.race()  # while the first deliveries are in flight
    return _finish(world, driver, row, began)


Scenario = Callable[[World, FlowDriver, int], Row]
#: name -> scenario; other issues add theirs here (credential revoked then fixed, empty list).
SCENARIOS: dict[str, Scenario] = {
    "dupes": scenario_dupes,
    "faults": scenario_faults,
    "crash": scenario_crash,
    "race": scenario_race,
}


def reset(world: World) -> None:
    world.sandbox.post("/_sandbox/reset").raise_for_status()
    world.crash({})


def run(world: World, flow: str, scenario: str, n: int) -> Row:
    """One row: a fresh sandbox world and connection, the scenario, the counts."""
    reset(world)
    driver = FLOWS[flow](world)
    driver.crashes_before = world.crashes(driver.worker)  # the worker log spans every row
    driver.setup(n)
    try:
        return SCENARIOS[scenario](world, driver, n)
    finally:  # the next row's world is another connection's
        world.api.post(f"/connections/{driver.connection_id}/disable")


def stack_for(log_dir: Path, *, time_factor: float = 60, max_timeout: float = 20) -> LocalStack:
    """The local stack as the scenarios need it (not started)."""
    return LocalStack(
        log_dir=log_dir,
        time_factor=time_factor,
        visibility_scale=0.004,
        max_timeout=max_timeout,
        api_port=0,
        aws_port=0,
        sandbox_port=0,
        schedules=False,
    )


HEADER = (
    f"{'flow':<20} {'scenario':<32} {'pushed':>6} {'retries':>7} {'dead':>5} {'replayed':>8} "
    f"{'lost':>4} {'dup':>4} {'stuck':>5} {'wall s':>7}"
)


def line(row: Row) -> str:
    return (
        f"{row.flow:<20} {row.scenario:<32} {row.pushed:>6} {row.retries:>7} "
        f"{row.dead_letters:>5} {row.replayed:>8} {row.lost:>4} {row.duplicated:>4} "
        f"{row.stuck:>5} {row.wall_s:>7.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=200, help="changes per flow and scenario")
    parser.add_argument("--quick", action="store_true", help="short mode: 12 changes")
    parser.add_argument("--flows", nargs="*", default=list(FLOWS))
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    n = 12 if args.quick else args.changes
    log_dir = Path(tempfile.mkdtemp(prefix="fleetbridge-reliability-"))
    rows: list[Row] = []
    with stack_for(log_dir, max_timeout=12 if args.quick else 20) as stack:
        world = World(stack)
        try:
            print(f"changes per row: {n}   faults: {json.dumps(FAULTS)}   logs: {log_dir}")
            print(HEADER)
            for flow in args.flows:
                for scenario in args.scenarios:
                    row = run(world, flow, scenario, n)
                    rows.append(row)
                    print(line(row), flush=True)
        finally:
            world.close()
    total = Row("all", "", *(sum(getattr(r, k) for r in rows) for k in ("pushed", "retries")))
    print(
        f"lost {sum(r.lost for r in rows)} (goal 0)   duplicated {sum(r.duplicated for r in rows)}"
        f" (goal 0)   stuck {sum(r.stuck for r in rows)} (goal 0)   pushed {total.pushed}"
    )
    if args.json:
        print(json.dumps([r.__dict__ for r in rows]))


if __name__ == "__main__":
    main()
