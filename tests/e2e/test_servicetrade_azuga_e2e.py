"""ServiceTrade ↔ Azuga on the running local stack, over HTTP only: the connection is created
through the API, ServiceTrade's webhooks (our secret in the URL) and Azuga's alerts (our secret
in `x-api-key`) reach the API emulator, the worker runs from the SQS poller, and the test reads
what the two sandboxes saw."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.waiting import wait_for
from tests.support.worlds import (
    ANNEX,
    FENCE,
    HQ,
    JOB,
    NEAR,
    ROAD,
    SAM,
    TINA,
    st_azuga_world,
    st_world,
)

pytestmark = pytest.mark.e2e

SECRET = "e2e-st-azuga-hook-secret-5093"
CREDENTIALS = {
    "servicetrade_username": "sandbox-st-user",
    "servicetrade_password": "sandbox-st-pass",
    "azuga_api_key": "sandbox-azuga-key",
    "servicetrade_azuga_webhook_secret": SECRET,
}


@dataclass
class World:
    api: httpx.Client
    sandbox: httpx.Client
    connection_id: str

    def state(self, vendor: str) -> dict[str, Any]:
        return dict(self.sandbox.get(f"/_sandbox/{vendor}/state").json())

    def clocks(self, tech: int) -> list[dict[str, Any]]:
        return [e for e in self.state("servicetrade")["clock_events"] if e["userId"] == tech]

    def move(self, vehicle: str, where: tuple[float, float]) -> None:
        body = {"vehicleId": vehicle, "lat": where[0], "lon": where[1]}
        self.sandbox.post("/_sandbox/azuga/positions", json=body).raise_for_status()

    def activity(self) -> list[dict[str, Any]]:
        return list(
            self.api.get(
                f"/connections/{self.connection_id}/activity", params={"limit": "200"}
            ).json()["items"]
        )

    def reasons(self) -> set[str]:
        return {item["reason"] for item in self.activity()}


@pytest.fixture(scope="module")
def world(stack: Any) -> Iterator[World]:
    """A tenant with a servicetrade-azuga connection; both vendors' webhooks point at the stack."""
    sandbox = httpx.Client(base_url=stack.sandbox_url, timeout=30)
    sandbox.post("/_sandbox/reset").raise_for_status()
    _, api_key = stack.new_tenant("E2E Field Service")
    api = stack.client(api_key)
    created = api.post(
        "/connections",
        json={
            "flow": "servicetrade-azuga",
            "name": "E2E field service",
            "credentials": CREDENTIALS,
            "settings": {"admin_emails": ["ops@e2e.example"]},
        },
    )
    assert created.status_code == 201, created.text
    connection = created.json()
    urls = connection["webhook_urls"]
    seed_azuga = st_azuga_world(urls["azuga"], SECRET)
    sandbox.post("/_sandbox/azuga/seed", json=seed_azuga).raise_for_status()
    hook = {"url": f"{urls['servicetrade']}?secret={SECRET}", "events": ["*"]}
    sandbox.post("/_sandbox/servicetrade/seed", json={"webhooks": [hook]}).raise_for_status()
    world = st_world(int(time.time()))
    sandbox.post("/_sandbox/servicetrade/seed", json=world).raise_for_status()
    yield World(api=api, sandbox=sandbox, connection_id=connection["id"])
    api.close()
    sandbox.close()


def fence_of(world: World, name: str) -> dict[str, Any] | None:
    return next((g for g in world.state("azuga")["geomarks"] if g["name"] == name), None)


def test_webhooks_with_the_secret_give_each_scheduled_appointment_its_fence(
    world: World,
) -> None:
    fence = wait_for(lambda: fence_of(world, FENCE), what="the fence of appointment 501")
    assert (fence["latitude"], fence["longitude"], fence["geofenceRadius"]) == (*HQ, 150)
    wait_for(lambda: fence_of(world, "Acme Annex | J-1002 | 502"), what="the fence of 502")
    deliveries = world.sandbox.get("/_sandbox/servicetrade/webhook-deliveries").json()
    assert deliveries["deliveries"], "ServiceTrade sent its webhooks"
    assert all(d["status"] == "delivered" for d in deliveries["deliveries"])


def test_a_wrong_secret_is_refused(world: World, stack: Any) -> None:
    body = b'{"messageId": "forged", "data": []}'
    answer = httpx.post(
        f"{stack.api_url}/hooks/servicetrade/{world.connection_id}",
        params={"secret": "not-the-secret"},
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 401
    alert = httpx.post(
        f"{stack.api_url}/hooks/azuga/{world.connection_id}",
        content=b"[]",
        headers={"x-api-key": "not-the-secret", "Content-Type": "application/json"},
    )
    assert alert.status_code == 401


def test_en_route_clock_in_records_a_trackme_link_and_a_service_link(world: World) -> None:
    wait_for(lambda: fence_of(world, FENCE), what="the fence")
    clock_in = {
        "userId": TINA,
        "jobId": JOB,
        "appointmentId": NEAR,
        "activity": "enroute",
        "clockIn": int(time.time()),
    }
    seeded = {"clock_events": [clock_in]}
    world.sandbox.post("/_sandbox/servicetrade/seed", json=seeded).raise_for_status()
    [link] = wait_for(lambda: world.state("azuga")["trackme_links"], what="the TrackMe link")
    assert link["vehicleId"] == "v1"
    [message] = wait_for(lambda: world.state("servicetrade")["messages"], what="the Service Link")
    assert message["emails"] == ["pat@acme.example"]  # the location's primary contact
    assert message["params"]["trackingUrl"] == link["url"]

    def recorded() -> bool:
        seen = {(a["action"], a["entity"].split(" ")[0]) for a in world.activity()}
        return {("created", "tracking"), ("notified", "service")} <= seen

    wait_for(recorded, what="the TrackMe and Service Link activity")


def test_arrival_in_the_fence_clocks_the_tech_on_site_exactly_once(world: World) -> None:
    wait_for(lambda: world.state("azuga")["trackme_links"], what="the En Route step")
    world.move("v1", HQ)  # into the fence, an hour before windowStart: within ±8 h
    world.move("v1", HQ)  # the same position again
    on_site = wait_for(
        lambda: [e for e in world.clocks(TINA) if e["activity"] == "onsite"],
        what="the On Site clock-in",
    )
    assert on_site[0]["jobId"] == JOB and on_site[0]["clockOut"] is None
    world.move("v1", ROAD)  # out (on-site clock-out is off by default) and in again
    world.move("v1", HQ)
    wait_for(lambda: "already_on_site" in world.reasons(), what="the second entry handled")
    time.sleep(2)  # a late duplicate would show now
    clocks = {(e["activity"], e["clockOut"] is None) for e in world.clocks(TINA)}
    assert clocks == {("enroute", False), ("onsite", True)}
    assert len(world.clocks(TINA)) == 2
    assert world.clocks(SAM) == []  # one tech per vehicle


def test_arrival_outside_the_window_changes_nothing(world: World) -> None:
    wait_for(lambda: fence_of(world, "Acme Annex | J-1002 | 502"), what="the fence of 502")
    world.move("v2", ANNEX)  # ten hours early: outside ±8 h
    wait_for(lambda: "arrived_outside_window" in world.reasons(), what="the refused arrival")
    time.sleep(1)
    assert world.clocks(SAM) == []
