"""Fleetio → Keycafe end to end inside one process: sandbox webhook → webhook handler → SQS
(moto) → worker handler → Keycafe and Fleetio sandboxes. One test per rule of the issue."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from tests.integration.conftest import FLEETIO_KEYCAFE_CREDENTIALS, Api
from tests.support.events import http_event, sqs_event
from tests.support.lambdas import invoke
from tests.support.worlds import FLEETIO_AUTH, fleetio_world, keycafe_world

SECRET = FLEETIO_KEYCAFE_CREDENTIALS["fleetio_webhook_secret"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Harness:
    """Drives one connection: Fleetio changes, webhook deliveries, the worker, and reads state."""

    def __init__(
        self, api: Api, sandbox: httpx.Client, aws: dict[str, Any], connection: dict[str, Any]
    ):
        self.api, self.sandbox, self.aws = api, sandbox, aws
        self.connection_id = connection["id"]
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.delivered: set[str] = set()

    # ---------------------------------------------------------------- Fleetio side
    def fleetio(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = self.sandbox.request(
            method, f"/fleetio/api{path}", json=body, headers=FLEETIO_AUTH
        )
        response.raise_for_status()
        return response.json() if response.content else {}

    def assign(
        self,
        vehicle_id: int = 1,
        contact_id: int = 7,
        hours: tuple[int, int] | None = (2, 10),
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        body: dict[str, Any] = {"vehicle_id": vehicle_id, "contact_id": contact_id}
        if hours:
            body.update(
                started_at=iso(now + timedelta(hours=hours[0])),
                ended_at=iso(now + timedelta(hours=hours[1])),
            )
        return self.fleetio("POST", "/v1/vehicle_assignments", body)

    def assignment(self, assignment_id: int) -> dict[str, Any]:
        return self.fleetio("GET", f"/v1/vehicle_assignments/{assignment_id}")

    # ---------------------------------------------------------------- deliveries and worker
    def deliveries(self) -> list[dict[str, Any]]:
        return self.sandbox.get("/_sandbox/fleetio/webhook-deliveries").json()["deliveries"]

    def post_hook(self, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        event = http_event(
            "POST",
            f"/hooks/fleetio/{self.connection_id}",
            raw_body=body,
            headers=headers,
            route_key="POST /hooks/fleetio/{connection_id}",
            path_parameters={"connection_id": self.connection_id},
        )
        return invoke("fleetio_webhook", event)

    def deliver_new(self) -> list[dict[str, Any]]:
        """Hand every new sandbox delivery to our webhook function, as Fleetio would."""
        answers = []
        for delivery in self.deliveries():
            if delivery["id"] in self.delivered:
                continue
            self.delivered.add(delivery["id"])
            answers.append(self.post_hook(delivery["body"].encode(), delivery["headers"]))
        return answers

    def queued(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.aws["queues"]["FleetioKeycafeQueue"],
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def work(self) -> list[dict[str, Any]]:
        """Run the worker over everything queued (like the SQS event source)."""
        results = []
        url = self.aws["queues"]["FleetioKeycafeQueue"]
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return results
            event = sqs_event([json.loads(m["Body"]) for m in messages])
            for record, message in zip(event["Records"], messages, strict=True):
                record["messageId"] = message["MessageId"]
            result = invoke("fleetio_keycafe_worker", event)
            failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
            for message in messages:
                if message["MessageId"] not in failed:
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            results.append(result)
            if failed:
                return results

    def sync(self) -> None:
        self.deliver_new()
        self.work()

    # ---------------------------------------------------------------- reading results
    def accesses(self) -> list[dict[str, Any]]:
        return self.sandbox.get("/_sandbox/keycafe/state").json()["accesses"]

    def active_accesses(self) -> list[dict[str, Any]]:
        return [a for a in self.accesses() if a["status"] == "ACTIVE"]

    def activity(self, **query: str) -> list[dict[str, Any]]:
        return self.api("GET", f"/connections/{self.connection_id}/activity", query=query)[1][
            "items"
        ]


def emails() -> list[Any]:
    from moto.ses.models import ses_backends

    return list(ses_backends["123456789012"]["us-east-1"].sent_messages)


@pytest.fixture
def flow(
    api: Api,
    sandbox: httpx.Client,
    aws: dict[str, Any],
    make_connection: Callable[..., dict[str, Any]],
) -> Harness:
    """Sandboxes seeded with one van, its key, two drivers; the van linked (automatic)."""
    sandbox.post(
        "/_sandbox/fleetio/seed",
        json=fleetio_world(webhook_url="http://127.0.0.1:9/unused", secret=SECRET),
    ).raise_for_status()
    sandbox.post("/_sandbox/keycafe/seed", json=keycafe_world()).raise_for_status()
    connection = make_connection()
    harness = Harness(api, sandbox, aws, connection)
    status, body = api(
        "PUT",
        f"/connections/{connection['id']}/vehicles/1/link",
        {"key_id": 100, "notification": "automatic"},
    )
    assert status == 200, body
    return harness


# ---------------------------------------------------------------- rule 1
def test_rule1_automatic_books_the_key_and_writes_the_access_back(flow: Harness) -> None:
    created = flow.assign()
    answers = flow.deliver_new()
    assert [a["statusCode"] for a in answers] == [202]
    flow.work()

    (access,) = flow.active_accesses()
    assert access["key"]["id"] == 100
    assert access["user"]["id"] == 501  # Dana has a Keycafe account: booked as that user
    assert access["name"] == f"Fleetio · Van 1 · assignment {created['id']} · {flow.connection_id}"
    fields = flow.assignment(created["id"])["custom_fields"]
    # Issue 15 item 9: an account holder opens with phone + PIN, not a one-time code.
    assert fields["keycafe_access_code"] == "Keycafe account: phone number + PIN"
    assert fields["keycafe_access_link"] == access["checkinLink"]
    assert "Depot North box" in fields["keycafe_access_instructions"]
    assert "PIN" in fields["keycafe_access_instructions"]
    assert access["bookingCode"] not in fields["keycafe_access_instructions"]
    notifications = flow.sandbox.get("/_sandbox/keycafe/state").json()["notifications"]
    assert notifications, "Keycafe itself sends the driver the access instructions"
    (entry,) = flow.activity(action="created")
    assert entry["reason"] == "booked" and entry["vendor_ids"]["keycafe_access_id"] == access["id"]


def test_rule1_guest_booking_by_email_when_driver_has_no_keycafe_account(flow: Harness) -> None:
    created = flow.assign(contact_id=8)
    flow.sync()
    (access,) = flow.active_accesses()
    assert access["user"]["email"] == "eli@example.com"
    fields = flow.assignment(created["id"])["custom_fields"]
    assert fields["keycafe_access_code"] == access["bookingCode"]  # a guest's one-time code
    assert access["bookingCode"] in fields["keycafe_access_instructions"]
    assert "PIN" not in fields["keycafe_access_instructions"]
    # Keycafe made Eli a guest user; his next booking is still a guest's (one-time code).
    second = flow.assign(vehicle_id=1, contact_id=8, hours=(20, 30))
    flow.sync()
    fields = flow.assignment(second["id"])["custom_fields"]
    assert fields["keycafe_access_code"].isdigit()


def test_rule1_prompt_reminds_admins_and_books_later_when_switched(flow: Harness) -> None:
    flow.api(
        "PATCH", f"/connections/{flow.connection_id}/vehicles/1/link", {"notification": "prompt"}
    )
    created = flow.assign()
    flow.sync()
    assert flow.active_accesses() == []
    (reminder,) = [e for e in emails() if "Create key access" in e.subject]
    assert reminder.destinations["ToAddresses"] == ["fleet-admin@example.com"]
    assert "Van 1" in reminder.body and "Dana Driver" in reminder.body
    assert flow.activity(action="notified")

    flow.api(
        "PATCH", f"/connections/{flow.connection_id}/vehicles/1/link", {"notification": "automatic"}
    )
    flow.fleetio("PATCH", f"/v1/vehicle_assignments/{created['id']}", {"comments": "any change"})
    flow.sync()
    assert len(flow.active_accesses()) == 1


# ---------------------------------------------------------------- rule 2
def test_rule2_dates_changed_updates_the_booking(flow: Harness) -> None:
    created = flow.assign()
    flow.sync()
    later = datetime.now(UTC) + timedelta(hours=30)
    flow.fleetio("PATCH", f"/v1/vehicle_assignments/{created['id']}", {"ended_at": iso(later)})
    flow.sync()
    (access,) = flow.active_accesses()
    assert access["accessEndDate"] == later.strftime("%Y-%m-%d")
    assert len(flow.accesses()) == 1  # same booking, changed in place


def test_rule2_driver_changed_cancels_and_rebooks_for_the_new_driver(flow: Harness) -> None:
    created = flow.assign()
    flow.sync()
    flow.fleetio("PATCH", f"/v1/vehicle_assignments/{created['id']}", {"contact_id": 8})
    flow.sync()
    statuses = sorted((a["status"], a["user"]["email"]) for a in flow.accesses())
    assert statuses == [("ACTIVE", "eli@example.com"), ("CANCELLED", "dana@example.com")]
    (access,) = flow.active_accesses()
    assert (
        flow.assignment(created["id"])["custom_fields"]["keycafe_access_code"]
        == access["bookingCode"]
    )


def test_rule2_unchanged_content_makes_no_keycafe_call(flow: Harness) -> None:
    created = flow.assign()
    flow.sync()  # books, then our write-back fires an `updated` delivery
    flow.fleetio("PATCH", f"/v1/vehicle_assignments/{created['id']}", {"comments": "coffee stain"})
    before = len(flow.sandbox.get("/_sandbox/keycafe/requests").json()["requests"])
    flow.sync()
    after = len(flow.sandbox.get("/_sandbox/keycafe/requests").json()["requests"])
    assert after == before
    assert any(e["reason"] == "unchanged" for e in flow.activity(action="skipped"))


# ---------------------------------------------------------------- rule 3
def test_rule3_deleted_assignment_cancels_the_booking(flow: Harness) -> None:
    created = flow.assign()
    flow.sync()
    flow.fleetio("DELETE", f"/v1/vehicle_assignments/{created['id']}")
    flow.sync()
    assert flow.active_accesses() == []
    assert flow.activity(action="deleted")[0]["reason"] == "assignment_deleted"


def test_rule3_ended_early_cancels_and_clears_fields(flow: Harness) -> None:
    created = flow.assign(hours=(-1, 10))
    flow.sync()
    assert len(flow.active_accesses()) == 1
    flow.fleetio("PATCH", f"/v1/vehicle_assignments/{created['id']}/unassign")
    flow.sync()
    assert flow.active_accesses() == []
    fields = flow.assignment(created["id"])["custom_fields"]
    assert fields["keycafe_access_code"] == "" and fields["keycafe_access_link"] == ""


# ---------------------------------------------------------------- rule 4
def test_rule4_vehicle_without_key_is_skipped_with_reason(flow: Harness) -> None:
    flow.assign(vehicle_id=3)
    flow.sync()
    assert flow.accesses() == []
    assert [e["reason"] for e in flow.activity(action="skipped")] == ["no_key_linked"]


def test_rule4_unreachable_driver_fails_and_admins_are_told(flow: Harness) -> None:
    flow.assign(contact_id=9)
    flow.sync()
    assert flow.accesses() == []
    assert [e["reason"] for e in flow.activity(action="failed")] == ["driver_unreachable"]
    assert [e for e in emails() if "failed" in e.subject]


# ---------------------------------------------------------------- rule 5
def test_rule5_same_delivery_three_times_books_once(flow: Harness) -> None:
    flow.assign()
    (delivery,) = flow.deliveries()
    for _ in range(3):
        assert flow.post_hook(delivery["body"].encode(), delivery["headers"])["statusCode"] == 202
    flow.work()
    assert len(flow.accesses()) == 1


def test_bad_signature_is_401_and_nothing_is_enqueued(flow: Harness) -> None:
    flow.assign()
    (delivery,) = flow.deliveries()
    forged = {**delivery["headers"], "X-Fleetio-Webhook-Signature": "0" * 64}
    assert flow.post_hook(delivery["body"].encode(), forged)["statusCode"] == 401
    unsigned = {k: v for k, v in delivery["headers"].items() if "Signature" not in k}
    assert flow.post_hook(delivery["body"].encode(), unsigned)["statusCode"] == 401
    tampered = delivery["body"].replace("vehicle_assignment", "vehicle_assignmenT").encode()
    assert flow.post_hook(tampered, delivery["headers"])["statusCode"] == 401
    assert flow.queued() == 0


def test_disabled_connection_answers_200_and_does_nothing(flow: Harness) -> None:
    flow.api("POST", f"/connections/{flow.connection_id}/disable")
    flow.assign()
    assert [a["statusCode"] for a in flow.deliver_new()] == [200]
    assert flow.queued() == 0


# ---------------------------------------------------------------- rule 6: retries, DLQ, replay
def test_rule6_last_retry_emails_admins_once_and_replay_finishes(
    flow: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fleetbridge.core.aws import reset_clients

    monkeypatch.setenv("FLEETBRIDGE_HTTP_MAX_RETRIES", "1")  # SQS redelivery is what we test
    reset_clients()
    flow.sandbox.post("/_sandbox/keycafe/faults", json={"status_5xx": 1.0})
    flow.assign()
    (delivery,) = flow.deliveries()
    body = json.loads(delivery["body"])
    message = {
        "flow": "fleetio-keycafe",
        "connection_id": flow.connection_id,
        "kind": "webhook",
        "event_id": body["id"],
        "event": body["event"],
        "payload": {"assignment_id": body["payload"]["id"], "entity": "assignment"},
    }
    for attempt in range(1, 6):
        result = invoke("fleetio_keycafe_worker", sqs_event([message], receive_count=attempt))
        assert len(result["batchItemFailures"]) == 1
    failure_emails = [e for e in emails() if "failed" in e.subject]
    assert len(failure_emails) == 1, "one email per failure, not per retry"
    assert "dead_letter" in flow.activity(action="failed")[0]["reason"]

    flow.sandbox.post("/_sandbox/keycafe/faults", json={})
    result = invoke("fleetio_keycafe_worker", sqs_event([{**message, "kind": "replay"}]))
    assert result["batchItemFailures"] == []
    assert len(flow.active_accesses()) == 1


# ---------------------------------------------------------------- rule 7: reconciliation
def test_rule7_reconciliation_rebooks_missing_and_fixes_wrong_dates(flow: Harness) -> None:
    first = flow.assign()
    flow.sync()
    flow.api("PUT", f"/connections/{flow.connection_id}/vehicles/2/link", {"key_id": 200})
    second = flow.assign(vehicle_id=2, contact_id=8)
    flow.sync()
    by_name = {a["name"]: a for a in flow.active_accesses()}
    first_access = by_name[f"Fleetio · Van 1 · assignment {first['id']} · {flow.connection_id}"]
    second_access = by_name[f"Fleetio · Van 2 · assignment {second['id']} · {flow.connection_id}"]
    keycafe_auth = ("ops@sandbox.example/token", "sandbox-keycafe-token")
    flow.sandbox.delete(f"/keycafe/v0/access/{first_access['id']}", auth=keycafe_auth)
    flow.sandbox.put(
        f"/keycafe/v0/access/{second_access['id']}",
        auth=keycafe_auth,
        json={"accessEndDate": "2099-01-01"},
    )

    status, body = flow.api(
        "POST", f"/connections/{flow.connection_id}/sync", query={"dry_run": "true"}
    )
    assert status == 200
    reasons = sorted(item["reason"] for item in body["plan"]["items"])
    assert reasons == ["missing_booking:booked", "wrong_dates:dates_changed"]
    assert len(flow.active_accesses()) == 1  # dry run wrote nothing

    flow.api("POST", f"/connections/{flow.connection_id}/sync", query={"dry_run": "false"})
    flow.work()
    active = flow.active_accesses()
    assert len(active) == 2
    assert all(a["accessEndDate"] != "2099-01-01" for a in active)


def test_issue12_a_long_reconciliation_hands_over_and_carries_on_where_it_stopped(
    flow: Harness,
) -> None:
    """A run short of time saves the last assignment it went through and queues its
    continuation (a run killed at its timeout started over and was dead-lettered at 1,250
    assignments); the continuation carries on after it: each booking is rebooked once."""
    from fleetbridge.core import budget
    from fleetbridge.core.connections import ConnectionRepository
    from fleetbridge.flows.fleetio_keycafe.flow import context_for
    from fleetbridge.flows.fleetio_keycafe.reconcile import reconcile_assignments

    class Ending:
        def get_remaining_time_in_millis(self) -> int:
            return 8_000  # margin 2 s: more than 4 s left at the start

    flow.api("PUT", f"/connections/{flow.connection_id}/vehicles/2/link", {"key_id": 200})
    first = flow.assign()
    flow.assign(vehicle_id=2, contact_id=8)
    flow.sync()
    keycafe_auth = ("ops@sandbox.example/token", "sandbox-keycafe-token")
    for access in flow.active_accesses():  # Keycafe lost both bookings: two rebookings due
        flow.sandbox.delete(f"/keycafe/v0/access/{access['id']}", auth=keycafe_auth)
    booked_before = len(keycafe_creates(flow))
    connection = ConnectionRepository().get(flow.connection_id)
    with budget.invocation(Ending()) as current, context_for(connection) as ctx:
        assert current is not None
        object.__setattr__(current, "deadline", current.deadline - 5)  # 3 s left: < 2 margins
        plan = reconcile_assignments(ctx, dry_run=False)
    assert [item.reason for item in plan.items] == ["missing_booking:booked"]
    assert len(flow.active_accesses()) == 1  # one assignment (progress), then handed over
    flow.work()  # the continuation: the second assignment only
    assert len(flow.active_accesses()) == 2
    by_reconcile = [
        a
        for a in flow.activity()
        if a["entity"] == f"assignment {first['id']}" and a["source_event"] == "reconcile"
    ]
    assert len(by_reconcile) == 1  # the continuation did not go through the first one again
    reconcile(flow)  # a later run starts from the beginning again: nothing left to do
    assert len(flow.active_accesses()) == 2
    assert len(keycafe_creates(flow)) == booked_before + 2


def keycafe_creates(flow: Harness) -> list[dict[str, Any]]:
    return [
        r for r in keycafe_requests(flow) if r["method"] == "POST" and r["path"].endswith("/access")
    ]


# ---------------------------------------------------------------- links
def test_links_one_key_per_vehicle_and_vehicle_listing(flow: Harness) -> None:
    status, body = flow.api(
        "PUT", f"/connections/{flow.connection_id}/vehicles/2/link", {"key_id": 100}
    )
    assert status == 409 and "vehicle 1" in body["error"]["message"]
    status, page = flow.api(
        "GET", f"/connections/{flow.connection_id}/vehicles", query={"query": "Van"}
    )
    assert status == 200
    assert {v["name"]: (v["link"] or {}).get("key_id") for v in page["items"]} == {
        "Van 1": 100,
        "Van 2": None,
    }
    status, keys = flow.api(
        "GET", f"/connections/{flow.connection_id}/keys", query={"query": "van 2"}
    )
    assert [k["name"] for k in keys["items"]] == ["Van 2 key"]
    assert flow.api("DELETE", f"/connections/{flow.connection_id}/vehicles/1/link")[0] == 204
    assert (
        flow.api("PUT", f"/connections/{flow.connection_id}/vehicles/2/link", {"key_id": 100})[0]
        == 200
    )


# ---------------------------------------------------------------- issue 15: flow fidelity
def keycafe_requests(flow: Harness) -> list[dict[str, Any]]:
    return flow.sandbox.get("/_sandbox/keycafe/requests").json()["requests"]


def reconcile(flow: Harness, connection_id: str | None = None) -> None:
    """The daily run (`POST /sync`, queued), carried out by the worker."""
    cid = connection_id or flow.connection_id
    status, _ = flow.api("POST", f"/connections/{cid}/sync", query={"dry_run": "false"})
    assert status in (200, 202)
    flow.work()


def test_item8_unlink_or_prompt_keeps_the_drivers_active_booking(flow: Harness) -> None:
    created = flow.assign(hours=(-1, 10))  # the driver is on the road
    flow.sync()
    (booked,) = flow.active_accesses()
    link = f"/connections/{flow.connection_id}/vehicles/1/link"
    flow.api("PATCH", link, {"notification": "prompt"})
    flow.fleetio("PATCH", f"/v1/vehicle_assignments/{created['id']}", {"comments": "a"})
    flow.sync()
    reconcile(flow)
    assert [a["id"] for a in flow.active_accesses()] == [booked["id"]]
    assert flow.api("DELETE", link)[0] == 204
    flow.fleetio("PATCH", f"/v1/vehicle_assignments/{created['id']}", {"comments": "b"})
    flow.sync()
    reconcile(flow)
    assert [a["id"] for a in flow.active_accesses()] == [booked["id"]]
    kept = {e["reason"] for e in flow.activity(action="skipped")}
    assert "booking_kept:switched_to_prompt" in kept and "booking_kept:key_unlinked" in kept
    # The assignment ends early (unassign): the kept booking ends with it.
    flow.fleetio("PATCH", f"/v1/vehicle_assignments/{created['id']}/unassign")
    flow.sync()
    assert flow.active_accesses() == []


def test_item9_mobile_match_and_a_user_created_minutes_ago_book_as_the_account(
    flow: Harness,
) -> None:
    flow.sandbox.post(
        "/_sandbox/fleetio/seed",
        json={
            "contacts": [{"id": 10, "first_name": "Mo", "mobile_phone_number": "(415) 555-0100"}]
        },
    ).raise_for_status()
    flow.sandbox.post(
        "/_sandbox/keycafe/seed",
        json={"users": [{"id": 502, "mobile": "+14155550100", "firstName": "Mo"}]},
    ).raise_for_status()
    mo = flow.assign(contact_id=10)
    flow.sync()  # reads (and caches) the user directory
    (access,) = flow.active_accesses()
    assert access["user"]["id"] == 502  # matched by mobile (US number, any formatting)
    assert "PIN" in flow.assignment(mo["id"])["custom_fields"]["keycafe_access_instructions"]

    # Eli opens a Keycafe account after the directory was cached.
    flow.sandbox.post(
        "/_sandbox/keycafe/seed",
        json={"users": [{"id": 503, "email": "eli@example.com", "firstName": "Eli"}]},
    ).raise_for_status()
    flow.api("PUT", f"/connections/{flow.connection_id}/vehicles/2/link", {"key_id": 200})
    eli = flow.assign(vehicle_id=2, contact_id=8)
    flow.sync()
    posts = [
        r for r in keycafe_requests(flow) if r["method"] == "POST" and r["path"].endswith("/access")
    ]
    assert posts[-1]["body"]["user"] == {"id": 503}  # booked as the account, not a guest
    fields = flow.assignment(eli["id"])["custom_fields"]
    assert fields["keycafe_access_code"] == "Keycafe account: phone number + PIN"


def test_item10_new_email_of_the_same_contact_reissues_the_booking(flow: Harness) -> None:
    flow.assign(contact_id=8)
    flow.sync()
    flow.sandbox.post(
        "/_sandbox/fleetio/seed",
        json={"contacts": [{"id": 8, "first_name": "Eli", "email": "eli.new@example.com"}]},
    ).raise_for_status()
    reconcile(flow)  # a contact change fires no assignment event: the daily run sees it
    statuses = sorted((a["status"], a["user"]["email"]) for a in flow.accesses())
    assert statuses == [("ACTIVE", "eli.new@example.com"), ("CANCELLED", "eli@example.com")]
    assert any(
        e["reason"] == "driver_contact_changed:booked" for e in flow.activity(action="updated")
    )


def test_item12_daily_run_reads_only_what_can_still_matter(flow: Harness) -> None:
    # Account history: 150 finished bookings (3 pages) and 30 past Fleetio assignments.
    old = {"accessStartDate": "2025-01-01", "accessEndDate": "2025-01-02", "status": "CANCELLED"}
    history = [{**old, "key": {"id": 100}, "user": {"id": 501}, "name": "x"} for _ in range(150)]
    flow.sandbox.post("/_sandbox/keycafe/seed", json={"accesses": history}).raise_for_status()
    past = [
        {
            "vehicle_id": 1,
            "contact_id": 7,
            "started_at": "2025-01-01T08:00:00Z",
            "ended_at": "2025-01-01T18:00:00Z",
        }
        for _ in range(30)
    ]
    flow.sandbox.post("/_sandbox/fleetio/seed", json={"vehicle_assignments": past})
    flow.assign()
    flow.sync()

    def access_pages_read() -> list[str]:
        return [
            r["query"].get("page", "1")
            for r in keycafe_requests(flow)
            if r["method"] == "GET" and r["path"].endswith("/access")
        ]

    reconcile(flow)
    first = access_pages_read()
    assert first == ["1", "2", "3", "4"]  # the first run reads the history once
    reconcile(flow)
    assert access_pages_read()[len(first) :] == ["4"]  # then only where our booking is
    more = [{**old, "key": {"id": 100}, "user": {"id": 501}, "name": "y"} for _ in range(100)]
    flow.sandbox.post("/_sandbox/keycafe/seed", json={"accesses": more}).raise_for_status()
    reconcile(flow)
    assert access_pages_read()[len(first) + 1 :] == ["4", "5", "6"]
    fleetio = flow.sandbox.get("/_sandbox/fleetio/requests").json()["requests"]
    lists = [
        r["query"]
        for r in fleetio
        if r["method"] == "GET" and r["path"].endswith("/v1/vehicle_assignments")
    ]
    assert lists and all(
        q.get("filter[current][eq]") == "true" or q.get("filter[future][eq]") == "true"
        for q in lists
    )


def test_item13_two_connections_on_one_keycafe_account_keep_their_own_bookings(
    flow: Harness, make_connection: Callable[..., dict[str, Any]]
) -> None:
    other = make_connection()["id"]
    flow.api("PUT", f"/connections/{other}/vehicles/2/link", {"key_id": 200})
    flow.assign(vehicle_id=1)
    flow.assign(vehicle_id=2, contact_id=8)
    reconcile(flow)  # books Van 1 for this connection
    reconcile(flow, other)  # books Van 2 for the other one
    names = sorted(a["name"] for a in flow.active_accesses())
    assert [n.rsplit(" · ", 1)[1] for n in names] == [flow.connection_id, other]
    reconcile(flow)
    reconcile(flow, other)
    assert len(flow.active_accesses()) == 2  # neither cancelled the other's as an orphan
    assert not flow.activity(action="deleted")


# ---------------------------------------------------------------- metrics
def emf_lines(text: str) -> list[dict[str, Any]]:
    """The CloudWatch EMF blobs a function printed."""
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"_aws"')]


def test_the_worker_publishes_synced_skipped_and_run_durations_per_connection(
    flow: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    flow.assign()  # booked: synced
    flow.assign(vehicle_id=3)  # no key: skipped
    capsys.readouterr()
    flow.sync()
    blobs = emf_lines(capsys.readouterr().out)
    by_metric = {}
    for blob in blobs:
        (directive,) = blob["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]:
            by_metric[metric["Name"]] = (blob, directive["Dimensions"])
    for name in ("Synced", "Skipped", "RunDuration"):
        blob, dimensions = by_metric[name]
        assert blob["flow"] == "fleetio-keycafe" and blob["connection_id"] == flow.connection_id
        assert "connection_id" in dimensions[0] and "connection_id" not in dimensions[1]
    assert by_metric["Synced"][0]["Synced"] == [1.0]
    assert by_metric["Skipped"][0]["Skipped"] == [1.0]
    assert by_metric["RunDuration"][0]["kind"] == "webhook"
    assert len(by_metric["RunDuration"][0]["RunDuration"]) == 2


# ---------------------------------------------------------------- issue 12: exactly once
def _work_redelivering(flow: Harness, rounds: int = 6, context: Any = None) -> list[Any]:
    """Run the worker like the SQS event source, making failed messages visible again at once
    (their redelivery); returns each invocation's answer."""
    from tests.support.lambdas import FakeContext, load_handler

    handler = load_handler("fleetio_keycafe_worker")
    url = flow.aws["queues"]["FleetioKeycafeQueue"]
    answers = []
    for _ in range(rounds):
        messages = flow.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            break
        event = sqs_event([json.loads(m["Body"]) for m in messages])
        for record, message in zip(event["Records"], messages, strict=True):
            record["messageId"] = message["MessageId"]
            record["receiptHandle"] = message["ReceiptHandle"]
        result = handler.lambda_handler(event, context or FakeContext())
        answers.append(result)
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] in failed:
                flow.sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                flow.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return answers


