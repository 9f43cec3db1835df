"""`make demo`: start the local stack, seed a small fleet, drive every flow once, print the story.

Everything goes over HTTP exactly as a user would do it: a tenant from `/_local/tenants`, a
connection through the management API, vendor data through the sandboxes, and vendor changes
through the vendors' own (sandboxed) APIs, whose webhooks then drive the flows.
`--keep` leaves the stack running afterwards (Ctrl-C to stop).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from local.stack.stack import LocalStack

FLEETIO_AUTH = {
    "Authorization": "Token sandbox-fleetio-key",
    "Account-Token": "sandbox-fleetio-account",
}
WEBHOOK_SECRET = "demo-fleetio-webhook-secret"


def say(text: str = "") -> None:
    print(text, flush=True)


def wait_for(check: Callable[[], Any], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise SystemExit("demo: timed out waiting for the flow; see the logs directory")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fleetio_keycafe(stack: LocalStack, api: httpx.Client, sandbox: httpx.Client) -> None:
    """Three vans, three drivers, two keys in SmartBoxes: automatic, prompt and unlinked."""
    say("== Fleetio → Keycafe")
    connection = (
        api.post(
            "/connections",
            json={
                "flow": "fleetio-keycafe",
                "name": "Depot North",
                "credentials": {
                    "fleetio_api_key": "sandbox-fleetio-key",
                    "fleetio_account_token": "sandbox-fleetio-account",
                    "fleetio_webhook_secret": WEBHOOK_SECRET,
                    "keycafe_email": "ops@sandbox.example",
                    "keycafe_token": "sandbox-keycafe-token",
                },
                "settings": {
                    "time_zone": "America/New_York",
                    "admin_emails": ["fleet-admin@example.com"],
                },
            },
        )
        .raise_for_status()
        .json()
    )
    cid = connection["id"]
    say(f"connection {cid}; Fleetio webhook URL {connection['webhook_urls']['fleetio']}")
    say(f"credentials as the API shows them: {connection['credentials']}")
    sandbox.post(
        "/_sandbox/fleetio/seed",
        json={
            "vehicles": [
                {"id": 11, "name": "Van 11", "license_plate": "FB-011"},
                {"id": 12, "name": "Van 12", "license_plate": "FB-012"},
                {"id": 13, "name": "Box truck 13", "license_plate": "FB-013"},
            ],
            "contacts": [
                {
                    "id": 21,
                    "first_name": "Dana",
                    "last_name": "Reyes",
                    "email": "dana@example.com",
                    "mobile_phone_number": "+1 617 555 0101",
                },
                {"id": 22, "first_name": "Eli", "last_name": "Brooks", "email": "eli@example.com"},
                {"id": 23, "first_name": "Sam", "last_name": "Ortiz", "email": "sam@example.com"},
            ],
            "webhooks": [
                {
                    "url": connection["webhook_urls"]["fleetio"],
                    "secret": WEBHOOK_SECRET,
                    "events": [
                        "vehicle_assignment_created",
                        "vehicle_assignment_updated",
                        "vehicle_assignment_deleted",
                    ],
                }
            ],
        },
    ).raise_for_status()
    sandbox.post(
        "/_sandbox/keycafe/seed",
        json={
            "keys": [
                {
                    "id": 311,
                    "name": "Van 11 key",
                    "keycafeLocation": {"id": 1, "name": "North yard SmartBox"},
                },
                {
                    "id": 312,
                    "name": "Van 12 key",
                    "keycafeLocation": {"id": 1, "name": "North yard SmartBox"},
                },
            ],
            "users": [
                {"id": 900, "email": "dana@example.com", "firstName": "Dana", "lastName": "Reyes"}
            ],
        },
    ).raise_for_status()
    api.put(
        f"/connections/{cid}/vehicles/11/link", json={"key_id": 311, "notification": "automatic"}
    ).raise_for_status()
    api.put(
        f"/connections/{cid}/vehicles/12/link", json={"key_id": 312, "notification": "prompt"}
    ).raise_for_status()
    say("linked: Van 11 → key 311 (automatic), Van 12 → key 312 (prompt), Box truck 13: no key")

    start = datetime.now(UTC) + timedelta(hours=2)
    for vehicle, contact in ((11, 21), (12, 22), (13, 23)):
        sandbox.post(
            "/fleetio/api/v1/vehicle_assignments",
            headers=FLEETIO_AUTH,
            json={
                "vehicle_id": vehicle,
                "contact_id": contact,
                "started_at": iso(start),
                "ended_at": iso(start + timedelta(hours=9)),
            },
        ).raise_for_status()
    say("created 3 vehicle assignments in Fleetio; its webhooks drive the rest")
    activity = wait_for(
        lambda: (
            (items := api.get(f"/connections/{cid}/activity").json()["items"])
            and len([i for i in items if i["source_event"] != "api"]) >= 4
            and items
        )
    )
    stack.drain(60)
    activity = api.get(f"/connections/{cid}/activity").json()["items"]
    say("\nactivity (newest first):")
    for item in activity:
        say(f"  {item['at'][11:19]}  {item['action']:<9} {item['entity']:<16} {item['reason']}")
    say("\nKeycafe bookings:")
    for access in sandbox.get("/_sandbox/keycafe/state").json()["accesses"]:
        say(
            f"  {access['name']}  code {access['bookingCode']}  {access['status']}  {access['checkinLink']}"
        )
    say("\nFleetio assignment custom fields:")
    for record in sandbox.get("/_sandbox/fleetio/state").json()["vehicle_assignments"]:
        code = record["custom_fields"].get("keycafe_access_instructions")
        say(f"  assignment {record['id']} (vehicle {record['vehicle_id']}): {code or '-'}")
    say("\nemails sent:")
    for email in httpx.get(f"{stack.api_url}/_local/emails").json():
        say(f"  to {', '.join(email['to'])}: {email['subject']}")
    plan = api.post(f"/connections/{cid}/sync", params={"dry_run": "true"}).json()
    say(f"\nreconciliation dry run: {plan['summary'] or 'nothing to fix'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.demo", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the stack running afterwards")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request lines in the story
    log_dir = Path(tempfile.mkdtemp(prefix="fleetbridge-demo-logs-"))
    say("starting the local stack (moto, API emulator, SQS poller, vendor sandboxes)…")
    with LocalStack(log_dir=log_dir, time_factor=10.0) as stack:
        say("  " + "\n  ".join(f"{name}: {url}" for name, url in stack.urls().items()) + "\n")
        tenant = httpx.post(
            f"{stack.api_url}/_local/tenants", json={"name": "Demo Fleet Co"}
        ).json()
        say(f"tenant {tenant['tenant_id']} with an API key (Bearer {tenant['api_key'][:8]}…)\n")
        with (
            httpx.Client(
                base_url=stack.api_url,
                timeout=30,
                headers={"Authorization": f"Bearer {tenant['api_key']}"},
            ) as api,
            httpx.Client(base_url=stack.sandbox_url, timeout=30) as sandbox,
        ):
            fleetio_keycafe(stack, api, sandbox)
        say(f"\nAPI docs: {stack.api_url}/docs   (OpenAPI: {stack.api_url}/openapi.json)")
        if args.keep:
            say(f"the stack keeps running; API key {tenant['api_key']} — Ctrl-C to stop")
            stopped = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stopped.set())
            with contextlib.suppress(KeyboardInterrupt):
                stopped.wait()
        else:
            say("demo done: `make demo ARGS=--keep` or `make serve` keeps a stack running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
