"""Issue 12 scenarios per flow, for the reliability tests and `bench/reliability.py`.

Each function drives one flow's in-process harness (the `Harness` of its integration test
module: moto + the vendor sandboxes) through a scenario and returns counts read from the
sandboxes' state and request logs and from SES (moto), never from our own records:

- `*_revoked_credentials(harness, changes)`: a vendor revokes the key, `changes` changes
  arrive, the daily run fires, then the key is fixed (PATCH, or a successful `/test`).
- `*_empty_source_list(harness, size)`: `size` linked records, then the source lists none.

Counts: `changes`, `refused_calls` (401/403 answered by the vendor), `emails` (credentials or
held-removal emails), `dead_letters`, `synced_after_fix` / `removed`, `stuck` (changes not
synced once the cause was fixed; goal 0), `seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3

from tests.support.events import schedule_event
from tests.support.lambdas import invoke


def ses_emails(subject_part: str) -> int:
    """Emails sent through SES (moto) whose subject contains `subject_part`."""
    from moto.ses.models import ses_backends

    sent = ses_backends["123456789012"]["us-east-1"].sent_messages
    return sum(1 for m in sent if subject_part in m.subject)


def refused_calls(sandbox: Any, vendor: str) -> int:
    """Requests the vendor sandbox answered 401/403 (its request log)."""
    log = sandbox.get(f"/_sandbox/{vendor}/requests").json()["requests"]
    return sum(1 for r in log if r.get("status") in (401, 403))


def dead_letters(aws: dict[str, Any], dlq: str) -> int:
    """Messages in a dead-letter queue (logical id)."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    attributes = sqs.get_queue_attributes(
        QueueUrl=aws["queues"][dlq], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


