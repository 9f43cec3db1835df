"""Fleetio → Keycafe daily run: how its vendor calls grow with the accounts' history.

In-process (moto, the vendor sandboxes on a loopback port, the flow's own reconciliation code):
for each history size, a fresh connection with 20 vehicles, each linked to a key and assigned
now; Keycafe holds `history` finished bookings (cancelled, named like ours and like other
connections', 50 a page) made before them, Fleetio `history / 5` past assignments. The first
daily run books the 20 assignments and reads the history once; the figures are those of the
*next* daily runs (nothing changed, then 50 more finished bookings made in between).

Goal: flat — the steady-state daily run's Keycafe calls do not depend on the history. For
reference, the previous design listed every access page and every assignment on every run:
ceil((history + 20) / 50) Keycafe pages, a number printed as computed, not measured. The last
column is the Fleetio calls of the steady-state daily run (two filtered listings).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
LIVE = 20
CREDENTIALS = {
    "fleetio_api_key": "sandbox-fleetio-key",
    "fleetio_account_token": "sandbox-fleetio-account",
    "fleetio_webhook_secret": "bench-secret",
    "keycafe_email": "ops@sandbox.example",
    "keycafe_token": "sandbox-keycafe-token",
}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed(sandbox: httpx.Client, history: int, connection_id: str) -> None:
    """Vehicles, keys, drivers, the live assignments and the history."""
    sandbox.post("/_sandbox/reset").raise_for_status()
    now = datetime.now(UTC)
    sandbox.post(
        "/_sandbox/keycafe/seed",
        json={
            "keys": [{"id": 100 + i, "name": f"Van {i} key"} for i in range(LIVE)],
            "users": [{"id": 500, "email": "someone@example.com"}],
        },
    ).raise_for_status()
    old = {"accessStartDate": "2025-01-01", "accessEndDate": "2025-01-02", "status": "CANCELLED"}
    for start in range(0, history, 500):
        batch = [
            {
                **old,
                "key": {"id": 100},
                "user": {"id": 500},
                "name": f"Fleetio · Van 0 · assignment {n} · "
                + (connection_id if n % 2 else "con_other"),
            }
            for n in range(start, min(history, start + 500))
        ]
        sandbox.post("/_sandbox/keycafe/seed", json={"accesses": batch}).raise_for_status()
    past = [
        {
            "vehicle_id": 1,
            "contact_id": 1,
            "started_at": "2025-01-01T08:00:00Z",
            "ended_at": "2025-01-01T18:00:00Z",
        }
        for _ in range(history // 5)
    ]
    live = [
        {
            "vehicle_id": i + 1,
            "contact_id": i + 1,
            "started_at": iso(now - timedelta(hours=1)),
            "ended_at": iso(now + timedelta(hours=8)),
        }
        for i in range(LIVE)
    ]
    sandbox.post(
        "/_sandbox/fleetio/seed",
        json={
            "vehicles": [{"id": i + 1, "name": f"Van {i}"} for i in range(LIVE)],
            "contacts": [
                {"id": i + 1, "first_name": f"D{i}", "email": f"d{i}@example.com"}
                for i in range(LIVE)
            ],
            "vehicle_assignments": past + live,
        },
    ).raise_for_status()


def calls(sandbox: httpx.Client, vendor: str) -> list[dict[str, Any]]:
    return list(sandbox.get(f"/_sandbox/{vendor}/requests").json()["requests"])


def kinds(entries: list[dict[str, Any]]) -> dict[str, int]:
    """Calls by kind: `GET /access?page=N` (a page of the listing) or `GET /access/{id}`."""
    names = []
    for e in entries:
        path = e["path"].split("/v0", 1)[-1]
        if path == "/access" and e["method"] == "GET":
            path = f"/access?page={e['query'].get('page', '1')}"
        elif path.startswith("/access/"):
            path = "/access/{id}"
        names.append(f"{e['method']} {path}")
    return dict(Counter(names))


def run(histories: list[int]) -> None:
    from moto import mock_aws

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    os.environ["FLEETBRIDGE_SANDBOX_LOG_SIZE"] = "50000"
    with mock_aws():
        from fleetbridge.core.aws import reset_clients
        from fleetbridge.core.mappings import MappingRepository
        from fleetbridge.core.models import Connection, Mapping
        from fleetbridge.flows.fleetio_keycafe import LINK
        from fleetbridge.flows.fleetio_keycafe.flow import context_for
        from fleetbridge.flows.fleetio_keycafe.reconcile import reconcile_assignments
        from local.sandboxes.app import run_sandboxes
        from local.stack.config import VENDOR_PATHS
        from tests.support.aws import create_template_resources

        resources = create_template_resources(ROOT / "template.yaml")
        os.environ.update(resources["env"])
        server, _ = run_sandboxes("127.0.0.1", 0, time_factor=1000)
        base = f"http://127.0.0.1:{server.server_port}"
        os.environ["FLEETBRIDGE_VENDOR_URLS"] = json.dumps(
            {vendor: f"{base}{path}" for vendor, path in VENDOR_PATHS.items()}
        )
        os.environ["FLEETBRIDGE_RATE_TIME_FACTOR"] = "1000"
        reset_clients()
        sandbox = httpx.Client(base_url=base, timeout=120)
        print(f"live assignments: {LIVE}   Keycafe page size: 50")
        print(
            f"{'history':>8} {'first run':>10} {'daily run':>10} {'+50 new':>9}   "
            f"{'Keycafe calls of a daily run, by kind':<52} {'previous design':>16} {'Fleetio':>8}"
        )
        for history in histories:
            now = iso(datetime.now(UTC))
            connection = Connection(
                id=f"con_bench{history:06d}",
                tenant_id="ten_bench",
                flow="fleetio-keycafe",
                name="bench",
                settings={},
                secret_arn="-",
                created_at=now,
                updated_at=now,
            )
            seed(sandbox, history, connection.id)
            mappings = MappingRepository(connection.id)
            for i in range(LIVE):
                mappings.save(
                    Mapping(
                        connection_id=connection.id,
                        entity=LINK,
                        external_id=str(i + 1),
                        other_id=str(100 + i),
                        data={"notification": "automatic", "key_name": f"Van {i} key"},
                    )
                )
            figures: list[list[dict[str, Any]]] = []
            fleetio: list[int] = []
            for step in range(3):
                if step == 2:  # a day later: 50 more finished bookings in the account
                    extra = [
                        {
                            "accessStartDate": "2025-02-01",
                            "accessEndDate": "2025-02-02",
                            "status": "CANCELLED",
                            "key": {"id": 100},
                            "user": {"id": 500},
                            "name": "by hand",
                        }
                        for _ in range(50)
                    ]
                    sandbox.post("/_sandbox/keycafe/seed", json={"accesses": extra})
                before = len(calls(sandbox, "keycafe"))
                fleetio_before = len(calls(sandbox, "fleetio"))
                reconcile_assignments(context_for(connection, CREDENTIALS), dry_run=False)
                made = calls(sandbox, "keycafe")[before:]
                figures.append(made)
                fleetio.append(len(calls(sandbox, "fleetio")) - fleetio_before)
            previous = math.ceil((history + LIVE) / 50)
            print(
                f"{history:>8} {len(figures[0]):>10} {len(figures[1]):>10} {len(figures[2]):>9}   "
                f"{json.dumps(kinds(figures[1])):<52} {previous:>10} pages {fleetio[1]:>8}"
            )
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--histories", default="0,500,2000,6000", help="finished bookings already in Keycafe"
    )
    args = parser.parse_args()
    run([int(h) for h in args.histories.split(",")])


if __name__ == "__main__":
    main()