def test_issue12_a_lost_booking_answer_is_found_by_its_name_not_booked_again(
    flow: Harness,
) -> None:
    """Keycafe applies `POST /access` and the answer is lost (503 or a dropped connection): the
    booking is found by its name (our marker) and remembered; one booking, written back."""
    flow.sandbox.post(
        "/_sandbox/keycafe/faults", json={"lost_response": 1.0, "methods": ["POST"], "seed": 2}
    )
    created = flow.assign()
    flow.deliver_new()
    _work_redelivering(flow)
    (access,) = flow.active_accesses()
    assert access["name"].endswith(f"assignment {created['id']} · {flow.connection_id}")
    posts = [
        r
        for r in flow.sandbox.get("/_sandbox/keycafe/requests").json()["requests"]
        if r["method"] == "POST"
    ]
    assert len(posts) == 1 and posts[0]["fault"] == "lost_response"
    fields = flow.assignment(created["id"])["custom_fields"]
    assert fields["keycafe_access_link"] or fields["keycafe_access_code"]


def test_issue12_a_lost_booking_answer_is_looked_up_from_the_last_page_seen(
    flow: Harness,
) -> None:
    """Keycafe has no filter on accesses and allows 60 calls/min: the first lookup reads every
    page, later ones start on the page the last scan ended on (a booking made after that scan
    cannot be on an earlier page), so a large account does not cost 20 pages per lost answer."""
    others = [
        {"id": 5000 + i, "name": f"Someone else {i}", "key": {"id": 101}, "user": {"id": 1}}
        for i in range(120)  # pages 1-3 (50 a page)
    ]
    flow.sandbox.post("/_sandbox/keycafe/seed", json={"accesses": others}).raise_for_status()
    flow.sandbox.post(
        "/_sandbox/keycafe/faults", json={"lost_response": 1.0, "methods": ["POST"], "seed": 2}
    )

    def pages_read() -> list[str]:  # the GET /access pages read, in order
        return [
            r["query"].get("page", "1")
            for r in keycafe_requests(flow)
            if r["method"] == "GET" and r["path"].endswith("/access")
        ]

    first = flow.assign()
    flow.deliver_new()
    _work_redelivering(flow)
    scanned_first = len(pages_read())
    assert scanned_first >= 3  # no scan before: every page
    second = flow.assign(vehicle_id=1, contact_id=8, hours=(20, 30))
    flow.deliver_new()
    _work_redelivering(flow)
    assert len(pages_read()) - scanned_first == 1  # page 3 only
    names = [a["name"] for a in flow.active_accesses() if a["name"].startswith("Fleetio")]
    assert len(names) == 2
    assert {n.split("assignment ")[1].split(" ")[0] for n in names} == {
        str(first["id"]),
        str(second["id"]),
    }


