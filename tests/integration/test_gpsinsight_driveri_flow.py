"""GPS Insight → Driveri inside one process: portal sandbox (push deliveries, driver list) →
push function / poll schedule → SQS (moto) → worker → Driveri sandbox. One test per rule."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import boto3
import httpx
import pytest

from tests.integration.conftest import Api
from tests.support.events import gpsinsight_push_event, schedule_event, sqs_event
from tests.support.lambdas import invoke

PUSH_SECRET = "gps-push-secret-0123456789"
CREDENTIALS = {
    "gpsinsight_username": "sandbox-gps-user",
    "gpsinsight_password": "sandbox-gps-pass",
    "gpsinsight_push_secret": PUSH_SECRET,
    "driveri_client_id": "sandbox-driveri-client",
    "driveri_client_secret": "sandbox-driveri-secret",
    "driveri_tenant": "sandbox-tenant",
}
QUEUE = "GpsInsightDriveriQueue"
#: The opt-in: the Master User's own portal credentials (the sandbox's default user is Master).
MASTER = {"enabled": True, "portal_user": "sandbox-gps-user", "portal_password": "sandbox-gps-pass"}


def portal_driver(number: int, driveri_id: str | None = None, **fields: Any) -> dict[str, Any]:
    values = {
        "ref_id": f"R-{number}",
        "firstname": f"First{number}",
        "lastname": f"Last{number}",
        "email": f"driver{number}@example.com",
        "phone": f"+1555010{number:04d}",
        "license_number": f"L-{number}",
        "group": "North",
        "driveri_driver_id": driveri_id if driveri_id is not None else f"D-{number}",
    }
    values.update(fields)
    return values


class Harness:
    """One connection: portal edits, push deliveries, poll, worker, and both sides' state."""

    def __init__(self, api: Api, sandbox: httpx.Client, aws: dict[str, Any], connection_id: str):
        self.api, self.sandbox, self.aws = api, sandbox, aws
        self.connection_id = connection_id
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.delivered: set[str] = set()
        self._session: str | None = None
        self._mark = 0

    # ---------------------------------------------------------------- portal side
    def portal(self, path: str, **params: Any) -> Any:
        if self._session is None:
            login = self.sandbox.get(
                "/gpsinsight/v2/userauth/login",
                params={"username": "sandbox-gps-user", "password": "sandbox-gps-pass"},
            )
            self._session = login.json()["data"]["token"]
        # The documented form: GET with query parameters (the sandbox accepts nothing else).
        response = self.sandbox.get(
            f"/gpsinsight/v2{path}", params={**params, "session_token": self._session}
        )
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def portal_drivers(self) -> list[dict[str, Any]]:
        return list(self.sandbox.get("/_sandbox/gpsinsight/state").json()["drivers"])

    def seed_portal(self, *drivers: dict[str, Any]) -> list[dict[str, Any]]:
        seeded = self.sandbox.post(
            "/_sandbox/gpsinsight/seed",
            json={
                "drivers": list(drivers),
                "webhooks": [
                    {"url": "http://127.0.0.1:9/unused", "secret": PUSH_SECRET, "events": ["*"]}
                ],
            },
        )
        assert seeded.status_code == 200, seeded.text
        return list(seeded.json()["drivers"])

    # ---------------------------------------------------------------- Driveri side
    def driveri(self) -> dict[str, dict[str, Any]]:
        state = self.sandbox.get("/_sandbox/driveri/state").json()
        return {d["driverId"]: d for d in state["drivers"]}

    def seed_driveri(self, *drivers: dict[str, Any]) -> None:
        response = self.sandbox.post("/_sandbox/driveri/seed", json={"drivers": list(drivers)})
        assert response.status_code == 200, response.text

    def _driveri_log(self) -> list[dict[str, Any]]:
        return list(self.sandbox.get("/_sandbox/driveri/requests").json()["requests"])

    def driveri_writes(self) -> list[str]:
        """Driveri writes since the last `clear_requests`."""
        return [
            f"{r['method']} {r['path'].split('/tenants/sandbox-tenant')[-1]}"
            for r in self._driveri_log()[self._mark :]
            if r["method"] in ("POST", "PUT", "DELETE") and "/auth/" not in r["path"]
        ]

    def clear_requests(self) -> None:
        self._mark = len(self._driveri_log())

    # ---------------------------------------------------------------- deliveries and worker
    def push_new(self) -> list[dict[str, Any]]:
        """Hand every new portal push to our push function, as the portal would."""
        answers = []
        deliveries = self.sandbox.get(
            "/_sandbox/gpsinsight/webhook-deliveries", params={"wait": 5}
        ).json()["deliveries"]
        for delivery in deliveries:
            if delivery["id"] in self.delivered:
                continue
            self.delivered.add(delivery["id"])
            event = gpsinsight_push_event(self.connection_id, delivery["body"].encode(), None)
            event["headers"].update({k.lower(): v for k, v in delivery["headers"].items()})
            answers.append(invoke("gpsinsight_webhook", event))
        return answers

    def poll(self) -> dict[str, Any]:
        event = schedule_event("gpsinsight-driveri-poll")
        event["id"] = f"poll-{len(self.delivered)}-{id(event)}"
        return invoke("gpsinsight_driveri_poll", event)

    def work(self) -> list[dict[str, Any]]:
        """Run the worker over everything queued (like the SQS event source)."""
        results = []
        url = self.aws["queues"][QUEUE]
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return results
            event = sqs_event([json.loads(m["Body"]) for m in messages], queue=QUEUE)
            for record, message in zip(event["Records"], messages, strict=True):
                record["messageId"] = message["MessageId"]
            result = invoke("gpsinsight_driveri_worker", event)
            failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
            for message in messages:
                if message["MessageId"] not in failed:
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            results.append(result)
            assert not failed, result

    def activity(self, **query: str) -> list[dict[str, Any]]:
        status, body = self.api(
            "GET", f"/connections/{self.connection_id}/activity", query={"limit": "100", **query}
        )
        assert status == 200, body
        return list(body["items"])

    def link(self, portal_id: str) -> dict[str, Any]:
        status, body = self.api("GET", f"/connections/{self.connection_id}/drivers/{portal_id}")
        assert status == 200, body
        return dict(body)

    def opt_in(self) -> None:
        status, body = self.api(
            "POST",
            f"/connections/{self.connection_id}/driver-sync",
            MASTER,
        )
        assert status == 200, body
        self.work()  # the initial sync