# ----------------------------------------------------------------------------- revoked key
def fleetio_keycafe_revoked_credentials(
    flow: Any, changes: int = 20, on_paused: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Keycafe's token is rotated; `changes` assignments (vehicle 1, successive windows) and a
    daily run arrive; the admins PATCH the new token. Bookings are counted in Keycafe.
    `on_paused` runs while the connection waits (tests look at it then)."""
    started = time.perf_counter()
    rotated = {"email": "ops@sandbox.example", "token": "rotated-token"}
    flow.sandbox.post("/_sandbox/keycafe/seed", json={"credentials": rotated}).raise_for_status()
    for n in range(changes):
        flow.assign(hours=(2 + 10 * n, 10 + 10 * n))
    flow.deliver_new()
    flow.work()
    invoke("fleetio_keycafe_daily", schedule_event("fleetio-keycafe-daily"))
    flow.work()
    during = len(flow.active_accesses())
    refused = refused_calls(flow.sandbox, "keycafe")
    if on_paused is not None:
        on_paused()
    status, _ = flow.api(
        "PATCH",
        f"/connections/{flow.connection_id}",
        {"credentials": {"keycafe_token": "rotated-token"}},
    )
    assert status == 200
    flow.work()
    synced = len(flow.active_accesses())
    return {
        "flow": "fleetio-keycafe",
        "changes": changes,
        "synced_during_outage": during,
        "refused_calls": refused,
        "emails": ses_emails("refused the credentials"),
        "dead_letters": dead_letters(flow.aws, "FleetioKeycafeDeadLetterQueue"),
        "synced_after_fix": synced,
        "stuck": changes - synced,
        "seconds": round(time.perf_counter() - started, 2),
    }


def striven_onfleet_revoked_credentials(
    harness: Any,
    task: Callable[[int], dict[str, Any]],
    changes: int = 20,
    on_paused: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Onfleet's key is rotated; `changes` Striven tasks arrive over three polls and a daily
    run; the admins PATCH the new key. Tasks are counted in Onfleet. `task(id)` builds a task."""
    started = time.perf_counter()
    harness.seed_striven(tasks=[task(n) for n in range(1, changes + 1)])
    harness.sandbox.post(
        "/_sandbox/onfleet/seed", json={"credentials": {"api_keys": ["rotated-onfleet-key"]}}
    ).raise_for_status()
    for _ in range(3):
        harness.poll()
    harness.daily()
    during = len(harness.onfleet_tasks())
    refused = refused_calls(harness.sandbox, "onfleet")
    if on_paused is not None:
        on_paused()
    status, _ = harness.api(
        "PATCH",
        f"/connections/{harness.connection_id}",
        {"credentials": {"onfleet_api_key": "rotated-onfleet-key"}},
    )
    assert status == 200
    harness.work()
    synced = len(harness.onfleet_tasks())
    return {
        "flow": "striven-onfleet",
        "changes": changes,
        "synced_during_outage": during,
        "refused_calls": refused,
        "emails": ses_emails("refused the credentials"),
        "dead_letters": dead_letters(harness.aws, "StrivenOnfleetDeadLetterQueue"),
        "synced_after_fix": synced,
        "stuck": changes - synced,
        "seconds": round(time.perf_counter() - started, 2),
    }


def gpsinsight_driveri_revoked_credentials(
    gps: Any,
    driver: Callable[[int], dict[str, Any]],
    changes: int = 20,
    on_paused: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Driveri stops serving the tenant (403) after the opt-in; `changes` portal drivers are
    created (pushed and polled); Driveri serves it again and `/test` succeeds. Drivers are
    counted in Driveri. `driver(n)` builds a portal driver."""
    started = time.perf_counter()
    gps.seed_portal(driver(0))
    gps.opt_in()
    creds = {"client_id": "sandbox-driveri-client", "client_secret": "sandbox-driveri-secret"}
    gps.sandbox.post(
        "/_sandbox/driveri/seed", json={"credentials": {**creds, "tenant": "another-tenant"}}
    ).raise_for_status()
    for n in range(1, changes + 1):
        gps.portal("/driver/create", **driver(n))
    gps.push_new()
    gps.poll()
    gps.work()
    during = len(gps.driveri()) - 1
    refused = refused_calls(gps.sandbox, "driveri")
    if on_paused is not None:
        on_paused()
    gps.sandbox.post(
        "/_sandbox/driveri/seed", json={"credentials": {**creds, "tenant": "sandbox-tenant"}}
    ).raise_for_status()
    status, tested = gps.api("POST", f"/connections/{gps.connection_id}/test")
    assert status == 200 and tested["ok"]
    gps.work()
    synced = len(gps.driveri()) - 1
    return {
        "flow": "gpsinsight-driveri",
        "changes": changes,
        "synced_during_outage": during,
        "refused_calls": refused,
        "emails": ses_emails("refused the credentials"),
        "dead_letters": dead_letters(gps.aws, "GpsInsightDriveriDeadLetterQueue"),
        "synced_after_fix": synced,
        "stuck": changes - synced,
        "seconds": round(time.perf_counter() - started, 2),
    }


# ----------------------------------------------------------------------------- empty source list
def gpsinsight_driveri_empty_source_list(
    gps: Any, driver: Callable[[int], dict[str, Any]], size: int = 10
) -> dict[str, Any]:
    """`size` portal drivers synced, then the portal lists none; two polls and a daily run.
    Counts Driveri drivers still active (goal: all) and the held-removal emails (goal: 1)."""
    started = time.perf_counter()
    status, _ = gps.api(
        "PATCH",
        f"/connections/{gps.connection_id}",
        {"settings": {"admin_emails": ["fleet@example.com"]}},
    )
    assert status == 200
    drivers = gps.seed_portal(*(driver(n) for n in range(1, size + 1)))
    gps.opt_in()
    for record in drivers:
        gps.portal("/driver/delete", driver_id=record["driver_id"])
    gps.poll()
    gps.work()
    gps.poll()
    gps.work()
    gps.api("POST", f"/connections/{gps.connection_id}/sync", query={"dry_run": "false"})
    gps.work()
    active = sum(1 for d in gps.driveri().values() if d["status"] == 1)
    return {
        "flow": "gpsinsight-driveri",
        "linked": size,
        "removed": size - active,
        "emails": ses_emails("removals held"),
        "seconds": round(time.perf_counter() - started, 2),
    }


def striven_onfleet_empty_source_list(
    harness: Any, task: Callable[[int], dict[str, Any]], size: int = 10
) -> dict[str, Any]:
    """`size` Striven tasks synced, then Striven has none of them; two daily runs. Counts the
    Onfleet tasks removed (goal 0) and the held-removal emails (goal 1)."""
    started = time.perf_counter()
    harness.seed_striven(tasks=[task(n) for n in range(1, size + 1)])
    harness.poll()
    harness.seed_striven(deleted_tasks=list(range(1, size + 1)))
    harness.daily()
    harness.daily()
    return {
        "flow": "striven-onfleet",
        "linked": size,
        "removed": size - len(harness.onfleet_tasks()),
        "emails": ses_emails("removals held"),
        "seconds": round(time.perf_counter() - started, 2),
    }
