"""ServiceTrade ↔ Azuga inside one process: the ServiceTrade sandbox (webhook deliveries,
appointments, clock events, Service Link), the Azuga sandbox (geofences, TrackMe links,
`POST /_sandbox/azuga/positions` → alerts) → our webhook functions → SQS (moto) → worker."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest

from tests.integration.conftest import Api
from tests.support.events import (
    azuga_hook_event,
    schedule_event,
    servicetrade_hook_event,
    sqs_event,
)
from tests.support.lambdas import invoke

SECRET = "st-azuga-hook-secret-0123456789"
CREDENTIALS = {
    "servicetrade_username": "sandbox-st-user",
    "servicetrade_password": "sandbox-st-pass",
    "azuga_api_key": "sandbox-azuga-key",
    "servicetrade_azuga_webhook_secret": SECRET,
}
QUEUE = "ServiceTradeAzugaQueue"
TECH, JOB, APPOINTMENT = 11, 77, 501
FENCE = "Acme HQ | J-1001 | 501"


def world(now: int) -> dict[str, Any]:
    """One tech (paired with van v1 in Azuga), one job at Acme HQ, appointment 501 in an hour."""
    return {
        "users": [
            {
                "id": TECH,
                "firstName": "Tina",
                "lastName": "Tech",
                "email": "Tina@Example.com ",
                "isTech": True,
            },
            {
                "id": 12,
                "firstName": "Sam",
                "lastName": "Other",
                "email": "sam@example.com",
                "isTech": True,
            },
        ],
        "locations": [
            {
                "id": 5,
                "name": "Acme HQ",
                "lat": 40.0,
                "lon": -75.0,
                "email": "front@acme.example",
                "primaryContact": {"id": 1, "name": "Pat", "email": "pat@acme.example"},
            },
            {"id": 6, "name": "Acme Annex", "lat": 41.0, "lon": -75.0, "email": None},
        ],
        "jobs": [
            {"id": JOB, "number": "J-1001", "location": 5},
            {"id": 78, "number": "J-1002", "location": 6},
        ],
        "appointments": [
            {
                "id": APPOINTMENT,
                "status": "scheduled",
                "windowStart": now + 3600,
                "windowEnd": now + 3 * 3600,
                "job": JOB,
                "location": 5,
                "techs": [TECH],
                "released": True,
            },
        ],
    }


class Harness:
    """One connection: sandbox changes, webhook deliveries, poll, worker, both sides' state."""

    def __init__(self, api: Api, sandbox: httpx.Client, aws: dict[str, Any], connection_id: str):
        self.api, self.sandbox, self.aws = api, sandbox, aws
        self.connection_id = connection_id
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.delivered: set[str] = set()

    def seed(self, vendor: str, payload: dict[str, Any]) -> dict[str, Any]:
        response = self.sandbox.post(f"/_sandbox/{vendor}/seed", json=payload)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def state(self, vendor: str) -> dict[str, Any]:
        return dict(self.sandbox.get(f"/_sandbox/{vendor}/state").json())

    def requests(self, vendor: str) -> list[dict[str, Any]]:
        return list(self.sandbox.get(f"/_sandbox/{vendor}/requests").json()["requests"])

    def deliver(self, vendor: str, *, times: int = 1) -> list[dict[str, Any]]:
        """Hand each new delivery of `vendor` to our webhook function (`times` times each)."""
        answers = []
        listed = self.sandbox.get(f"/_sandbox/{vendor}/webhook-deliveries", params={"wait": 5})
        for delivery in listed.json()["deliveries"]:
            if delivery["id"] in self.delivered:
                continue
            self.delivered.add(delivery["id"])
            body = delivery["body"].encode()
            for _ in range(times):
                if vendor == "servicetrade":
                    secret = parse_qs(urlsplit(delivery["url"]).query)["secret"][0]
                    event = servicetrade_hook_event(self.connection_id, body, secret)
                else:
                    event = azuga_hook_event(self.connection_id, body, None)
                    event["headers"].update({k.lower(): v for k, v in delivery["headers"].items()})
                answers.append(invoke(f"{vendor}_webhook", event))
        return answers

    def poll(self) -> dict[str, Any]:
        event = schedule_event("servicetrade-azuga-poll")
        event["id"] = f"poll-{time.monotonic_ns()}"
        return invoke("servicetrade_azuga_poll", event)

    def work(self) -> None:
        """Run the worker over everything queued (like the SQS event source)."""
        url = self.aws["queues"][QUEUE]
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return
            event = sqs_event([json.loads(m["Body"]) for m in messages], queue=QUEUE)
            for record, message in zip(event["Records"], messages, strict=True):
                record["messageId"] = message["MessageId"]
            result = invoke("servicetrade_azuga_worker", event)
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            assert not result["batchItemFailures"], result

    def sync(self) -> None:
        """Deliver what both vendors sent and work until nothing is left."""
        for _ in range(4):
            self.deliver("servicetrade")
            self.deliver("azuga")
            self.work()

    def activity(self) -> list[dict[str, Any]]:
        status, body = self.api(
            "GET", f"/connections/{self.connection_id}/activity", query={"limit": "200"}
        )
        assert status == 200, body
        return list(body["items"])

    def reasons(self) -> set[str]:
        return {item["reason"] for item in self.activity()}

    def move(self, lat: float, lon: float) -> None:
        response = self.sandbox.post(
            "/_sandbox/azuga/positions", json={"vehicleId": "v1", "lat": lat, "lon": lon}
        )
        assert response.status_code == 200, response.text

    def clocks(self, job: int = JOB) -> list[dict[str, Any]]:
        events = self.state("servicetrade")["clock_events"]
        return [e for e in events if e["userId"] == TECH and e["jobId"] == job]