@pytest.fixture
def harness(api: Api, sandbox: httpx.Client, aws: dict[str, Any]) -> Harness:
    status, body = api(
        "POST",
        "/connections",
        {"flow": "gpsinsight-driveri", "name": "Driver Sync", "credentials": CREDENTIALS},
    )
    assert status == 201, body
    return Harness(api, sandbox, aws, body["id"])


# ----------------------------------------------------------------------------- connection
def test_save_and_test_check_both_vendors(api: Api, sandbox: httpx.Client) -> None:
    bad = {**CREDENTIALS, "driveri_client_secret": "wrong"}
    status, body = api(
        "POST", "/connections", {"flow": "gpsinsight-driveri", "name": "x", "credentials": bad}
    )
    assert status == 422, body
    assert "driveri" in body["error"]["message"]
    status, body = api(
        "POST",
        "/connections",
        {"flow": "gpsinsight-driveri", "name": "x", "credentials": CREDENTIALS},
    )
    assert status == 201
    status, tested = api("POST", f"/connections/{body['id']}/test")
    assert status == 200
    assert {c["vendor"]: c["ok"] for c in tested["vendors"]} == {
        "gpsinsight": True,
        "driveri": True,
    }


def test_opt_in_only_by_the_master_user(harness: Harness) -> None:
    harness.seed_portal(portal_driver(1))
    harness.sandbox.post(
        "/_sandbox/gpsinsight/seed",
        json={"users": [{"username": "dispatcher", "password": "dispatcher-pass"}]},
    ).raise_for_status()
    path = f"/connections/{harness.connection_id}/driver-sync"
    dispatcher = {
        "enabled": True,
        "portal_user": "dispatcher",
        "portal_password": "dispatcher-pass",
    }
    status, body = harness.api("POST", path, dispatcher)  # a real portal user, not the Master
    assert status == 403
    assert body["error"]["code"] == "forbidden" and "Master User" in body["error"]["message"]
    status, body = harness.api("POST", path, {"enabled": True})
    assert status == 422 and body["error"]["field"] == "portal_user"
    # the generic settings route cannot turn it on either
    status, body = harness.api(
        "PATCH",
        f"/connections/{harness.connection_id}",
        {"settings": {"driver_sync_enabled": True}},
    )
    assert status == 422 and body["error"]["field"] == "settings.driver_sync_enabled"
    harness.work()
    assert harness.driveri() == {}  # still off: nothing synced

    status, body = harness.api("POST", path, MASTER)
    assert status == 200 and body["driver_sync_enabled"] is True
    assert body["initial_sync_message_id"]
    harness.work()
    assert set(harness.driveri()) == {"D-1"}


