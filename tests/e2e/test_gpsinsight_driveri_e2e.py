"""GPS Insight → Driveri on the running local stack, over HTTP only: the portal sandbox pushes
signed driver changes to the API emulator, the poll and daily schedules are fired through
`/_local/schedules`, and the test reads the Driveri sandbox and the drift report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.waiting import wait_for
from tests.support.worlds import gps_drivers

pytestmark = pytest.mark.e2e

PUSH_SECRET = "e2e-gpsinsight-push-secret-7713"
CREDENTIALS = {
    "gpsinsight_username": "sandbox-gps-user",
    "gpsinsight_password": "sandbox-gps-pass",
    "gpsinsight_push_secret": PUSH_SECRET,
    "driveri_client_id": "sandbox-driveri-client",
    "driveri_client_secret": "sandbox-driveri-secret",
    "driveri_tenant": "sandbox-tenant",
}
DRIVERS = 20


@dataclass
class World:
    stack: Any
    api: httpx.Client
    sandbox: httpx.Client
    connection_id: str
    session: str = ""

    def portal(self, path: str, **params: Any) -> Any:
        if not self.session:
            login = self.sandbox.get(
                "/gpsinsight/v2/userauth/login",
                params={"username": "sandbox-gps-user", "password": "sandbox-gps-pass"},
            )
            self.session = login.json()["data"]["token"]
        # The documented form: GET with query parameters (the sandbox accepts nothing else).
        response = self.sandbox.get(
            f"/gpsinsight/v2{path}", params={**params, "session_token": self.session}
        )
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def driveri(self) -> dict[str, dict[str, Any]]:
        state = self.sandbox.get("/_sandbox/driveri/state").json()
        return {d["driverId"]: d for d in state["drivers"]}

    def driveri_writes(self) -> int:
        log = self.sandbox.get("/_sandbox/driveri/requests").json()["requests"]
        return sum(
            1 for r in log if r["method"] in ("POST", "PUT", "DELETE") and "/auth/" not in r["path"]
        )


@pytest.fixture(scope="module")
def world(stack: Any) -> Iterator[World]:
    """A connection whose portal pushes to the stack, with Driver Sync turned on."""
    sandbox = httpx.Client(base_url=stack.sandbox_url, timeout=30)
    sandbox.post("/_sandbox/reset").raise_for_status()
    _, api_key = stack.new_tenant("E2E Driver Sync")
    api = stack.client(api_key)
    created = api.post(
        "/connections",
        json={
            "flow": "gpsinsight-driveri",
            "name": "E2E driver sync",
            "credentials": CREDENTIALS,
            "settings": {"poll_minutes": 1},
        },
    )
    assert created.status_code == 201, created.text
    connection = created.json()
    sandbox.post(
        "/_sandbox/gpsinsight/seed",
        json={
            "drivers": gps_drivers(DRIVERS, label="E2E", email_domain="e2e.example"),
            "webhooks": [
                {
                    "url": connection["webhook_urls"]["gpsinsight"],
                    "secret": PUSH_SECRET,
                    "events": ["*"],
                }
            ],
        },
    ).raise_for_status()
    yield World(stack, api, sandbox, connection["id"])
    api.close()
    sandbox.close()


@dataclass
class OptIn:
    """What turning Driver Sync on answered, and Driveri's drivers before and after."""

    refused: httpx.Response
    before: dict[str, dict[str, Any]]
    accepted: httpx.Response
    after: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def opted_in(world: World) -> OptIn:
    """Driver Sync turned on (once, whichever test asks first): a wrong portal password is
    refused, then the Master User's turns it on and the initial sync runs."""
    path = f"/connections/{world.connection_id}/driver-sync"
    claim = {"enabled": True, "portal_user": "sandbox-gps-user", "portal_password": "guessed"}
    refused = world.api.post(path, json=claim)
    world.stack.drain()
    before = world.driveri()
    accepted = world.api.post(path, json=claim | {"portal_password": "sandbox-gps-pass"})
    world.stack.drain()
    return OptIn(refused, before, accepted, world.driveri())


def test_only_the_master_user_turns_it_on_and_the_initial_sync_runs(opted_in: OptIn) -> None:
    refused = opted_in.refused
    assert refused.status_code == 403 and "did not accept" in refused.json()["error"]["message"]
    assert opted_in.before == {}
    assert opted_in.accepted.status_code == 200, opted_in.accepted.text
    drivers = opted_in.after
    assert len(drivers) == DRIVERS - 1  # the one without a DriverID is skipped
    assert drivers["E2E-1"]["firstName"] == "First1"


@pytest.mark.usefixtures("opted_in")
def test_a_portal_change_reaches_driveri_through_the_push(world: World) -> None:
    world.portal("/driver/update", driver_id=1, lastname="Pushed")
    wait_for(lambda: world.driveri()["E2E-1"]["lastName"] == "Pushed", what="the pushed change")


@pytest.mark.usefixtures("opted_in")
def test_the_poll_catches_a_change_and_unchanged_drivers_cost_nothing(world: World) -> None:
    world.stack.drain()
    before = world.driveri_writes()
    assert world.stack.fire_schedule("GpsInsightDriveriPollFunction").status_code == 200
    world.stack.drain()
    assert world.driveri_writes() == before  # nothing changed since
    # a change that no push announced (written straight into the portal's store): the poll
    # finds it
    portal = world.sandbox.get("/_sandbox/gpsinsight/state").json()["drivers"]
    changed = {**next(d for d in portal if str(d["driver_id"]) == "2"), "group": "Polled"}
    world.sandbox.post("/_sandbox/gpsinsight/seed", json={"drivers": [changed]}).raise_for_status()
    assert world.stack.fire_schedule("GpsInsightDriveriPollFunction").status_code == 200
    world.stack.drain()
    assert world.driveri()["E2E-2"]["group"] == "Polled"
    assert world.driveri_writes() == before + 1


@pytest.mark.usefixtures("opted_in")
def test_daily_reconciliation_overwrites_drift_and_reports_it(world: World) -> None:
    drivers = world.driveri()
    drivers["E2E-3"]["phone"] = "+19999999999"
    world.sandbox.post("/_sandbox/driveri/seed", json={"drivers": list(drivers.values())})
    assert world.stack.fire_schedule("GpsInsightDriveriDailyFunction").status_code == 200
    world.stack.drain()
    assert world.driveri()["E2E-3"].get("phone") in (None, "")
    report = world.api.get(
        f"/connections/{world.connection_id}/reports/drift/latest", params={"format": "csv"}
    )
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert any(r["driveri_driver_id"] == "E2E-3" and r["field"] == "phone" for r in rows)


@pytest.mark.usefixtures("opted_in")
def test_portal_delete_deactivates_the_driveri_driver(world: World) -> None:
    world.portal("/driver/delete", driver_id=4)
    wait_for(lambda: world.driveri()["E2E-4"]["status"] == 0, what="the deactivation")