@pytest.fixture
def h(api: Api, sandbox: httpx.Client, aws: dict[str, Any]) -> Harness:
    status, body = api(
        "POST",
        "/connections",
        {
            "flow": "servicetrade-azuga",
            "name": "Field service",
            "credentials": CREDENTIALS,
            "settings": {"poll_minutes": 1, "admin_emails": ["ops@example.com"]},
        },
    )
    assert status == 201, body
    h = Harness(api, sandbox, aws, body["id"])
    hook = f"http://127.0.0.1:9/hooks/servicetrade/{h.connection_id}?secret={SECRET}"
    alerts = f"http://127.0.0.1:9/hooks/azuga/{h.connection_id}"
    h.seed(
        "azuga",
        {
            "users": [{"id": "d1", "email": "tina@example.com"}],
            "trackees": [
                {
                    "id": "v1",
                    "name": "Van 1",
                    "assignedUserId": "d1",
                    "lastLocation": {"latitude": 39.0, "longitude": -75.0},
                }
            ],
            "webhooks": [{"url": alerts, "authorizationType": "KEY", "keyValue": SECRET}],
        },
    )
    h.seed("servicetrade", {"webhooks": [{"url": hook, "events": ["*"]}]})
    h.seed("servicetrade", world(int(time.time())))
    return h


def geomarks(h: Harness) -> list[dict[str, Any]]:
    return list(h.state("azuga")["geomarks"])


def test_a_scheduled_appointment_gets_one_fence_and_canceled_archives_it(h: Harness) -> None:
    answers = h.deliver("servicetrade", times=3)  # ServiceTrade tries a delivery 3 times
    assert {a["statusCode"] for a in answers} == {202}
    h.work()
    [fence] = geomarks(h)
    assert fence["name"] == FENCE and fence["geofenceRadius"] == 150
    # the poll reads the same appointment again: unchanged, no Azuga call at all
    before = len(h.requests("azuga"))
    assert h.poll()["queued"] == 1
    h.work()
    assert [r for r in h.requests("azuga")[before:] if "geomarks" in r["path"]] == []
    assert len(geomarks(h)) == 1

    h.seed(
        "servicetrade", {"appointments": [{"id": APPOINTMENT, "status": "canceled_by_customer"}]}
    )
    h.sync()
    assert geomarks(h) == []
    deleted = [a for a in h.activity() if a["action"] == "deleted"]
    assert [a["reason"] for a in deleted] == ["canceled"]
    assert deleted[0]["vendor_ids"]["geofence_id"] == str(fence["id"])  # our record keeps it