def test_turning_it_off_stops_push_poll_and_queued_work(harness: Harness) -> None:
    [driver] = harness.seed_portal(portal_driver(1))
    harness.opt_in()
    harness.portal("/driver/update", driver_id=driver["driver_id"], lastname="Changed")
    status, _ = harness.api(
        "POST", f"/connections/{harness.connection_id}/driver-sync", {"enabled": False}
    )
    assert status == 200
    [answer] = harness.push_new()[-1:]
    assert answer["statusCode"] == 200 and "driver sync is off" in answer["body"]
    assert harness.poll() == {"queued": 0, "not_due": 1}
    harness.work()
    assert harness.driveri()["D-1"]["lastName"] == "Last1"


# ----------------------------------------------------------------------------- rules 1-5
def test_rule_2_create_with_the_driver_id_and_link_an_existing_one(harness: Harness) -> None:
    harness.seed_driveri({"driverId": "D-2", "firstName": "Old", "lastName": "Name"})
    harness.seed_portal(portal_driver(1), portal_driver(2))
    harness.opt_in()
    drivers = harness.driveri()
    assert set(drivers) == {"D-1", "D-2"}  # linked, not duplicated
    assert drivers["D-1"]["firstName"] == "First1" and drivers["D-1"]["licenseNumber"] == "L-1"
    assert drivers["D-2"]["firstName"] == "First2"  # brought in line with the portal
    assert harness.link("1")["driveri_driver_id"] == "D-1"
    assert harness.link("2")["ref_id"] == "R-2"  # RefID copied, not matched on
    reasons = {a["entity"]: a["reason"] for a in harness.activity()}
    assert reasons["driver 2"] == "linked_existing"


def test_rule_2_a_create_racing_an_existing_profile_links_on_409(harness: Harness) -> None:
    [driver] = harness.seed_portal(portal_driver(1, driveri_id="D-9"))
    harness.seed_portal(driver)  # keeps the push webhook; driver unchanged
    harness.opt_in()
    # A profile with the new DriverID appears in Driveri after the portal change is polled.
    harness.portal("/driver/update", driver_id=driver["driver_id"], driveri_driver_id="D-10")
    harness.seed_driveri(*harness.driveri().values(), {"driverId": "D-10", "firstName": "Someone"})
    harness.push_new()
    harness.work()
    drivers = harness.driveri()
    assert harness.link(str(driver["driver_id"]))["driveri_driver_id"] == "D-10"
    assert drivers["D-10"]["firstName"] == "First1"
    assert "D-9" in drivers  # the old profile is left untouched (re-link)