def test_issue12_a_failed_write_back_does_not_book_again(flow: Harness) -> None:
    """The original bug: Fleetio answers 5xx to the custom-field write-back after the booking;
    the booking is remembered at once, so the redelivery writes back and books nothing more."""
    created = flow.assign()
    flow.deliver_new()
    flow.sandbox.post("/_sandbox/fleetio/faults", json={"status_5xx": 1.0, "methods": ["PATCH"]})
    answers = _work_redelivering(flow, rounds=1)
    assert answers[0]["batchItemFailures"]  # the write-back failed: the message is retried
    assert len(flow.active_accesses()) == 1
    flow.sandbox.post("/_sandbox/fleetio/faults", json={})
    _work_redelivering(flow)
    assert len(flow.accesses()) == 1  # still one booking, none cancelled and re-made
    fields = flow.assignment(created["id"])["custom_fields"]
    assert fields["keycafe_access_code"]


def test_issue12_a_long_retry_after_puts_the_message_back_instead_of_sleeping(
    flow: Harness,
) -> None:
    """A Retry-After longer than the invocation has left: no sleep, the message goes back to
    the queue with that delay, the claim is released, and it books once later."""
    from fleetbridge.core.mappings import MappingRepository
    from tests.support.lambdas import FakeContext, load_handler

    created = flow.assign()
    flow.deliver_new()
    flow.sandbox.post(
        "/_sandbox/keycafe/faults",
        json={"status_429": 1.0, "retry_after_s": 45, "methods": ["POST"]},
    )
    url = flow.aws["queues"]["FleetioKeycafeQueue"]
    messages = flow.sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    handle = messages[0]["ReceiptHandle"]
    flow.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    event = sqs_event([json.loads(m["Body"]) for m in messages])
    event["Records"][0]["receiptHandle"] = handle
    started = time.monotonic()
    result = load_handler("fleetio_keycafe_worker").lambda_handler(event, FakeContext())
    assert time.monotonic() - started < 10  # not slept for 45 s
    assert len(result["batchItemFailures"]) == 1
    # visible again before the call; now hidden for the vendor's 45 s
    assert flow.sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    assert flow.active_accesses() == []
    mapping = MappingRepository(flow.connection_id).get("assignment", str(created["id"]))
    assert mapping is None or "claimed_at" not in mapping.data  # the claim was given up


