"""Fleetio → Keycafe on the running local stack, driven only over HTTP as a user would: the
Fleetio sandbox sends the signed webhook to the API emulator, the worker runs from the SQS poller,
and the test reads the Keycafe sandbox and the assignment's custom fields."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.waiting import wait_for
from tests.support.worlds import ELI, FLEETIO_AUTH, fleetio_world, key_id, keycafe_world

pytestmark = pytest.mark.e2e

KEYCAFE_AUTH = ("ops@sandbox.example/token", "sandbox-keycafe-token")
WEBHOOK_SECRET = "e2e-fleetio-webhook-secret-4821"
CREDENTIALS = {
    "fleetio_api_key": "sandbox-fleetio-key",
    "fleetio_account_token": "sandbox-fleetio-account",
    "fleetio_webhook_secret": WEBHOOK_SECRET,
    "keycafe_email": "ops@sandbox.example",
    "keycafe_token": "sandbox-keycafe-token",
}
VEHICLES = 100  # vans 1..100: van 1 for the first booking, 2..100 for the burst
OUTAGE_VAN = VEHICLES + 1  # its own van, so no test depends on another's bookings


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class World:
    api: httpx.Client
    sandbox: httpx.Client
    connection_id: str

    def assign(self, vehicle_id: int, contact_id: int = ELI) -> dict[str, Any]:
        start = datetime.now(UTC) + timedelta(hours=1)
        response = self.sandbox.post(
            "/fleetio/api/v1/vehicle_assignments",
            headers=FLEETIO_AUTH,
            json={
                "vehicle_id": vehicle_id,
                "contact_id": contact_id,
                "started_at": iso(start),
                "ended_at": iso(start + timedelta(hours=8)),
            },
        )
        response.raise_for_status()
        return response.json()

    def accesses(self) -> list[dict[str, Any]]:
        return self.sandbox.get("/_sandbox/keycafe/state").json()["accesses"]

    def active(self) -> list[dict[str, Any]]:
        return [a for a in self.accesses() if a["status"] == "ACTIVE"]

    def activity(self, **query: str) -> list[dict[str, Any]]:
        return self.api.get(
            f"/connections/{self.connection_id}/activity", params={"limit": "200", **query}
        ).json()["items"]


@pytest.fixture(scope="module")
def world(stack: Any) -> Iterator[World]:
    """A tenant with a fleetio-keycafe connection whose Fleetio webhook points at the stack."""
    sandbox = httpx.Client(base_url=stack.sandbox_url, timeout=30)
    sandbox.post("/_sandbox/reset").raise_for_status()
    _, api_key = stack.new_tenant("E2E Fleet")
    api = stack.client(api_key)
    created = api.post(
        "/connections",
        json={
            "flow": "fleetio-keycafe",
            "name": "E2E depot",
            "credentials": CREDENTIALS,
            "settings": {"admin_emails": ["admin@e2e.example"], "time_zone": "Europe/Paris"},
        },
    )
    assert created.status_code == 201, created.text
    connection = created.json()
    # the shared Fleetio world (tests/support/worlds.py) with a van and a key per test's booking
    world = fleetio_world(
        webhook_url=connection["webhook_urls"]["fleetio"],
        secret=WEBHOOK_SECRET,
        vehicles=OUTAGE_VAN,
        vans=OUTAGE_VAN,
    )
    sandbox.post("/_sandbox/fleetio/seed", json=world).raise_for_status()
    sandbox.post("/_sandbox/keycafe/seed", json=keycafe_world(vans=OUTAGE_VAN)).raise_for_status()
    for i in range(1, OUTAGE_VAN + 1):
        linked = api.put(
            f"/connections/{connection['id']}/vehicles/{i}/link",
            json={"key_id": key_id(i), "notification": "automatic"},
        )
        assert linked.status_code == 200, linked.text
    yield World(api=api, sandbox=sandbox, connection_id=connection["id"])
    api.close()
    sandbox.close()


def test_assignment_created_in_fleetio_books_the_key_and_writes_back(world: World) -> None:
    created = world.assign(vehicle_id=1)
    (access,) = wait_for(
        lambda: [a for a in world.active() if a["key"]["id"] == key_id(1)],
        what="the Keycafe booking",
    )
    assert access["name"] == f"Fleetio · Van 1 · assignment {created['id']} · {world.connection_id}"

    def fields() -> dict[str, Any] | None:
        record = world.sandbox.get(
            f"/fleetio/api/v1/vehicle_assignments/{created['id']}", headers=FLEETIO_AUTH
        ).json()
        return (
            record["custom_fields"] if record["custom_fields"].get("keycafe_access_code") else None
        )

    custom = wait_for(fields, what="the custom fields")
    assert custom["keycafe_access_code"] == access["bookingCode"]
    assert custom["keycafe_access_link"] == access["checkinLink"]
    assert "Europe/Paris" in custom["keycafe_access_instructions"]
    assert wait_for(lambda: world.activity(action="created"), what="activity")


def test_bad_signature_is_401_and_nothing_happens(world: World, stack: Any) -> None:
    stack.drain()  # earlier deliveries (e.g. our own write-back's `updated` event) settle first
    before = (len(world.accesses()), len(world.activity()))
    body = b'{"id": "forged", "event": "vehicle_assignment_created", "payload": {"id": 2}}'
    answer = httpx.post(
        f"{stack.api_url}/hooks/fleetio/{world.connection_id}",
        content=body,
        headers={"X-Fleetio-Webhook-Signature": "f" * 64, "Content-Type": "application/json"},
    )
    assert answer.status_code == 401
    assert "Traceback" not in answer.text
    time.sleep(2)
    assert (len(world.accesses()), len(world.activity())) == before


def test_burst_with_keycafe_429s_books_everything_once(world: World) -> None:
    """100 assignments at once while Keycafe throws 429s: all booked, no duplicates."""
    world.sandbox.post("/_sandbox/keycafe/faults", json={"status_429": 0.2, "seed": 7})
    try:
        created = [world.assign(vehicle_id=i) for i in range(2, VEHICLES + 1)]
        names = {
            f"Fleetio · Van {a['vehicle_id']} · assignment {a['id']} · {world.connection_id}"
            for a in created
        }

        def all_booked() -> bool:
            return names <= {a["name"] for a in world.active()}

        wait_for(all_booked, timeout=240, what="every booking")
    finally:
        world.sandbox.post("/_sandbox/keycafe/faults", json={})
    time.sleep(2)  # late duplicates would show up now
    counts = Counter(a["name"] for a in world.accesses() if a["name"] in names)
    assert set(counts.values()) == {1}, "exactly one booking per assignment"
    statuses = Counter(
        r["status"] for r in world.sandbox.get("/_sandbox/keycafe/requests").json()["requests"]
    )
    assert statuses[429] > 0, "the burst did meet Keycafe 429s"


def test_vendor_outage_ends_in_dlq_then_replay_books(world: World) -> None:
    world.sandbox.post("/_sandbox/keycafe/faults", json={"status_5xx": 1.0})
    try:
        created = world.assign(vehicle_id=OUTAGE_VAN)
        letters = wait_for(
            lambda: world.api.get(f"/connections/{world.connection_id}/dead-letters").json()[
                "items"
            ],
            timeout=180,
            what="the dead letter",
        )
        assert letters[0]["message"]["payload"]["assignment_id"] == created["id"]
    finally:
        world.sandbox.post("/_sandbox/keycafe/faults", json={})
    failures = [e for e in world.activity(action="failed") if "dead_letter" in e["reason"]]
    assert len(failures) == 1
    replayed = world.api.post(f"/connections/{world.connection_id}/dead-letters/replay").json()
    assert len(replayed["replayed"]) == 1
    wait_for(
        lambda: [
            a
            for a in world.active()
            if a["name"].endswith(f"assignment {created['id']} · {world.connection_id}")
        ],
        what="the booking after replay",
    )
