"""`make demo`: start the local stack, seed small vendor worlds, drive every flow, print the story.

Everything goes over HTTP exactly as a user would do it: a tenant from `/_local/tenants`,
connections and routing profiles through the management API, vendor data through the sandboxes
(the same worlds the e2e tests seed: `tests/support/worlds.py`, `tests/support/routing.py`),
vendor changes through the vendors' own (sandboxed) APIs whose webhooks drive the flows, and
schedules fired through `/_local/schedules`. `--keep` leaves the stack running afterwards
(Ctrl-C to stop); `--only striven-onfleet` (repeatable) tells one story.
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

from local.demo_servicetrade_azuga import servicetrade_azuga
from local.stack.stack import LocalStack
from tests.support import routing as routing_world
from tests.support.worlds import (
    DANA,
    ELI,
    FLEETIO_AUTH,
    fleetio_world,
    gps_drivers,
    key_id,
    keycafe_world,
    onfleet_for_striven,
    striven_world,
)

ROOT = Path(__file__).resolve().parent.parent
#: where the demo writes files (the route map); gitignored
OUTPUT_DIR = ROOT / ".artifacts" / "demo"

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
    # the Fleetio world the tests use (tests/support/worlds.py): vans 1 and 2 with a key each
    # (van 1's in the depot's SmartBox), truck 3 without; Dana has a Keycafe account, Eli not
    sandbox.post(
        "/_sandbox/fleetio/seed",
        json=fleetio_world(
            webhook_url=connection["webhook_urls"]["fleetio"], secret=WEBHOOK_SECRET
        ),
    ).raise_for_status()
    sandbox.post("/_sandbox/keycafe/seed", json=keycafe_world()).raise_for_status()
    api.put(
        f"/connections/{cid}/vehicles/1/link",
        json={"key_id": key_id(1), "notification": "automatic"},
    ).raise_for_status()
    api.put(
        f"/connections/{cid}/vehicles/2/link", json={"key_id": key_id(2), "notification": "prompt"}
    ).raise_for_status()
    say(
        f"linked: Van 1 → key {key_id(1)} (automatic), Van 2 → key {key_id(2)} (prompt), "
        "Truck 3: no key"
    )

    start = datetime.now(UTC) + timedelta(hours=2)
    for vehicle, contact in ((1, DANA), (2, ELI), (3, ELI)):
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
    emails_to(stack, "fleet-admin@example.com")
    plan = api.post(f"/connections/{cid}/sync", params={"dry_run": "true"}).json()
    say(f"\nreconciliation dry run: {plan['summary'] or 'nothing to fix'}")


def emails_to(stack: LocalStack, recipient: str) -> None:
    """Print the emails `recipient` got (SES on the local stack)."""
    sent = [e for e in stack.emails() if recipient in (e.get("to") or [])]
    say(f"\nemails to {recipient}:" + ("" if sent else " none"))
    for email in sent:
        say(f"  {email['subject']}")


def fire(stack: LocalStack, function: str) -> None:
    """Fire a function's schedule now (as EventBridge would) and wait for the work it queued."""
    httpx.post(f"{stack.api_url}/_local/schedules/{function}", timeout=120).raise_for_status()
    stack.drain(120)


STRIVEN = {
    "striven_client_id": "demo-striven-client",
    "striven_client_secret": "demo-striven-secret",
    "onfleet_api_key": "demo-onfleet-key",  # route planning uses the same organisation
}
STRIVEN_ZONE = "America/Chicago"
DISPATCH = "dispatch@example.com"