def test_rule_3_update_and_unchanged_content_makes_no_call(harness: Harness) -> None:
    [driver] = harness.seed_portal(portal_driver(1))
    harness.opt_in()
    harness.clear_requests()
    harness.portal("/driver/update", driver_id=driver["driver_id"], phone="+15550109999")
    harness.push_new()
    harness.work()
    assert harness.driveri()["D-1"]["phone"] == "+15550109999"
    assert harness.driveri_writes() == ["PUT /drivers/D-1"]
    # the same content again (a repeated push, then the poll): no Driveri call
    harness.clear_requests()
    harness.portal("/driver/update", driver_id=driver["driver_id"], phone="+15550109999")
    harness.push_new()
    harness.poll()
    harness.work()
    assert harness.driveri_writes() == []


def test_rule_4_driver_id_changed_renames_or_relinks(harness: Harness) -> None:
    one, two = harness.seed_portal(portal_driver(1), portal_driver(2))
    harness.opt_in()
    # free id → rename the same profile
    harness.portal("/driver/update", driver_id=one["driver_id"], driveri_driver_id="D-100")
    # id that exists → re-link, old profile untouched
    harness.seed_driveri(*harness.driveri().values(), {"driverId": "D-200", "firstName": "X"})
    harness.portal("/driver/update", driver_id=two["driver_id"], driveri_driver_id="D-200")
    harness.push_new()
    harness.work()
    drivers = harness.driveri()
    assert "D-1" not in drivers and drivers["D-100"]["firstName"] == "First1"
    assert drivers["D-2"]["firstName"] == "First2" and drivers["D-2"]["status"] == 1
    assert drivers["D-200"]["firstName"] == "First2"
    assert harness.link(str(two["driver_id"]))["driveri_driver_id"] == "D-200"
    entries = harness.activity()
    assert any(a["reason"] == "driver_id_renamed" for a in entries)
    relinked = [a for a in entries if a["reason"] == "relinked_old_profile_untouched"]
    assert relinked and relinked[0]["vendor_ids"]["old_driveri_id"] == "D-2"


@pytest.mark.parametrize(("mode", "expected"), [("deactivate", 0), ("delete", None)])
def test_rule_5_delete_deactivates_or_deletes(
    harness: Harness, mode: str, expected: int | None
) -> None:
    status, _ = harness.api(
        "PATCH", f"/connections/{harness.connection_id}", {"settings": {"delete_mode": mode}}
    )
    assert status == 200
    [driver] = harness.seed_portal(portal_driver(1))
    harness.opt_in()
    harness.portal("/driver/delete", driver_id=driver["driver_id"])
    harness.push_new()
    harness.work()
    remaining = harness.driveri().get("D-1")
    assert (remaining["status"] if remaining else None) == expected
    assert harness.link(str(driver["driver_id"]))["status"] == "deleted"


