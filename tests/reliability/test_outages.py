"""Issue 12 item 3: after an outage or a revoked key, work completes by itself.

Each flow on the in-process harness of its integration tests (moto + the vendor sandboxes):
- a refused credential pauses the connection (`credentials_invalid` in its answer and in
  `/test`, one email), its work waits without burning retries, and updating the credentials (or
  a `/test` that succeeds again) syncs everything that waited;
- a dead letter left by a vendor outage is completed by replaying it (and, for Striven → Onfleet,
  by the next poll) instead of being decided `previously_failed`.
Counts are read from the sandboxes (their state and request logs) and SES, not from our records.
"""

# ruff: noqa: F811 (the harness fixtures are imported, then named as parameters)
from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from tests.integration.conftest import (  # noqa: F401 (fixtures)
    Api,
    aws,
    make_connection,
    sandbox,
    sandbox_server,
    tenant,
)
from tests.integration.conftest import api as api
from tests.integration.test_fleetio_keycafe_flow import Harness as FleetioHarness
from tests.integration.test_fleetio_keycafe_flow import flow  # noqa: F401
from tests.integration.test_gpsinsight_driveri_flow import Harness as GpsHarness
from tests.integration.test_gpsinsight_driveri_flow import harness as gps  # noqa: F401
from tests.integration.test_gpsinsight_driveri_flow import portal_driver
from tests.integration.test_striven_onfleet_flow import Harness as StrivenHarness
from tests.integration.test_striven_onfleet_flow import harness as striven  # noqa: F401
from tests.integration.test_striven_onfleet_flow import striven_task
from tests.support import outages
from tests.support.events import schedule_event
from tests.support.lambdas import invoke


def emails(subject_part: str = "") -> list[Any]:
    """SES emails sent (moto), optionally only those whose subject contains `subject_part`."""
    from moto.ses.models import ses_backends

    sent = ses_backends["123456789012"]["us-east-1"].sent_messages
    return [m for m in sent if subject_part in m.subject]


def refusals(sandbox: Any, vendor: str) -> int:
    """How many requests the vendor sandbox refused with 401/403 (its own request log)."""
    log = sandbox.get(f"/_sandbox/{vendor}/requests").json()["requests"]
    return sum(1 for r in log if r.get("status") in (401, 403))


def connection(api: Api, connection_id: str) -> dict[str, Any]:
    status, body = api("GET", f"/connections/{connection_id}")
    assert status == 200, body
    return dict(body)


def dead_letter_everything(aws: dict[str, Any], queue: str) -> int:
    """What SQS does after the last receive: move the queue's messages to its DLQ."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = aws["queues"][queue]
    dlq = aws["queues"][queue.replace("Queue", "DeadLetterQueue")]
    moved = 0
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            sqs.send_message(QueueUrl=dlq, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


# ----------------------------------------------------------------------------- Fleetio → Keycafe
def test_fleetio_keycafe_revoked_key_pauses_the_connection_and_patch_syncs_what_waited(
    flow: FleetioHarness,
) -> None:
    def paused() -> None:
        shown = connection(flow.api, flow.connection_id)
        assert shown["status"] == "credentials_invalid"
        assert shown["status_detail"]["vendor"] == "keycafe"
        assert shown["status_detail"]["waiting_messages"] == 4  # 3 assignments + the daily run
        status, tested = flow.api("POST", f"/connections/{flow.connection_id}/test")
        assert status == 200 and tested["ok"] is False
        assert tested["status"] == "credentials_invalid"  # /test failed: still paused
        [told] = emails("refused the credentials")
        assert told.destinations["ToAddresses"] == ["fleet-admin@example.com"]
        assert emails("failed") == []  # nothing stored or emailed per assignment

    counts = outages.fleetio_keycafe_revoked_credentials(flow, changes=3, on_paused=paused)
    assert counts["synced_during_outage"] == 0
    assert counts["refused_calls"] == 1  # then paused: no call per assignment or daily run
    assert counts["emails"] == 1 and counts["dead_letters"] == 0
    assert counts["synced_after_fix"] == 3 and counts["stuck"] == 0  # nobody edited a record
    assert connection(flow.api, flow.connection_id)["status"] == "ok"


def test_fleetio_keycafe_a_refused_fleetio_key_is_not_stored_on_the_assignment(
    flow: FleetioHarness,
) -> None:
    """The old bug: a 401 stored as the assignment's refusal made every later run `unchanged`."""
    flow.assign()
    flow.deliver_new()  # the delivery is queued while the key still works
    flow.sandbox.post(
        "/_sandbox/fleetio/seed",
        json={
            "credentials": {
                "api_key": "new-fleetio-key",
                "account_token": "sandbox-fleetio-account",
            }
        },
    ).raise_for_status()
    flow.work()
    assert flow.active_accesses() == []
    assert connection(flow.api, flow.connection_id)["status_detail"]["vendor"] == "fleetio"
    # fixed at the vendor (the old key works again): a successful /test resumes the connection
    flow.sandbox.post(
        "/_sandbox/fleetio/seed",
        json={
            "credentials": {
                "api_key": "sandbox-fleetio-key",
                "account_token": "sandbox-fleetio-account",
            }
        },
    ).raise_for_status()
    status, tested = flow.api("POST", f"/connections/{flow.connection_id}/test")
    assert status == 200 and tested["ok"] is True and tested["status"] == "ok"
    flow.work()
    assert len(flow.active_accesses()) == 1
    status, _ = flow.api(
        "POST", f"/connections/{flow.connection_id}/sync", query={"dry_run": "true"}
    )
    assert status == 200


