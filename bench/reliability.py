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
from boto3.dynamodb.conditions import Key

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
    stale: int = 0
    conflicts: int = 0
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The goals: nothing lost, doubled or stuck."""
        return self.lost == 0 and self.duplicated == 0 and self.stuck == 0 and self.stale == 0


# ----------------------------------------------------------------------------- the world
class World:
    """The running stack, one tenant, and helpers over the sandboxes and the API."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.max_timeout = stack.settings.max_timeout or 60.0
        self.sandbox = httpx.Client(base_url=stack.sandbox_url, timeout=120)
        tenant = httpx.post(
            f"{stack.api_url}/_local/tenants", json={"name": "Reliability"}, timeout=120
        )
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
        httpx.post(f"{self.stack.api_url}/_local/faults", json=body, timeout=120).raise_for_status()

    def log(self, vendor: str) -> list[dict[str, Any]]:
        return list(self.sandbox.get(f"/_sandbox/{vendor}/requests").json()["requests"])

    def state(self, vendor: str) -> dict[str, Any]:
        return dict(self.sandbox.get(f"/_sandbox/{vendor}/state").json())

    def drain(self, timeout: float = 7200) -> None:  # Fleetio at 1,000: ~55 min at 60 calls/min
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
        return self.worker_log(worker).count("[CRASH]")

    def worker_log(self, worker: str) -> str:
        path = self.stack.log_dir / f"{worker}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def delete_mappings(self, connection_id: str, entity: str) -> int:
        """Lose our records of one entity (as a restore from an old backup would)."""
        dynamodb = boto3.resource(
            "dynamodb",
            endpoint_url=self.stack.aws_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        names = [t.name for t in dynamodb.tables.all() if "Data" in t.name]
        table = dynamodb.Table(names[0])
        prefix = f"MAP#{entity}#"
        items = table.query(
            KeyConditionExpression=Key("pk").eq(f"CONNECTION#{connection_id}")
            & Key("sk").begins_with(prefix)
        )["Items"]
        for item in items:
            table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
        return len(items)


def _retries(log: list[dict[str, Any]]) -> int:
    """Vendor answers that asked for a retry (faults, 429) or refused the credentials."""
    return sum(1 for e in log if e.get("fault") or e.get("status") in (401, 403, 429))


#: What a worker logs when it lost a race for a record: another worker's write won by version
#: (or holds the record's claim), and the message is retried, re-read and decided again.
LOST_RACE = ("ConflictError", "AssignmentBusy", "DriverBusy", "IdempotencyAlreadyInProgress")


def _lost_races(log: str) -> int:
    return sum(
        1
        for line in log.splitlines()
        if "message failed" in line and any(marker in line for marker in LOST_RACE)
    )


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
        self.latest_end: dict[str, str] = {}  # source key -> the latest end / due / name

    def setup(self, n: int) -> None:
        raise NotImplementedError

    def push(self, n: int) -> int:
        """Make `n` source changes and let them reach the stack; returns how many."""
        raise NotImplementedError

    def push_again(self) -> None:
        """The same delivery three times and the same content under new ids."""
        raise NotImplementedError

    def change_again(self) -> None:
        """A second, different change to every pushed record, while the first is in flight."""
        raise NotImplementedError

    def stale(self) -> int:
        """Target objects that do not show their source record's latest change."""
        raise NotImplementedError

    def revoke(self) -> None:
        """The target vendor stops accepting our credentials (a rotated key)."""
        raise NotImplementedError

    def fix(self) -> None:
        """The admins give the working credentials (PATCH), or `/test` succeeds again."""
        raise NotImplementedError

    def empty_source(self) -> None:
        """The source lists none of the linked records; the flow's removal pass runs."""
        raise NotImplementedError

    def removed(self) -> int:
        """Linked records whose target object is gone (deleted, cancelled, deactivated)."""
        return len(self.expected - set(self.targets()))

    def settle(self) -> None:
        """After the faults: the flow's own next trigger (a poll or sync), as in production."""

    def targets(self) -> Counter[str]:
        """Target objects per source key, from the target sandbox's state."""
        raise NotImplementedError

    def follow_up(self) -> None:
        """The further creates the pushed records cause (a flow with more than one create per
        record), driven under the row's faults; none by default."""

    def _recover(self) -> None:
        """What happens before the techs' next step in a real day: the admins replay the dead
        letters (as `_finish` does at the end), a dead worker's claims lapse with its
        invocation, and the next poll runs. Without it an arrival could come before an En
        Route clock-in was handled: the flow then rightly sends no Service Link."""
        w = self.world
        for _ in range(5):  # a replayed message may die again (the crash fault stays on)
            dead = w.dead_letters(self.connection_id)
            if not dead:
                break
            self.early[0] += dead
            self.early[1] += w.replay(self.connection_id)
            w.drain()
        time.sleep(w.max_timeout)
        self._poll()
        w.drain()

    def count_follow_ups(self, row: Row) -> None:
        """Add the follow-up creates' duplicates and losses to `row` (and its notes)."""


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
            self.latest_end[str(answer.json()["id"])] = str(body["ended_at"])
        self.world.sandbox.get("/_sandbox/fleetio/webhook-deliveries", params={"wait": 30})
        return n

    def change_again(self) -> None:
        for assignment_id, ended in sorted(self.latest_end.items()):  # one hour longer
            later = datetime.strptime(ended, "%Y-%m-%dT%H:%M:%SZ") + timedelta(hours=1)
            self.latest_end[assignment_id] = later.strftime("%Y-%m-%dT%H:%M:%SZ")
            self.world.sandbox.patch(
                f"/fleetio/api/v1/vehicle_assignments/{assignment_id}",
                json={"ended_at": self.latest_end[assignment_id]},
                headers=FLEETIO_HEADERS,
            ).raise_for_status()
        self.world.sandbox.get("/_sandbox/fleetio/webhook-deliveries", params={"wait": 30})

    def stale(self) -> int:
        ends = {}
        for access in self._active():
            assignment = access["name"].split(" · assignment ")[1].split(" · ")[0]
            ends[assignment] = f"{access['accessEndDate']} {access['accessEndTime']}"
        return sum(
            1
            for key, ended in self.latest_end.items()
            if key in ends and ends[key] != ended.replace("T", " ")[:16]
        )

    def revoke(self) -> None:
        rotated = {"email": "ops@sandbox.example", "token": "rotated-keycafe-token"}
        self.world.sandbox.post(
            "/_sandbox/keycafe/seed", json={"credentials": rotated}
        ).raise_for_status()

    def fix(self) -> None:
        self.world.api.patch(
            f"/connections/{self.connection_id}",
            json={"credentials": {"keycafe_token": "rotated-keycafe-token"}},
        ).raise_for_status()

    def empty_source(self) -> None:
        # Fleetio → Keycafe removes by absence from OUR records (orphan bookings): the records
        # are lost (an old backup restored) and the assignments deleted in Fleetio.
        self.world.delete_mappings(self.connection_id, "assignment")
        for assignment_id in sorted(self.expected):
            self.world.sandbox.delete(
                f"/fleetio/api/v1/vehicle_assignments/{assignment_id}", headers=FLEETIO_HEADERS
            )
        self.settle()

    def _active(self) -> list[dict[str, Any]]:
        return [
            access
            for access in self.world.state("keycafe")["accesses"]
            if access.get("status") == "ACTIVE"
            and (access.get("name") or "").endswith(f" · {self.connection_id}")
        ]

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
        return Counter(
            access["name"].split(" · assignment ")[1].split(" · ")[0] for access in self._active()
        )


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
            self.latest_end[str(i)] = str(tasks[-1]["dueDate"])
        self.next_id += n
        self.world.sandbox.post("/_sandbox/striven/seed", json={"tasks": tasks})
        self._poll()
        return n

    def change_again(self) -> None:
        changed = []
        for task_id in sorted(self.latest_end, key=int):  # due one hour later
            self.latest_end[task_id] = self._local(4)
            changed.append({"id": int(task_id), "dueDate": self.latest_end[task_id]})
        self.world.sandbox.post("/_sandbox/striven/seed", json={"tasks": changed})
        self._poll()

    def stale(self) -> int:
        from zoneinfo import ZoneInfo

        due: dict[str, int] = {}
        for task in self.world.state("onfleet")["tasks"]:
            for meta in task.get("metadata") or []:
                if meta.get("name") == "strivenTaskId":
                    due[str(meta.get("value"))] = int(task.get("completeBefore") or 0)
        zone = ZoneInfo(self.ZONE)
        return sum(
            1
            for key, local in self.latest_end.items()
            if key in due
            and due[key]
            != int(datetime.fromisoformat(local).replace(tzinfo=zone).timestamp() * 1000)
        )

    def revoke(self) -> None:
        self.world.sandbox.post(
            "/_sandbox/onfleet/seed", json={"credentials": {"api_keys": ["rotated-onfleet-key"]}}
        ).raise_for_status()

    def fix(self) -> None:
        self.world.api.patch(
            f"/connections/{self.connection_id}",
            json={"credentials": {"onfleet_api_key": "rotated-onfleet-key"}},
        ).raise_for_status()

    def empty_source(self) -> None:
        gone = sorted(int(key) for key in self.expected)
        self.world.sandbox.post("/_sandbox/striven/seed", json={"deleted_tasks": gone})
        for _ in range(2):  # the daily pass removes Onfleet tasks of Striven tasks not found
            answer = self.world.stack.invoke("StrivenOnfleetDailyFunction", _schedule())
            if not answer.ok:
                raise RuntimeError(f"the daily function failed: {answer.error}")
            self.world.drain()

    def _poll(self) -> None:
        """The one-minute schedule fires (every connection's interval is one minute)."""
        answer = self.world.stack.invoke("StrivenOnfleetPollFunction", _schedule())
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
                "settings": {"admin_emails": ["fleet@example.com"]},
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
            self.latest_end[f"D-{i}"] = f"Last{i}"
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

    def change_again(self) -> None:
        session = self._portal_session()
        for key in sorted(self.latest_end):  # the portal renames every driver
            number = int(key.removeprefix("D-"))
            self.latest_end[key] = f"Renamed{number}"
            self.world.sandbox.get(
                "/gpsinsight/v2/driver/update",
                params={
                    "driver_id": number,
                    "lastname": self.latest_end[key],
                    "session_token": session,
                },
            ).raise_for_status()
        self._sync()

    def _portal_session(self) -> str:
        login = self.world.sandbox.get(
            "/gpsinsight/v2/userauth/login",
            params={"username": "sandbox-gps-user", "password": "sandbox-gps-pass"},
        )
        return str(login.json()["data"]["token"])

    def stale(self) -> int:
        names = {
            str(d["driverId"]): d.get("lastName")
            for d in self.world.state("driveri")["drivers"]
            if str(d.get("driverId", "")).startswith("D-")
        }
        return sum(
            1 for key, name in self.latest_end.items() if key in names and names[key] != name
        )

    CREDS = {"client_id": "sandbox-driveri-client", "client_secret": "sandbox-driveri-secret"}

    def revoke(self) -> None:  # Driveri stops serving the tenant: 403
        self.world.sandbox.post(
            "/_sandbox/driveri/seed",
            json={"credentials": {**self.CREDS, "tenant": "another-tenant"}},
        ).raise_for_status()

    def fix(self) -> None:
        self.world.sandbox.post(
            "/_sandbox/driveri/seed",
            json={"credentials": {**self.CREDS, "tenant": "sandbox-tenant"}},
        ).raise_for_status()
        tested = self.world.api.post(f"/connections/{self.connection_id}/test")
        tested.raise_for_status()

    def empty_source(self) -> None:
        session = self._portal_session()
        for key in sorted(self.expected):  # the portal lists none of them any more
            self.world.sandbox.get(
                "/gpsinsight/v2/driver/delete",
                params={"driver_id": int(key.removeprefix("D-")), "session_token": session},
            )
        answer = self.world.stack.invoke("GpsInsightDriveriPollFunction", _schedule())
        if not answer.ok:
            raise RuntimeError(f"the poll function failed: {answer.error}")
        self.world.drain()
        self._sync()

    def removed(self) -> int:
        active = {
            str(d["driverId"])
            for d in self.world.state("driveri")["drivers"]
            if d.get("status") == 1
        }
        return len(self.expected - active)

    def settle(self) -> None:
        self._sync()

    def targets(self) -> Counter[str]:
        return Counter(
            str(d["driverId"])
            for d in self.world.state("driveri")["drivers"]
            if str(d.get("driverId", "")).startswith("D-")
        )


class ServiceTradeAzuga(FlowDriver):
    """Appointments scheduled in ServiceTrade (one seed, hence one webhook delivery, each) →
    one Azuga geofence `{locationName} | {jobNumber} | {appointmentId}` each.

    Follow-ups (dupes and crash rows): each appointment's tech clocks in En Route (a `clock`
    webhook: one TrackMe link and one Service Link), then the tech's van drives into the fence
    (an Azuga alert: one On Site clock-in). Service Links and On Site clock-ins count as
    duplicated beyond one; TrackMe links only in the notes: azuga.md lists no TrackMe links, so
    a link whose answer was lost (or whose worker died) cannot be found and is made again (an
    unused link that expires; the Service Link carries one).

    `empty_source`: ServiceTrade lists none of the appointments (deleted without webhooks);
    the flow removes a fence only on the appointment's own signal (deleted or canceled
    webhook, window closed), never because a listing lacks it, so there is nothing to hold and
    no held-removal email: `lost` counts fences removed anyway (goal 0)."""

    flow = "servicetrade-azuga"
    worker = "ServiceTradeAzugaWorkerFunction"
    vendors = ("servicetrade", "azuga")
    faulted = ("azuga", "servicetrade")
    SECRET = "reliability-st-azuga-secret-0123456789"
    ROTATED = "rotated-azuga-key"

    def setup(self, n: int) -> None:
        w = self.world
        connection = w.api.post(
            "/connections",
            json={
                "flow": self.flow,
                "name": "reliability",
                "credentials": {
                    "servicetrade_username": "sandbox-st-user",
                    "servicetrade_password": "sandbox-st-pass",
                    "azuga_api_key": "sandbox-azuga-key",
                    "servicetrade_azuga_webhook_secret": self.SECRET,
                },
                "settings": {"admin_emails": ["ops@example.com"], "poll_minutes": 1},
            },
        )
        connection.raise_for_status()
        self.connection_id = connection.json()["id"]
        urls = connection.json()["webhook_urls"]
        self.next_id = 0
        self.names: dict[str, tuple[str, float, float]] = {}  # key -> latest (name, lat, lon)
        self.techs = 2 * n + 2  # one tech (and van) per appointment, the faults row's too
        w.sandbox.post(
            "/_sandbox/azuga/seed",
            json={
                "users": [
                    {"id": f"d{t}", "email": f"Tech{t}@Example.com"} for t in range(self.techs)
                ],
                "trackees": [
                    {
                        "id": f"v{t}",
                        "name": f"Van {t}",
                        "assignedUserId": f"d{t}",
                        "lastLocation": {"latitude": 30.0, "longitude": -90.0},
                    }
                    for t in range(self.techs)
                ],
                "webhooks": [
                    {"url": urls["azuga"], "authorizationType": "KEY", "keyValue": self.SECRET}
                ],
            },
        ).raise_for_status()
        w.sandbox.post(
            "/_sandbox/servicetrade/seed",
            json={
                "users": [
                    {
                        "id": 1000 + t,
                        "firstName": "Tech",
                        "lastName": str(t),
                        "email": f"tech{t}@example.com",
                        "isTech": True,
                    }
                    for t in range(self.techs)
                ],
                "webhooks": [
                    {"url": f"{urls['servicetrade']}?secret={self.SECRET}", "events": ["*"]}
                ],
                "silent": True,
            },
        ).raise_for_status()

    @staticmethod
    def _place(i: int, moved: bool = False) -> tuple[float, float]:
        """Appointment i's site: ~1 km apart (fences never overlap); moved: ~100 m north."""
        return 40.0 + (i // 50) * 0.01 + (0.001 if moved else 0.0), -75.0 + (i % 50) * 0.01

    def _appointment(self, i: int, *, moved: bool = False) -> dict[str, Any]:
        lat, lon = self._place(i, moved)
        name = f"Site {i}" + (" (moved)" if moved else "")
        self.names[str(30_000 + i)] = (f"{name} | J-{i} | {30_000 + i}", lat, lon)
        return {
            "id": 30_000 + i,
            "location": {
                "id": 10_000 + i,
                "name": name,
                "lat": lat,
                "lon": lon,
                "email": f"site{i}@example.com",  # the Service Link's recipient
            },
        }

    def push(self, n: int) -> int:
        start = int(time.time()) + 1800  # arrivals fall in the window
        for i in range(self.next_id, self.next_id + n):
            site = self._appointment(i)
            appointment = {
                **site,
                "status": "scheduled",
                "windowStart": start,
                "windowEnd": start + 3600,
                "job": {"id": 20_000 + i, "number": f"J-{i}", "location": site["location"]},
                "techs": [1000 + i],
                "released": True,
            }
            self.world.sandbox.post(  # one appointment made in ServiceTrade: one delivery
                "/_sandbox/servicetrade/seed", json={"appointments": [appointment]}
            ).raise_for_status()
            self.expected.add(str(30_000 + i))
        self.next_id += n
        self._delivered("servicetrade")
        return n

    def _delivered(self, vendor: str) -> None:
        self.world.sandbox.get(f"/_sandbox/{vendor}/webhook-deliveries", params={"wait": 30})

    def push_again(self) -> None:
        w = self.world
        for vendor in self.vendors:  # every delivery (appointments, clocks, alerts) twice more
            for delivery in w.sandbox.get(f"/_sandbox/{vendor}/webhook-deliveries").json()[
                "deliveries"
            ]:
                for _ in range(2):
                    w.sandbox.post(
                        f"/_sandbox/{vendor}/webhook-deliveries/{delivery['id']}/redeliver"
                    )
            self._delivered(vendor)
        for _ in range(3):  # the same content three times under new message ids
            self._poll()

    def change_again(self) -> None:
        for key in sorted(self.names):  # the site renamed and moved: a new fence
            i = int(key) - 30_000
            self.world.sandbox.post(
                "/_sandbox/servicetrade/seed",
                json={"appointments": [self._appointment(i, moved=True)]},
            ).raise_for_status()
        self._delivered("servicetrade")

    def _fences(self) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for fence in self.world.state("azuga")["geomarks"]:
            parts = str(fence.get("name", "")).split(" | ")
            if len(parts) == 3:
                found.setdefault(parts[2], []).append(fence)
        return found

    def stale(self) -> int:
        fences = self._fences()
        return sum(
            1
            for key, wanted in self.names.items()
            if key in fences
            and any(
                (f["name"], round(f["latitude"], 6), round(f["longitude"], 6))
                != (wanted[0], round(wanted[1], 6), round(wanted[2], 6))
                for f in fences[key]
            )
        )

    def revoke(self) -> None:  # the Azuga API key rotated: the login answers 401
        self.world.sandbox.post(
            "/_sandbox/azuga/seed", json={"credentials": {"api_key": self.ROTATED}}
        ).raise_for_status()

    def fix(self) -> None:
        self.world.api.patch(
            f"/connections/{self.connection_id}",
            json={"credentials": {"azuga_api_key": self.ROTATED}},
        ).raise_for_status()

    def empty_source(self) -> None:
        gone = sorted(int(key) for key in self.expected)
        self.world.sandbox.post(  # no webhooks: only the listings lack them
            "/_sandbox/servicetrade/seed", json={"deleted_appointments": gone, "silent": True}
        ).raise_for_status()
        self._poll()
        self.world.drain()
        answer = self.world.stack.invoke("ServiceTradeAzugaDailyFunction", _schedule())
        if not answer.ok:
            raise RuntimeError(f"the daily function failed: {answer.error}")
        self.world.drain()

    def _poll(self) -> None:
        answer = self.world.stack.invoke("ServiceTradeAzugaPollFunction", _schedule())
        if not answer.ok:
            raise RuntimeError(f"the poll function failed: {answer.error}")

    def settle(self) -> None:
        self._poll()

    def targets(self) -> Counter[str]:
        return Counter({key: len(fences) for key, fences in self._fences().items()})

    # ------------------------------------------------------------------ follow-ups
    def follow_up(self) -> None:
        w = self.world
        self.en_route = sorted(self.expected)
        self.early = [0, 0]  # dead letters, replayed before the follow-ups' next step
        self._recover()
        for key in self.en_route:  # each tech clocks in En Route (one clock webhook each)
            i = int(key) - 30_000
            event = {
                "userId": 1000 + i,
                "jobId": 20_000 + i,
                "appointmentId": int(key),
                "activity": "enroute",
                "clockIn": int(time.time()),
            }
            w.sandbox.post(
                "/_sandbox/servicetrade/seed", json={"clock_events": [event]}
            ).raise_for_status()
        self._delivered("servicetrade")
        w.drain()
        self._recover()  # the vans arrive later: the En Route work is done by then
        fenced = self._fences()
        self.arrived = [key for key in self.en_route if key in fenced]
        for key in self.arrived:  # each van drives into its fence (one Azuga alert each)
            _, lat, lon = self.names[key]
            body = {"vehicleId": f"v{int(key) - 30_000}", "lat": lat, "lon": lon}
            w.sandbox.post("/_sandbox/azuga/positions", json=body).raise_for_status()
        self._delivered("azuga")
        w.drain()

    def _recover(self) -> None:
        """What happens before the techs' next step in a real day: the admins replay the dead
        letters (as `_finish` does at the end), a dead worker's claims lapse with its
        invocation, and the next poll runs. Without it an arrival could come before an En
        Route clock-in was handled: the flow then rightly sends no Service Link."""
        w = self.world
        for _ in range(5):  # a replayed message may die again (the crash fault stays on)
            dead = w.dead_letters(self.connection_id)
            if not dead:
                break
            self.early[0] += dead
            self.early[1] += w.replay(self.connection_id)
            w.drain()
        time.sleep(w.max_timeout)
        self._poll()
        w.drain()

    def count_follow_ups(self, row: Row) -> None:
        links = Counter(
            str(link.get("name", "")).removeprefix("appointment ")
            for link in self.world.state("azuga")["trackme_links"]
        )
        st = self.world.state("servicetrade")
        messages = Counter(str(m["params"].get("appointmentId")) for m in st["messages"])
        on_site = Counter(
            str(e.get("appointmentId")) for e in st["clock_events"] if e["activity"] == "onsite"
        )
        checks = (
            ("Service Links", messages, self.en_route, True),
            ("On Site", on_site, self.arrived, True),
            ("TrackMe links", links, self.en_route, False),
        )
        for label, found, wanted, counted in checks:
            extra = sum(max(0, found[k] - 1) for k in wanted)
            missing = sum(1 for k in wanted if found[k] == 0)
            if counted:
                row.duplicated += extra
                row.lost += missing
                row.stuck += missing
            row.notes.append(f"{label} {sum(found[k] for k in wanted)}/{len(wanted)}")
            if extra or missing:
                row.notes.append(f"{label}: {extra} extra, {missing} missing")
        row.notes.append(f"arrivals without a fence: {len(self.en_route) - len(self.arrived)}")
        row.dead_letters += self.early[0]
        row.replayed += self.early[1]
        if self.early[0]:
            row.notes.append(f"dead letters replayed before a follow-up: {self.early[1]}")


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _schedule() -> dict[str, Any]:
    """An EventBridge schedule event (a new id each time, as each firing has)."""
    return {
        "version": "0",
        "id": f"reliability-{time.time_ns()}",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": _now_text(),
        "resources": [],
        "detail": {},
    }


FLOWS: dict[str, type[FlowDriver]] = {
    "fleetio-keycafe": FleetioKeycafe,
    "striven-onfleet": StrivenOnfleet,
    "gpsinsight-driveri": GpsInsightDriveri,
    "servicetrade-azuga": ServiceTradeAzuga,
}


# ----------------------------------------------------------------------------- scenarios
def _finish(
    world: World, driver: FlowDriver, row: Row, began: float, *, settle: bool = True
) -> Row:
    """Faults cleared: drain, replay the dead letters, let the flow's next trigger run (unless
    the scenario proves the real-time path alone), count."""
    world.faults(driver.faulted, {})
    world.crash({})
    world.drain()
    row.dead_letters = world.dead_letters(driver.connection_id)
    if row.dead_letters:
        row.replayed = world.replay(driver.connection_id)
        world.drain()
    if settle:
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
    driver.follow_up()
    driver.push_again()
    row = _finish(world, driver, row, began)
    driver.count_follow_ups(row)
    return row


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
    driver.follow_up()
    row = _finish(world, driver, row, began)
    driver.count_follow_ups(row)
    return row


def scenario_race(world: World, driver: FlowDriver, n: int) -> Row:
    """Two workers on one record: each record changes again while its first change is being
    synced. The loser of each race (its conditional write refused by version, or the record
    claimed) is retried, re-reads and decides again: nothing doubled, and every target ends
    with the record's LATEST change, without the daily run's help (`stale`, goal 0)."""
    row = Row(driver.flow, "two workers on one record")
    began = time.perf_counter()
    races_before = _lost_races(world.worker_log(driver.worker))
    row.pushed = driver.push(n)
    driver.change_again()  # while the first deliveries are in flight
    world.drain()
    row = _finish(world, driver, row, began, settle=False)
    row.stale = driver.stale()
    row.stuck += row.stale
    row.conflicts = _lost_races(world.worker_log(driver.worker)) - races_before
    return row


def scenario_revoked(world: World, driver: FlowDriver, n: int) -> Row:
    """The target vendor refuses our key while `n` changes arrive; then the admins fix it.
    Everything that waited is synced by itself: no replay, no edit, no daily run."""
    row = Row(driver.flow, "credential revoked, then fixed")
    began = time.perf_counter()
    driver.revoke()
    row.pushed = driver.push(n)
    world.drain()
    row.dead_letters = world.dead_letters(driver.connection_id)
    driver.fix()
    world.drain()
    found = driver.targets()
    row.duplicated = sum(count - 1 for count in found.values() if count > 1)
    row.lost = len(driver.expected - set(found))
    row.stuck = row.lost + world.dead_letters(driver.connection_id)
    row.retries = sum(_retries(world.log(v)) for v in driver.vendors)
    row.wall_s = time.perf_counter() - began
    return row


def _held_emails(world: World) -> int:
    return sum(1 for m in world.stack.emails() if "removals held" in str(m.get("subject", "")))


def scenario_empty(world: World, driver: FlowDriver, n: int) -> Row:
    """`n` linked records, then the source lists none: the removal is held (and the admins
    emailed); `lost` counts target objects removed anyway (goal 0)."""
    row = Row(driver.flow, "empty source list")
    began = time.perf_counter()
    held_before = _held_emails(world)
    row.pushed = driver.push(n)
    world.drain()
    driver.empty_source()
    world.drain()
    found = driver.targets()
    row.duplicated = sum(count - 1 for count in found.values() if count > 1)
    row.lost = driver.removed()
    row.stuck = row.lost
    row.retries = sum(_retries(world.log(v)) for v in driver.vendors)
    row.notes.append(f"held-removal emails: {_held_emails(world) - held_before}")
    row.wall_s = time.perf_counter() - began
    return row


Scenario = Callable[[World, FlowDriver, int], Row]
#: name -> scenario.
SCENARIOS: dict[str, Scenario] = {
    "dupes": scenario_dupes,
    "faults": scenario_faults,
    "crash": scenario_crash,
    "race": scenario_race,
    "revoked": scenario_revoked,
    "empty": scenario_empty,
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
    f"{'lost':>4} {'dup':>4} {'stuck':>5} {'stale':>5} {'races':>5} {'wall s':>7}"
)


def line(row: Row) -> str:
    return (
        f"{row.flow:<20} {row.scenario:<32} {row.pushed:>6} {row.retries:>7} "
        f"{row.dead_letters:>5} {row.replayed:>8} {row.lost:>4} {row.duplicated:>4} "
        f"{row.stuck:>5} {row.stale:>5} {row.conflicts:>5} {row.wall_s:>7.1f}"
        + (f"   {'; '.join(row.notes)}" if row.notes else "")
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