# ----------------------------------------------------------------------------- rules 6-8
def test_rule_6_push_is_signed_and_idempotent(harness: Harness) -> None:
    [driver] = harness.seed_portal(portal_driver(1))
    harness.opt_in()
    harness.portal("/driver/update", driver_id=driver["driver_id"], email="new@example.com")
    deliveries = harness.sandbox.get(
        "/_sandbox/gpsinsight/webhook-deliveries", params={"wait": 5}
    ).json()["deliveries"]
    body = deliveries[-1]["body"].encode()
    bad = invoke("gpsinsight_webhook", gpsinsight_push_event(harness.connection_id, body, "x"))
    assert bad["statusCode"] == 401 and "Traceback" not in bad["body"]
    assert (
        harness.sqs.get_queue_attributes(
            QueueUrl=harness.aws["queues"][QUEUE], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )
    good = gpsinsight_push_event(harness.connection_id, body, PUSH_SECRET)
    for _ in range(3):  # the same delivery three times: one effect
        assert invoke("gpsinsight_webhook", good)["statusCode"] == 202
    harness.clear_requests()
    harness.work()
    assert harness.driveri_writes() == ["PUT /drivers/D-1"]


def test_rule_6_poll_diffs_the_portal_list_against_fingerprints(harness: Harness) -> None:
    one, two, _ = harness.seed_portal(portal_driver(1), portal_driver(2), portal_driver(3))
    harness.opt_in()
    harness.clear_requests()
    assert harness.poll()["queued"] == 1  # the poll fan-out message
    harness.work()
    assert harness.driveri_writes() == []  # nothing changed
    harness.portal("/driver/update", driver_id=one["driver_id"], group="South")
    harness.portal("/driver/delete", driver_id=two["driver_id"])
    harness.portal("/driver/create", firstname="New", lastname="Driver", driveri_driver_id="D-4")
    harness.poll()
    harness.work()
    assert sorted(harness.driveri_writes()) == [
        "POST /drivers",
        "PUT /drivers/D-1",
        "PUT /drivers/D-2",  # deactivated (status 0)
    ]
    drivers = harness.driveri()
    assert drivers["D-1"]["group"] == "South" and drivers["D-2"]["status"] == 0
    assert drivers["D-4"]["firstName"] == "New"


def test_rule_7_daily_reconciliation_portal_wins_and_reports_drift(harness: Harness) -> None:
    one, two, _ = harness.seed_portal(portal_driver(1), portal_driver(2), portal_driver(3))
    harness.opt_in()
    # drift in Driveri: an edit by hand, a hand-made driver; and a portal driver deleted
    # without any push or poll noticing
    drivers = harness.driveri()
    drivers["D-1"]["lastName"] = "EditedInDriveri"
    drivers["MANUAL-1"] = {"driverId": "MANUAL-1", "firstName": "Hand", "status": 1}
    harness.seed_driveri(*drivers.values())
    harness.portal("/driver/delete", driver_id=two["driver_id"])  # its push is never delivered
    status, plan = harness.api(
        "POST", f"/connections/{harness.connection_id}/sync", query={"dry_run": "true"}
    )
    assert status == 200
    planned = {(i["entity"], i["reason"]) for i in plan["plan"]["items"]}
    assert ("driver 1", "driveri_differs") in planned
    assert (f"driver {two['driver_id']}", "portal_deleted:deactivate") in planned
    assert ("driver MANUAL-1", "unlinked_in_driveri") in planned
    assert harness.driveri()["D-1"]["lastName"] == "EditedInDriveri"  # dry run wrote nothing

    assert invoke("gpsinsight_driveri_daily", schedule_event("daily")) == {"queued": 1}
    harness.work()
    after = harness.driveri()
    assert after["D-1"]["lastName"] == "Last1" and after["D-2"]["status"] == 0
    assert after["MANUAL-1"]["status"] == 1  # unlinked: left alone, listed

    status, report = harness.api(
        "GET", f"/connections/{harness.connection_id}/reports/drift/latest"
    )
    assert status == 200 and report["complete"] is True
    rows = {r["portal_driver_id"] or r["driveri_driver_id"]: r for r in report["drivers"]}
    assert rows[str(one["driver_id"])]["differences"] == [
        {"field": "lastName", "portal": "Last1", "driveri": "EditedInDriveri"}
    ]
    assert rows[str(one["driver_id"])]["action"] == "updated"
    assert rows["MANUAL-1"]["reason"] == "unlinked_in_driveri"
    status, text = harness.api(
        "GET", f"/connections/{harness.connection_id}/reports/drift/latest", query={"format": "csv"}
    )
    assert status == 200
    lines = list(csv.DictReader(io.StringIO(text)))
    assert {"portal_driver_id": str(one["driver_id"]), "field": "lastName"}.items() <= next(
        line for line in lines if line["field"] == "lastName"
    ).items()


def test_rule_8_no_driver_id_skipped_and_rejections_wait_for_a_change(harness: Harness) -> None:
    # Driveri requires firstName: a portal driver without one is rejected (400)
    no_id, bad = harness.seed_portal(
        portal_driver(1, driveri_id=""), portal_driver(2, firstname="")
    )
    harness.opt_in()
    assert harness.link(str(no_id["driver_id"]))["status"] == "skipped"
    reasons = {a["entity"]: a for a in harness.activity()}
    assert reasons[f"driver {no_id['driver_id']}"]["reason"] == "no_driveri_driver_id"
    rejected = harness.link(str(bad["driver_id"]))
    assert rejected["status"] == "rejected" and "firstName" in rejected["last_error"]
    harness.clear_requests()
    harness.poll()
    harness.work()
    assert harness.driveri_writes() == []  # unchanged: not retried
    harness.portal("/driver/update", driver_id=bad["driver_id"], firstname="Fixed")
    harness.push_new()
    harness.work()
    assert harness.driveri()["D-2"]["firstName"] == "Fixed"
    assert harness.link(str(bad["driver_id"]))["status"] == "synced"


def test_a_long_reconciliation_hands_over_to_a_continuation(harness: Harness) -> None:
    from fleetbridge.core.connections import ConnectionRepository
    from fleetbridge.flows.gpsinsight_driveri.context import context_for
    from fleetbridge.flows.gpsinsight_driveri.reconcile import reconcile_drivers

    harness.seed_portal(portal_driver(1), portal_driver(2))
    harness.opt_in()
    harness.sandbox.post("/_sandbox/driveri/reset")  # Driveri lost everything: two creates due
    connection = ConnectionRepository().get(harness.connection_id)
    ctx = context_for(connection)
    plan = reconcile_drivers(ctx, dry_run=False, source_event="reconcile", time_budget=-1)
    assert plan.items == [] and harness.driveri() == {}  # nothing applied in this part
    status, report = harness.api(
        "GET", f"/connections/{harness.connection_id}/reports/drift/latest"
    )
    assert status == 200 and report["complete"] is False
    harness.work()  # the continuation
    assert set(harness.driveri()) == {"D-1", "D-2"}


def test_a_reconciliation_hands_over_before_its_invocation_ends(harness: Harness) -> None:
    """Issue 12: with less than two margins of the invocation left, the run queues its
    continuation instead of being killed at the timeout (which would burn a receive and start
    over: 1,000 new drivers in a 20 s function were never all created), after at least one
    write, so that every part makes progress however long the listing took."""
    from fleetbridge.core import budget
    from fleetbridge.core.connections import ConnectionRepository
    from fleetbridge.flows.gpsinsight_driveri.context import context_for
    from fleetbridge.flows.gpsinsight_driveri.reconcile import reconcile_drivers

    class Ending:
        def get_remaining_time_in_millis(self) -> int:
            return 8_000  # margin 2 s: more than 4 s left at the start, less after a moment

    harness.seed_portal(portal_driver(1), portal_driver(2))
    harness.opt_in()
    harness.sandbox.post("/_sandbox/driveri/reset")  # Driveri lost everything: two creates due
    connection = ConnectionRepository().get(harness.connection_id)
    with budget.invocation(Ending()) as current, context_for(connection) as ctx:
        assert current is not None
        object.__setattr__(current, "deadline", current.deadline - 5)  # 3 s left: < 2 margins
        plan = reconcile_drivers(ctx, dry_run=False, source_event="reconcile")
    assert len(harness.driveri()) == 1  # one write (progress), then handed over
    assert len(plan.items) == 1
    harness.work()  # the continuation
    assert set(harness.driveri()) == {"D-1", "D-2"}


def test_a_stale_push_is_skipped(harness: Harness) -> None:
    [driver] = harness.seed_portal(portal_driver(1))
    harness.opt_in()
    harness.portal("/driver/update", driver_id=driver["driver_id"], lastname="Second")
    harness.portal("/driver/update", driver_id=driver["driver_id"], lastname="Third")
    deliveries = harness.sandbox.get(
        "/_sandbox/gpsinsight/webhook-deliveries", params={"wait": 5}
    ).json()["deliveries"]
    second, third = (d["body"].encode() for d in deliveries[-2:])
    for body in (third, second):  # delivered out of order
        event = gpsinsight_push_event(harness.connection_id, body, PUSH_SECRET)
        assert invoke("gpsinsight_webhook", event)["statusCode"] == 202
        harness.work()
    assert harness.driveri()["D-1"]["lastName"] == "Third"
    assert any(a["reason"] == "stale_event" for a in harness.activity())


def test_item16_driver_id_taken_by_another_portal_driver_is_refused_live(
    harness: Harness,
) -> None:
    """Issue 15 item 16: the live path (push or poll) refuses a DriverID another portal driver
    is linked to, with a reason, and tells the admins once; nothing is written to Driveri."""
    from moto.ses.models import ses_backends

    harness.api(
        "PATCH",
        f"/connections/{harness.connection_id}",
        {"settings": {"admin_emails": ["ops@example.com"]}},
    )
    one, two = harness.seed_portal(portal_driver(1), portal_driver(2))
    harness.opt_in()
    harness.clear_requests()
    harness.portal("/driver/update", driver_id=two["driver_id"], driveri_driver_id="D-1")
    harness.push_new()
    harness.work()
    harness.poll()  # the poll sees the same change: no second refusal, no second email
    harness.work()
    assert harness.driveri_writes() == []
    drivers = harness.driveri()
    assert drivers["D-1"]["firstName"] == "First1" and drivers["D-2"]["firstName"] == "First2"
    assert harness.link(str(two["driver_id"]))["driveri_driver_id"] == "D-2"  # link kept
    refused = [a for a in harness.activity() if a["reason"] == "driveri_driver_id_taken"]
    assert len(refused) == 1 and refused[0]["action"] == "failed"
    assert refused[0]["vendor_ids"]["claimed_by"] == str(one["driver_id"])
    sent = list(ses_backends["123456789012"]["us-east-1"].sent_messages)
    mails = [m for m in sent if "driveri_driver_id_taken" in m.body]
    assert len(mails) == 1 and mails[0].destinations["ToAddresses"] == ["ops@example.com"]
    # The daily run leaves the refused driver refused: D-1 keeps its portal driver.
    status, _ = harness.api(
        "POST", f"/connections/{harness.connection_id}/sync", query={"dry_run": "false"}
    )
    assert status in (200, 202)
    harness.work()
    assert harness.driveri()["D-1"]["firstName"] == "First1"
    assert harness.link(str(two["driver_id"]))["driveri_driver_id"] == "D-2"


def test_item14_opt_in_is_proven_by_the_master_users_own_credentials_never_stored(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15 item 14: typing the Master User's name is not enough; their own portal password
    is checked by GPS Insight at that moment, and kept nowhere."""
    path = f"/connections/{harness.connection_id}/driver-sync"
    claimed = {"enabled": True, "portal_user": "sandbox-gps-user"}
    status, body = harness.api("POST", path, claimed)
    assert status == 422 and body["error"]["field"] == "portal_password"
    status, body = harness.api("POST", path, claimed | {"portal_password": "a-guess-123"})
    assert status == 403 and body["error"]["field"] == "portal_password"
    assert "did not accept" in body["error"]["message"] and "a-guess-123" not in str(body)
    assert (
        harness.api("GET", f"/connections/{harness.connection_id}")[1]["settings"][
            "driver_sync_enabled"
        ]
        is False
    )

    status, body = harness.api("POST", path, MASTER)
    assert status == 200 and body["driver_sync_enabled"] is True, body
    log = harness.sandbox.get("/_sandbox/gpsinsight/requests").json()["requests"]
    logins = [r["query"].get("username") for r in log if r["path"].endswith("/userauth/login")]
    assert logins.count("sandbox-gps-user") >= 2  # checked with GPS Insight each time
    # Never stored, never shown, never logged.
    import boto3

    items = boto3.resource("dynamodb", region_name="us-east-1").Table("DataTable").scan()["Items"]
    stored = str(items) + str(harness.api("GET", f"/connections/{harness.connection_id}")[1])
    stored += str(harness.activity()) + capsys.readouterr().out
    for password in ("a-guess-123", "portal_password"):
        assert password not in stored