def test_fleetio_keycafe_a_refusal_stored_by_an_older_version_heals_on_the_next_run(
    flow: FleetioHarness,
) -> None:
    """The state the old code left: `failed` at the current fingerprint with a 401, no booking."""
    from fleetbridge.core.connections import ConnectionRepository
    from fleetbridge.core.mappings import MappingRepository
    from fleetbridge.flows.fleetio_keycafe.flow import context_for

    assignment = flow.assign()
    flow.sync()
    mappings = MappingRepository(flow.connection_id)
    booked = mappings.get("assignment", str(assignment["id"]))
    assert booked is not None and booked.data["status"] == "booked"
    ctx = context_for(ConnectionRepository().get(flow.connection_id))
    ctx.keycafe.cancel_access(int(booked.data["access_id"]))
    data = {**booked.data, "status": "failed", "access_id": None}
    data["last_error"] = "keycafe 401: Invalid API token"
    mappings.save(booked.model_copy(update={"other_id": None, "data": data}))
    assert flow.active_accesses() == []

    invoke("fleetio_keycafe_daily", schedule_event("fleetio-keycafe-daily"))
    flow.work()
    assert len(flow.active_accesses()) == 1  # booked again, not `unchanged` for ever


# ----------------------------------------------------------------------------- Striven → Onfleet
def _striven_outage(striven: StrivenHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Task 1 synced; task 2's chunk dead-lettered while Onfleet answers 5xx."""
    monkeypatch.setenv("FLEETBRIDGE_HTTP_MAX_RETRIES", "0")
    from fleetbridge.core.config import get_settings

    get_settings.cache_clear()
    striven.seed_striven(tasks=[striven_task(1)])
    striven.poll()
    striven.seed_striven(tasks=[striven_task(2)])
    striven.sandbox.post("/_sandbox/onfleet/faults", json={"status_5xx": 1.0}).raise_for_status()
    striven.poll()  # the first attempt fails
    time.sleep(1.5)  # the visibility timeout (scaled to 1 s in tests)
    striven.work(receive_count=5)  # the last attempt fails: recorded, emailed
    time.sleep(1.5)
    assert dead_letter_everything(striven.aws, "StrivenOnfleetQueue") == 1
    striven.sandbox.post("/_sandbox/onfleet/faults", json={}).raise_for_status()
    assert set(striven.onfleet_tasks()) == {1}


def test_striven_onfleet_replaying_an_outage_dead_letter_creates_the_task(
    striven: StrivenHarness,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _striven_outage(striven, monkeypatch)
    status, replayed = striven.api(
        "POST", f"/connections/{striven.connection_id}/dead-letters/replay"
    )
    assert status == 200 and len(replayed["replayed"]) == 1
    striven.work()
    assert set(striven.onfleet_tasks()) == {1, 2}  # not `previously_failed`
    assert striven.task_view(2)["sync_state"] == "synced"
    striven.work()
    striven.poll()
    assert len(striven.onfleet()["tasks"]) == 2  # the replay and the poll's retry: one task


def test_striven_onfleet_the_next_poll_after_an_outage_creates_the_task(
    striven: StrivenHarness,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _striven_outage(striven, monkeypatch)
    striven.poll()  # Striven has no newer version of task 2: the outage list brings it back
    assert set(striven.onfleet_tasks()) == {1, 2}
    striven.poll()
    assert len(striven.onfleet()["tasks"]) == 2


def test_striven_onfleet_revoked_onfleet_key_pauses_polls_and_patch_resumes(
    striven: StrivenHarness,
) -> None:
    def paused() -> None:
        shown = connection(striven.api, striven.connection_id)
        assert shown["status"] == "credentials_invalid"
        assert shown["status_detail"]["vendor"] == "onfleet"

    counts = outages.striven_onfleet_revoked_credentials(
        striven, striven_task, changes=3, on_paused=paused
    )
    assert counts["synced_during_outage"] == 0 and counts["refused_calls"] == 1
    assert counts["emails"] == 1 and counts["dead_letters"] == 0
    assert counts["synced_after_fix"] == 3 and counts["stuck"] == 0
    assert connection(striven.api, striven.connection_id)["status"] == "ok"


# ----------------------------------------------------------------------------- GPS Insight → Driveri
def test_gpsinsight_driveri_refused_driveri_waits_and_a_successful_test_syncs(
    gps: GpsHarness,
) -> None:
    def paused() -> None:
        shown = connection(gps.api, gps.connection_id)
        assert shown["status"] == "credentials_invalid"
        assert shown["status_detail"]["vendor"] == "driveri"

    counts = outages.gpsinsight_driveri_revoked_credentials(
        gps, portal_driver, changes=3, on_paused=paused
    )
    assert counts["synced_during_outage"] == 0 and counts["refused_calls"] == 1
    assert counts["dead_letters"] == 0
    assert counts["synced_after_fix"] == 3 and counts["stuck"] == 0
    assert connection(gps.api, gps.connection_id)["status"] == "ok"


def test_gpsinsight_driveri_replaying_an_outage_dead_letter_syncs_the_driver(
    gps: GpsHarness,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLEETBRIDGE_HTTP_MAX_RETRIES", "0")
    from fleetbridge.core.config import get_settings

    get_settings.cache_clear()
    gps.seed_portal(portal_driver(1))
    gps.opt_in()
    gps.portal("/driver/create", **portal_driver(2))
    gps.sandbox.post("/_sandbox/driveri/faults", json={"status_5xx": 1.0}).raise_for_status()
    gps.push_new()
    with pytest.raises(AssertionError):
        gps.work()  # the attempt fails (the harness asserts no failure)
    time.sleep(1.5)
    assert dead_letter_everything(gps.aws, "GpsInsightDriveriQueue") == 1
    gps.sandbox.post("/_sandbox/driveri/faults", json={}).raise_for_status()
    status, replayed = gps.api("POST", f"/connections/{gps.connection_id}/dead-letters/replay")
    assert status == 200 and len(replayed["replayed"]) == 1
    gps.work()
    assert set(gps.driveri()) == {"D-1", "D-2"}


def test_replaying_a_dead_lettered_reconciliation_runs_it(
    gps: GpsHarness,
) -> None:
    gps.seed_portal(portal_driver(1))
    gps.opt_in()
    gps.portal("/driver/create", **portal_driver(2))
    sqs = boto3.client("sqs", region_name="us-east-1")
    message = {
        "flow": "gpsinsight-driveri",
        "connection_id": gps.connection_id,
        "kind": "reconcile",
        "event_id": "schedule:dead",
        "event": "daily_reconciliation",
    }
    sqs.send_message(
        QueueUrl=gps.aws["queues"]["GpsInsightDriveriDeadLetterQueue"],
        MessageBody=json.dumps(message),
    )
    status, replayed = gps.api("POST", f"/connections/{gps.connection_id}/dead-letters/replay")
    assert status == 200 and len(replayed["replayed"]) == 1
    gps.work()
    assert set(gps.driveri()) == {"D-1", "D-2"}


# ----------------------------------------------------------------------------- the pure rules
@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("vendor_error", ("create", "eligible")),  # an outage: tried again at the same version
        ("onfleet_rejected", ("skip", "previously_failed")),  # the task's own: waits for a change
        ("no_location", ("skip", "previously_failed")),
        (None, ("skip", "previously_failed")),
    ],
)
def test_striven_onfleet_only_a_failure_about_the_task_waits_for_its_next_update(
    reason: str | None, expected: tuple[str, str]
) -> None:
    from fleetbridge.flows.striven_onfleet.task_rules import SyncedTask, decide, task_version
    from tests.unit.flows.test_striven_onfleet_rules import MEMBERS, NOW, SETTINGS, task

    current = task()
    failed = SyncedTask(None, status="failed", version=task_version(current), reason=reason)
    decision = decide(current, SETTINGS, MEMBERS, NOW, failed)
    assert (decision.action, decision.reason) == expected


def test_connection_status_warnings_and_parking_keys() -> None:
    from fleetbridge.core.health import parked_key, status_of, warnings_for
    from fleetbridge.core.queue import WorkMessage

    assert status_of(None) == {"status": "ok"}
    mark = {"vendor": "keycafe", "since": "2026-01-01T00:00:00.000Z", "error": "keycafe 401: no"}
    assert status_of(mark, 3) == {"status": "credentials_invalid", **mark, "waiting_messages": 3}
    assert warnings_for({"admin_emails": ["a@example.com"]}, "admin_emails") == []
    assert "settings.notify_recipients is empty" in warnings_for({}, "notify_recipients")[0]

    def message(kind: str, event_id: str) -> WorkMessage:
        return WorkMessage(flow="f", connection_id="c", kind=kind, event_id=event_id)

    # one waiting poll / daily run per connection (the next one reads everything), every event
    assert parked_key(message("poll", "schedule:1")) == parked_key(message("poll", "schedule:2"))
    assert parked_key(message("reconcile", "a")) == "reconcile"
    assert parked_key(message("webhook", "d1")) != parked_key(message("webhook", "d2"))