def test_a_vendor_wait_longer_than_the_request_has_is_a_503_with_retry_after(
    flow: Harness,
) -> None:
    """The API function has about 30 s: a vendor asking for 45 s is not waited for (the API's
    timeout would cut the request off without an answer); the caller is told when to come back."""
    from tests.support.events import http_event
    from tests.support.lambdas import invoke

    flow.sandbox.post(
        "/_sandbox/keycafe/faults",
        json={"status_429": 1.0, "retry_after_s": 45, "methods": ["GET"]},
    )
    event = http_event(
        "PUT",
        f"/connections/{flow.connection_id}/vehicles/2/link",
        body={"key_id": 200},
        headers={"Authorization": f"Bearer {flow.api.api_key}"},
    )
    started = time.monotonic()
    answer = invoke("api", event)
    assert time.monotonic() - started < 10  # not slept for 45 s
    assert answer["statusCode"] == 503 and answer["headers"]["Retry-After"] == "45", answer
    assert json.loads(answer["body"])["error"]["code"] == "vendor_retry_later"
    flow.sandbox.post("/_sandbox/keycafe/faults", json={})
    status, body = flow.api(
        "PUT", f"/connections/{flow.connection_id}/vehicles/2/link", {"key_id": 200}
    )
    assert status == 200, body