def test_each_upload_s_fences_are_recorded_before_the_next_upload(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fences go in bulk uploads; the records of one upload are written before the next one
    (which Azuga's one-a-minute limit makes wait), not all after the last."""
    import fleetbridge.flows.servicetrade_azuga.fences as fences

    monkeypatch.setattr(fences, "GEOFENCE_BATCH", 1)
    start = int(time.time()) + 3600
    more = [
        {"id": i, "status": "scheduled", "windowStart": start, "job": 78, "location": 6}
        for i in (502, 503)
    ]
    h.seed("servicetrade", {"appointments": [{**a, "techs": [TECH]} for a in more]})
    h.sync()
    uploads = [r for r in h.requests("azuga") if r["path"].endswith("/bulkUpload.json")]
    assert len(uploads) == 3 and len(geomarks(h)) == 3
    created = {a["entity"]: a["at"] for a in h.activity() if a["action"] == "created"}
    for upload, following in itertools.pairwise(uploads):
        [fence] = upload["body"]["create"]
        appointment = fence["name"].rsplit(" | ", 1)[1]
        assert created[f"appointment {appointment}"] <= following["time"]


def test_no_job_number_gets_no_fence_and_says_why(h: Harness) -> None:
    h.seed(
        "servicetrade",
        {
            "appointments": [
                {
                    "id": 502,
                    "status": "scheduled",
                    "windowStart": int(time.time()),
                    "job": None,
                    "location": 6,
                    "techs": [TECH],
                }
            ]
        },
    )
    h.sync()
    assert [g["name"] for g in geomarks(h)] == [FENCE]
    assert "no_job_number" in h.reasons()


def test_en_route_then_arrival_clocks_the_paired_tech_once(h: Harness) -> None:
    h.sync()
    now = int(time.time())
    h.seed(
        "servicetrade",
        {
            "clock_events": [
                {
                    "userId": TECH,
                    "jobId": JOB,
                    "appointmentId": APPOINTMENT,
                    "activity": "enroute",
                    "clockIn": now,
                }
            ]
        },
    )
    h.deliver("servicetrade", times=2)
    h.work()
    h.poll()
    h.sync()
    links = h.state("azuga")["trackme_links"]
    assert len(links) == 1 and links[0]["vehicleId"] == "v1"
    [message] = h.state("servicetrade")["messages"]
    assert message["emails"] == ["pat@acme.example"]  # the primary contact
    assert message["params"]["trackingUrl"] == links[0]["url"]

    h.move(40.0, -75.0)  # into the fence, within ±8 h of windowStart
    h.sync()
    clocks = {(e["activity"], e["clockOut"] is None) for e in h.clocks()}
    assert clocks == {("enroute", False), ("onsite", True)}
    h.move(39.0, -75.0)  # out (on-site clock-out is off) and in again: nothing changes
    h.move(40.0, -75.0)
    h.sync()
    assert len(h.clocks()) == 2
    assert {"arrived", "already_on_site", "onsite_clock_out_off"} <= h.reasons()
    assert all(e["userId"] == TECH for e in h.state("servicetrade")["clock_events"])


def test_arrival_outside_the_window_changes_nothing(h: Harness) -> None:
    later = int(time.time()) + 10 * 3600
    h.seed(
        "servicetrade",
        {"appointments": [{"id": APPOINTMENT, "windowStart": later, "windowEnd": later + 3600}]},
    )
    h.sync()
    h.seed(
        "servicetrade",
        {
            "clock_events": [
                {
                    "userId": TECH,
                    "jobId": JOB,
                    "appointmentId": APPOINTMENT,
                    "activity": "enroute",
                    "clockIn": int(time.time()),
                }
            ]
        },
    )
    h.sync()
    h.move(40.0, -75.0)
    h.sync()
    assert [(e["activity"], e["clockOut"]) for e in h.clocks()] == [("enroute", None)]
    assert "arrived_outside_window" in h.reasons()


def test_no_email_is_recorded_not_failed(h: Harness) -> None:
    h.seed(
        "servicetrade",
        {
            "locations": [
                {"id": 5, "email": None, "primaryContact": {"id": 1, "name": "Pat", "email": None}}
            ]
        },
    )
    h.sync()
    h.seed(
        "servicetrade",
        {
            "clock_events": [
                {
                    "userId": TECH,
                    "jobId": JOB,
                    "appointmentId": APPOINTMENT,
                    "activity": "enroute",
                    "clockIn": int(time.time()),
                }
            ]
        },
    )
    h.sync()
    assert len(h.state("azuga")["trackme_links"]) == 1
    assert h.state("servicetrade")["messages"] == []
    assert "no_email" in h.reasons()


def test_a_wrong_secret_is_refused_first(h: Harness) -> None:
    body = b'{"messageId": "m1", "data": []}'
    answer = invoke("servicetrade_webhook", servicetrade_hook_event(h.connection_id, body, "no"))
    assert answer["statusCode"] == 401
    answer = invoke("azuga_webhook", azuga_hook_event(h.connection_id, b"[]", None))
    assert answer["statusCode"] == 401


def test_a_fence_is_removed_from_azuga_after_its_window_closes(h: Harness) -> None:
    status, body = h.api(
        "PATCH", f"/connections/{h.connection_id}", {"settings": {"arrival_window_hours": 0}}
    )
    assert status == 200, body
    soon = int(time.time()) + 15  # the fence is made before the window closes, even under load
    h.seed(
        "servicetrade",
        {
            "appointments": [
                {
                    "id": 503,
                    "status": "scheduled",
                    "windowStart": soon,
                    "windowEnd": soon + 1,
                    "job": 78,
                    "location": 6,
                    "techs": [TECH],
                }
            ]
        },
    )
    h.sync()
    assert sorted(g["name"] for g in geomarks(h)) == ["Acme Annex | J-1002 | 503", FENCE]
    time.sleep(max(0.0, soon + 1.5 - time.time()))  # 503's window closes
    assert h.poll()["queued"] == 1
    h.work()
    assert [g["name"] for g in geomarks(h)] == [FENCE]
    removed = [a for a in h.activity() if a["reason"] == "window_closed"]
    assert [a["entity"] for a in removed] == ["appointment 503"]
    assert removed[0]["vendor_ids"]["geofence_id"]  # our record keeps the fence


def test_no_fence_for_an_appointment_whose_window_has_closed(h: Harness) -> None:
    past = int(time.time()) - 20 * 3600  # its end and windowStart + 8 h are past
    h.seed(
        "servicetrade",
        {
            "appointments": [
                {
                    "id": 503,
                    "status": "scheduled",
                    "windowStart": past,
                    "windowEnd": past + 3600,
                    "job": 78,
                    "location": 6,
                    "techs": [TECH],
                }
            ]
        },
    )
    h.sync()
    assert [g["name"] for g in geomarks(h)] == [FENCE]
    assert "window_closed" in h.reasons()


def test_on_site_clock_out_when_the_setting_is_on(h: Harness) -> None:
    status, body = h.api(
        "PATCH", f"/connections/{h.connection_id}", {"settings": {"onsite_clock_out": True}}
    )
    assert status == 200, body
    h.sync()
    h.move(40.0, -75.0)
    h.sync()
    h.move(39.0, -75.0)
    h.sync()
    [onsite] = [e for e in h.clocks() if e["activity"] == "onsite"]
    assert onsite["clockOut"] is not None
    assert {"arrived", "left_site"} <= h.reasons()


def test_a_fence_azuga_refuses_is_recorded_with_its_message(h: Harness) -> None:
    taken = {
        "name": FENCE.lower(),
        "latitude": 1.0,
        "longitude": 1.0,
        "fenceType": "Circular",
        "geofenceRadius": 100,
    }
    h.seed("azuga", {"geomarks": [taken]})
    h.sync()
    [failed] = [a for a in h.activity() if a["action"] == "failed"]
    assert (
        failed["reason"] == "vendor_api_error"
        and "already exists" in failed["vendor_ids"]["message"]
    )
    before = len(h.requests("azuga"))
    h.poll()
    h.work()  # unchanged: not retried until the appointment changes
    assert [r for r in h.requests("azuga")[before:] if "geomarks" in r["path"]] == []


def test_a_fence_left_by_a_lost_answer_is_adopted_not_created_again(h: Harness) -> None:
    # an earlier attempt's upload was applied, its answer lost: the fence is in Azuga already
    earlier = {
        "name": FENCE,
        "latitude": 40.0,
        "longitude": -75.0,
        "fenceType": "Circular",
        "geofenceRadius": 150,
    }
    [seeded] = h.seed("azuga", {"geomarks": [earlier]})["geomarks"]
    h.sync()
    assert [g["id"] for g in geomarks(h)] == [seeded["id"]]
    [created] = [a for a in h.activity() if a["action"] == "created"]
    assert created["vendor_ids"]["geofence_id"] == str(seeded["id"])


def test_an_on_site_clock_in_left_by_a_lost_answer_is_not_repeated(h: Harness) -> None:
    h.sync()
    now = int(time.time())
    h.seed(
        "servicetrade",
        {
            "clock_events": [
                {
                    "userId": TECH,
                    "jobId": JOB,
                    "appointmentId": APPOINTMENT,
                    "activity": "enroute",
                    "clockIn": now - 600,
                    "clockOut": now - 60,
                },
                {
                    "userId": TECH,
                    "jobId": JOB,
                    "appointmentId": APPOINTMENT,
                    "activity": "onsite",
                    "clockIn": now - 60,
                },
            ]
        },
    )
    h.sync()
    h.move(40.0, -75.0)
    h.sync()
    assert sorted(e["activity"] for e in h.clocks()) == ["enroute", "onsite"]
    assert "arrived" in h.reasons()


def test_reconciliation_dry_run_plans_and_writes_nothing(h: Harness) -> None:
    status, plan = h.api("POST", f"/connections/{h.connection_id}/sync", query={"dry_run": "true"})
    assert status == 200, plan
    items = {i["entity"]: (i["action"], i["reason"]) for i in plan["plan"]["items"]}
    assert items["appointment 501"] == ("created", "scheduled")
    assert geomarks(h) == []
    status, body = h.api("POST", f"/connections/{h.connection_id}/sync", query={"dry_run": "false"})
    assert status == 202, body
    h.work()
    assert [g["name"] for g in geomarks(h)] == [FENCE]


def test_a_clock_in_a_dead_worker_left_after_its_trackme_link_is_finished_by_the_poll(
    h: Harness,
) -> None:
    # a worker's TrackMe link answered and was saved, then the worker died (no Service Link
    # yet; its claim lapsed with it) and the message went to the dead letters
    from fleetbridge.core.mappings import MappingRepository
    from fleetbridge.core.models import Mapping
    from fleetbridge.flows.servicetrade_azuga import EN_ROUTE

    h.sync()
    clock_in = {
        "userId": TECH,
        "jobId": JOB,
        "appointmentId": APPOINTMENT,
        "activity": "enroute",
        "clockIn": int(time.time()),
    }
    [event] = h.seed("servicetrade", {"clock_events": [clock_in], "silent": True})["clock_events"]
    link = {"vehicleId": "v1", "userId": "d1", "ttl": 60, "name": f"appointment {APPOINTMENT}"}
    [made] = h.seed("azuga", {"trackme_links": [{**link, "url": "https://trackme.azuga.com/t1"}]})[
        "trackme_links"
    ]
    half_done = {"tracking_url": made["url"], "vehicle_id": "v1", "appointment_id": APPOINTMENT}
    MappingRepository(h.connection_id).save(
        Mapping(
            connection_id=h.connection_id,
            entity=EN_ROUTE,
            external_id=str(event["id"]),
            data=half_done,
        )
    )
    h.poll()  # the safety net carries it on: the Service Link, once, with the saved link
    h.sync()
    h.poll()
    h.sync()
    assert len(h.state("azuga")["trackme_links"]) == 1
    [message] = h.state("servicetrade")["messages"]
    assert message["params"]["trackingUrl"] == made["url"]
