"""`make demo`'s ServiceTrade ↔ Azuga story: an appointment is scheduled, its tech clocks in
En Route, the van arrives. Over HTTP only, with the world the e2e test seeds
(`tests/support/worlds.py`); `local/demo.py` tells it after the other flows."""

from __future__ import annotations

import time
from typing import Any

import httpx

from local.stack.stack import LocalStack
from tests.support.waiting import wait_for
from tests.support.worlds import FENCE, HQ, JOB, NEAR, ROAD, TINA, st_azuga_world, st_world

SECRET = "demo-st-azuga-webhook-secret"
CREDENTIALS = {
    "servicetrade_username": "sandbox-st-user",
    "servicetrade_password": "sandbox-st-pass",
    "azuga_api_key": "sandbox-azuga-key",
    "servicetrade_azuga_webhook_secret": SECRET,
}
OPS = "field-ops@example.com"


def say(text: str = "") -> None:
    print(text, flush=True)


def servicetrade_azuga(stack: LocalStack, api: httpx.Client, sandbox: httpx.Client) -> None:
    """Schedule (a fence), En Route (TrackMe + Service Link), arrive (On Site, once)."""
    connection = (
        api.post(
            "/connections",
            json={
                "flow": "servicetrade-azuga",
                "name": "Field service",
                "credentials": CREDENTIALS,
                "settings": {"admin_emails": [OPS], "reply_to": "office@example.com"},
            },
        )
        .raise_for_status()
        .json()
    )
    cid, urls = connection["id"], connection["webhook_urls"]
    say(f"connection {cid}; ServiceTrade webhook URL {urls['servicetrade']}?secret=…")
    sandbox.post("/_sandbox/azuga/seed", json=st_azuga_world(urls["azuga"], SECRET))
    hook = {"url": f"{urls['servicetrade']}?secret={SECRET}", "events": ["*"]}
    sandbox.post("/_sandbox/servicetrade/seed", json={"webhooks": [hook]}).raise_for_status()
    sandbox.post("/_sandbox/servicetrade/seed", json=st_world(int(time.time())))
    say("ServiceTrade: Tina's appointment 501 at Acme HQ in an hour, Sam's 502 in ten hours")
    say("Azuga: drivers with their emails (other case), vans v1 and v2 paired with them")

    fence = wait_for(lambda: _find(_state(sandbox, "azuga")["geomarks"], name=FENCE))
    say(f"\nscheduled → Azuga fence '{fence['name']}', radius {fence['geofenceRadius']} m")

    clock_in = {
        "userId": TINA,
        "jobId": JOB,
        "appointmentId": NEAR,
        "activity": "enroute",
        "clockIn": int(time.time()),
    }
    sandbox.post("/_sandbox/servicetrade/seed", json={"clock_events": [clock_in]})
    [link] = wait_for(lambda: _state(sandbox, "azuga")["trackme_links"])
    [message] = wait_for(lambda: _state(sandbox, "servicetrade")["messages"])
    say("Tina clocks in En Route (app) → ServiceTrade's webhook:")
    say(f"  TrackMe link for van {link['vehicleId']}: {link['url']}")
    say(f"  Service Link emailed to {', '.join(message['emails'])} (the primary contact)")

    for where in (HQ, HQ, ROAD, HQ):  # arrives, stays, leaves for a coffee, comes back
        move = {"vehicleId": "v1", "lat": where[0], "lon": where[1]}
        sandbox.post("/_sandbox/azuga/positions", json=move).raise_for_status()
        if where == HQ:
            wait_for(lambda: _clocks(sandbox, "onsite"))
    stack.drain(60)
    say("van v1 enters the fence (then leaves and comes back) → Azuga's alerts:")
    for event in _clocks(sandbox):
        state = "open" if event["clockOut"] is None else "closed"
        say(f"  ServiceTrade clock: {event['activity']:<8} job {event['jobId']} {state}")
    say("\nactivity (newest first):")
    for item in api.get(f"/connections/{cid}/activity").json()["items"][:12]:
        say(f"  {item['at'][11:19]}  {item['action']:<9} {item['entity']:<22} {item['reason']}")


def _state(sandbox: httpx.Client, vendor: str) -> dict[str, Any]:
    return dict(sandbox.get(f"/_sandbox/{vendor}/state").json())


def _find(items: list[dict[str, Any]], *, name: str) -> dict[str, Any] | None:
    return next((i for i in items if i["name"] == name), None)


def _clocks(sandbox: httpx.Client, activity: str | None = None) -> list[dict[str, Any]]:
    events = _state(sandbox, "servicetrade")["clock_events"]
    return [
        e for e in events if e["userId"] == TINA and (activity is None or e["activity"] == activity)
    ]