def test_issue12_no_record_is_started_without_time_left(flow: Harness) -> None:
    """An invocation about to time out starts no more records: they are sent again as new
    messages at once (not killed midway with the batch; a receive that started nothing does
    not count towards the dead-letter queue), and nothing is booked or left claimed."""
    from tests.support.lambdas import FakeContext, load_handler

    class Ending(FakeContext):
        def get_remaining_time_in_millis(self) -> int:
            return 1

    flow.assign()
    flow.assign(vehicle_id=1, contact_id=8, hours=(20, 30))
    flow.deliver_new()
    url = flow.aws["queues"]["FleetioKeycafeQueue"]
    messages = flow.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    event = sqs_event([json.loads(m["Body"]) for m in messages])
    for record, message in zip(event["Records"], messages, strict=True):
        record["receiptHandle"] = message["ReceiptHandle"]
    result = load_handler("fleetio_keycafe_worker").lambda_handler(event, Ending())
    assert result["batchItemFailures"] == []  # nothing failed: not started is not failed
    for message in messages:  # what the event source mapping does with a batch that succeeded
        flow.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    # with under a second left no record starts: the queue holds a fresh copy of each
    again = flow.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"]
    ).get("Messages", [])
    requeued = sorted((json.loads(m["Body"]) for m in again), key=json.dumps)
    assert requeued == sorted((json.loads(r["body"]) for r in event["Records"]), key=json.dumps)
    assert all(m["Attributes"]["ApproximateReceiveCount"] == "1" for m in again)
    assert flow.accesses() == []