def striven_onfleet(stack: LocalStack, api: httpx.Client, sandbox: httpx.Client) -> None:
    """Twelve Striven tasks, five employees in two teams; the Onfleet org has one stranger."""
    sandbox.post(
        "/_sandbox/onfleet/seed", json=onfleet_for_striven(STRIVEN["onfleet_api_key"])
    ).raise_for_status()
    world = striven_world(
        label="Demo",
        zone=STRIVEN_ZONE,
        client_id=STRIVEN["striven_client_id"],
        client_secret=STRIVEN["striven_client_secret"],
    )
    sandbox.post("/_sandbox/striven/seed", json=world).raise_for_status()
    say(
        "Striven: 12 open tasks (task 11 starts in 40 h), 5 employees in teams Demo North and South;"
    )
    say("Onfleet: an unrelated driver 'Someone Else' already has Driver5's phone")
    connection = (
        api.post(
            "/connections",
            json={
                "flow": "striven-onfleet",
                "name": "Springfield dispatch",
                "credentials": STRIVEN,
                "settings": {
                    "time_zone": STRIVEN_ZONE,
                    "admin_emails": [DISPATCH],
                    "task_type_ids": [1],
                    "team_ids": [10, 20],
                    # Striven's API has no teams endpoint: the teams and members are settings
                    "teams": world["teams"],
                    "poll_minutes": 1,
                },
            },
        )
        .raise_for_status()
        .json()
    )
    cid = connection["id"]
    say(f"connection {cid} (credentials checked with both vendors on save)")
    fire(stack, "StrivenOnfleetPollFunction")
    state = sandbox.get("/_sandbox/onfleet/state").json()
    synced = [t for t in state["tasks"] if any(m["name"] == "strivenTaskId" for m in t["metadata"])]
    say(
        f"\nfirst poll: {len(synced)} Onfleet tasks, teams {sorted(t['name'] for t in state['teams'])}"
    )
    for task_id in (1, 11, 12):
        view = api.get(f"/connections/{cid}/tasks/{task_id}").json()
        say(
            f"  Striven task {task_id}: {view['sync_state']:<8} {view.get('reason') or ''} "
            f"{view.get('tracking_url') or ''}".rstrip()
        )
    emails_to(stack, DISPATCH)
    before = _writes(sandbox, "onfleet")
    fire(stack, "StrivenOnfleetPollFunction")
    say(f"\nsecond poll, nothing changed: {_writes(sandbox, 'onfleet') - before} Onfleet writes")
    sandbox.post(
        "/_sandbox/striven/seed", json={"tasks": [{"id": 2, "title": "Visit 2, gate code 4411"}]}
    ).raise_for_status()
    fire(stack, "StrivenOnfleetPollFunction")
    say(f"task 2 retitled in Striven, next poll: {_writes(sandbox, 'onfleet') - before} write")


def _writes(sandbox: httpx.Client, vendor: str) -> int:
    log = sandbox.get(f"/_sandbox/{vendor}/requests").json()["requests"]
    return sum(
        1 for r in log if r["method"] in ("POST", "PUT", "DELETE") and "/auth/" not in r["path"]
    )


GPS = {
    "gpsinsight_username": "sandbox-gps-user",
    "gpsinsight_password": "sandbox-gps-pass",
    "gpsinsight_push_secret": "demo-gpsinsight-push-secret",
    "driveri_client_id": "sandbox-driveri-client",
    "driveri_client_secret": "sandbox-driveri-secret",
    "driveri_tenant": "sandbox-tenant",
}
GPS_DRIVERS = 8


def gpsinsight_driveri(stack: LocalStack, api: httpx.Client, sandbox: httpx.Client) -> None:
    """Eight portal drivers (one without a Driveri DriverID) pushed and polled into Driveri."""
    connection = (
        api.post(
            "/connections",
            json={
                "flow": "gpsinsight-driveri",
                "name": "Portal drivers",
                "credentials": GPS,
                "settings": {"poll_minutes": 1},
            },
        )
        .raise_for_status()
        .json()
    )
    cid = connection["id"]
    sandbox.post(
        "/_sandbox/gpsinsight/seed",
        json={
            "drivers": gps_drivers(GPS_DRIVERS, label="DEMO", email_domain="demo.example"),
            "webhooks": [
                {
                    "url": connection["webhook_urls"]["gpsinsight"],
                    "secret": GPS["gpsinsight_push_secret"],
                    "events": ["*"],
                }
            ],
        },
    ).raise_for_status()
    say(f"connection {cid}; the portal pushes to {connection['webhook_urls']['gpsinsight']}")
    refused = api.post(
        f"/connections/{cid}/driver-sync",
        json={"enabled": True, "portal_user": "dispatcher", "portal_password": "dispatch-pass"},
    )
    say(f"opt-in by 'dispatcher': {refused.status_code} {refused.json()['error']['message']}")
    # the Master User proves it with their own portal password (checked by a login, not stored)
    api.post(
        f"/connections/{cid}/driver-sync",
        json={
            "enabled": True,
            "portal_user": GPS["gpsinsight_username"],
            "portal_password": GPS["gpsinsight_password"],
        },
    ).raise_for_status()
    stack.drain(120)
    drivers = _driveri(sandbox)
    say(
        f"opt-in by the Master User: initial sync wrote {len(drivers)} of {GPS_DRIVERS} drivers "
        "(the one without a DriverID is skipped)"
    )
    # GPS Insight's documented form: GET with query parameters (the sandbox accepts nothing else)
    login = sandbox.get(
        "/gpsinsight/v2/userauth/login",
        params={"username": GPS["gpsinsight_username"], "password": GPS["gpsinsight_password"]},
    ).json()
    sandbox.get(
        "/gpsinsight/v2/driver/update",
        params={"driver_id": 1, "lastname": "Pushed", "session_token": login["data"]["token"]},
    ).raise_for_status()
    wait_for(lambda: _driveri(sandbox)["DEMO-1"]["lastName"] == "Pushed")
    say("driver 1 renamed in the portal: its signed push reached Driveri (lastName 'Pushed')")
    drivers = _driveri(sandbox)
    drivers["DEMO-3"]["phone"] = "+19999999999"
    sandbox.post("/_sandbox/driveri/seed", json={"drivers": list(drivers.values())})
    fire(stack, "GpsInsightDriveriDailyFunction")
    report = api.get(f"/connections/{cid}/reports/drift/latest").json()
    say("someone edited DEMO-3's phone in Driveri; the daily reconciliation (portal wins):")
    for row in report["drivers"]:
        for diff in row["differences"]:
            say(
                f"  {row['driveri_driver_id']}: {row['action']} ({row['reason']}), {diff['field']} "
                f"{diff['driveri'] or '(empty)'} in Driveri → {diff['portal'] or '(empty)'} from the portal"
            )
    say(
        f"  summary {report['summary']}; CSV: GET /connections/{cid}/reports/drift/latest?format=csv"
    )


def _driveri(sandbox: httpx.Client) -> dict[str, dict[str, Any]]:
    return {d["driverId"]: d for d in sandbox.get("/_sandbox/driveri/state").json()["drivers"]}


def route_planning(stack: LocalStack, api: httpx.Client, sandbox: httpx.Client) -> None:
    """Two Onfleet drivers, six parcels and three alternate drop points, planned and applied."""
    onfleet_key = STRIVEN["onfleet_api_key"]
    sandbox.post(
        "/_sandbox/onfleet/seed",
        json={"credentials": {"api_keys": [onfleet_key]}, **routing_world.onfleet_world()},
    ).raise_for_status()
    api.post(
        "/v1/routing/profiles/integration/onfleet",
        json=routing_world.integration_body(api_key=onfleet_key),
    ).raise_for_status()
    api.post("/v1/routing/profiles/run", json=routing_world.run_profile_body()).raise_for_status()
    say("profiles: Onfleet integration 'onfleet-main' (key stored masked), run profile 'daily'")
    run_id = (
        api.post("/v1/integrations/onfleet/run", json=routing_world.onfleet_run_body())
        .raise_for_status()
        .json()["run_id"]
    )
    status = wait_for(
        lambda: (
            (s := api.get(f"/v0/run/{run_id}/status").json())["status"] in ("succeeded", "failed")
            and s
        ),
        timeout=180,
    )
    say(f"run {run_id}: {status['status']}")
    result = api.get(f"/v0/run/{run_id}/result").json()
    for container in result["containers"]:
        say(f"  {container['worker']}: {' → '.join(container['tasks'])}")
    say(f"  unused alternates: {', '.join(result['unused_alternate_tasks']) or 'none'}")
    dry = api.post(f"/v0/run/{run_id}/apply", json={"dry_run": True}).json()
    say(f"apply, dry run: would delete {dry['delete_tasks']}; Onfleet untouched until applied")
    queued = api.post(f"/v0/run/{run_id}/apply", json={"dry_run": False})
    say(f"apply: {queued.status_code} queued; the routing worker writes it to Onfleet")
    applied = wait_for(
        lambda: (
            (api.get(f"/v0/run/{run_id}/status").json().get("apply") or {}).get("status")
            in ("succeeded", "failed")
            and api.get(f"/v0/run/{run_id}/status").json()["apply"]
        ),
        timeout=120,
    )
    say(f"apply: {applied['status']} (each driver's task list written in route order)")
    svg = api.get(f"/v0/run/{run_id}/map", params={"format": "svg"})
    svg.raise_for_status()
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUTPUT_DIR / f"route-map-{run_id}.svg"
    path.write_bytes(svg.content)
    say(f"route map: {path}")


#: (flow, title, story) in the order they are told.
STORIES: tuple[tuple[str, str, Callable[[LocalStack, httpx.Client, httpx.Client], None]], ...] = (
    ("fleetio-keycafe", "Fleetio → Keycafe", fleetio_keycafe),
    ("striven-onfleet", "Striven → Onfleet", striven_onfleet),
    ("gpsinsight-driveri", "GPS Insight → Netradyne Driveri", gpsinsight_driveri),
    ("servicetrade-azuga", "ServiceTrade ↔ Azuga", servicetrade_azuga),
    ("routing", "Route planning (Nextmv-compatible API on Onfleet)", route_planning),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.demo", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the stack running afterwards")
    parser.add_argument(
        "--only",
        action="append",
        choices=[flow for flow, _, _ in STORIES],
        help="tell only this flow's story (repeatable; default: every flow)",
    )
    args = parser.parse_args(argv)
    stories = [story for story in STORIES if not args.only or story[0] in args.only]
    started = time.monotonic()
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
            for _, title, story in stories:
                say(f"\n== {title}")
                story(stack, api, sandbox)
        say(f"\n== done in {time.monotonic() - started:.0f} s. Where to look next:")
        say(
            f"  API docs (Swagger UI): {stack.api_url}/docs   OpenAPI: {stack.api_url}/openapi.json"
        )
        say(f"  function logs: {log_dir}")
        say(f"  the demo's files: {OUTPUT_DIR}")
        say("  each flow's rules and settings: docs/*.md; operate it in AWS: README 'Deploy'")
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
