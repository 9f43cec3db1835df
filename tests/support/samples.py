"""The sample events in `events/`, built with the same builders the tests use.

Each sample names the function directory, the case, the event and what the function must answer
when the sample world (`SAMPLE_*` below) exists. `python -m tests.support.samples` rewrites
`events/`; a test fails when a file drifts from its builder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.events import (
    fleetio_delivery,
    fleetio_hook_event,
    gpsinsight_push,
    gpsinsight_push_event,
    http_event,
    onfleet_hook_event,
    schedule_event,
    sqs_event,
)
from tests.support.routing import router_input

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"

# The sample world: a tenant key, a connection and its Fleetio webhook secret (sandbox values,
# never real credentials).
SAMPLE_API_KEY = "fbk_sample-api-key-for-local-use-only"
SAMPLE_CONNECTION_ID = "con_0000000000sample"
SAMPLE_WEBHOOK_SECRET = "sample-fleetio-webhook-secret"
SAMPLE_ASSIGNMENT = {
    "id": 1001,
    "vehicle_id": 1,
    "contact_id": 7,
    "started_at": "2030-01-01T08:00:00Z",
    "ended_at": "2030-01-01T18:00:00Z",
}
AUTH = {"Authorization": f"Bearer {SAMPLE_API_KEY}"}
# The GPS Insight → Driveri connection of the sample world (Driver Sync already on).
SAMPLE_GPS_CONNECTION_ID = "con_00000000gpssample"
SAMPLE_PUSH_SECRET = "sample-gpsinsight-push-secret"
SAMPLE_PORTAL_DRIVER = {
    "driver_id": "501",
    "ref_id": "R-501",
    "firstname": "Ada",
    "lastname": "Lovelace",
    "email": "ada@example.com",
    "phone": "+15550100501",
    "license_number": "L-501",
    "group": "North",
    "driveri_driver_id": "D-501",
    "updated_at": "2026-11-23T11:59:00Z",
}
# The Striven → Onfleet connection of the sample world (sandbox credentials), one Striven task
# of an employee of its selected team, as the poll queues it.
SAMPLE_STRIVEN_CONNECTION_ID = "con_000striven0sample"
SAMPLE_STRIVEN_SETTINGS = {
    "time_zone": "America/Chicago",
    "notify_recipients": ["dispatch@example.com"],
    "task_type_ids": [1],
    "team_ids": [10],
    "teams": [{"id": 10, "name": "North", "memberIds": [71]}],
}
SAMPLE_STRIVEN_TASK = {
    "id": 7001,
    "title": "Boiler service",
    "description": "Basement, blue door",
    "status": {"id": 1, "name": "Open"},
    "type": {"id": 1, "name": "Service"},
    "customer": {"id": 500, "name": "Acme", "phone": "(312) 555-0199"},
    "assignedTo": [{"id": 71, "name": "Ann Lee"}],
    "startDate": "2026-11-23T09:00:00",  # in the past: eligible whenever the sample runs
    "dueDate": "2026-11-23T17:00:00",
    "dateCreated": "2026-11-20T08:00:00",
    "lastUpdatedDate": "2026-11-22T10:00:00.000",
    "location": {
        "id": 1,
        "name": "Acme HQ",
        "address": {"address1": "1 Main St", "city": "Springfield", "state": "IL"},
        "latitude": 39.8,
        "longitude": -89.6,
    },
}
SAMPLE_STRIVEN_EMPLOYEE = {
    "id": 71,
    "firstName": "Ann",
    "lastName": "Lee",
    "phones": [{"phoneType": {"id": 1, "name": "Mobile"}, "number": "(312) 555-0171"}],
}
# A routing run of the sample world, queued with a plain router input (the Onfleet sandbox's
# default key for the integration profile sample).
SAMPLE_ONFLEET_WEBHOOK_SECRET = "5e" * 32  # hex, as Onfleet gives it
SAMPLE_RUN_ID = "run_0000000000sample"
SAMPLE_ROUTER_INPUT = router_input()
SAMPLE_ONFLEET_KEY = "sandbox-onfleet-key"


@dataclass(frozen=True)
class Sample:
    function: str  # directory under functions/
    case: str
    event: dict[str, Any]
    expect: Any  # HTTP status, or the exact worker/schedule answer

    @property
    def path(self) -> Path:
        return EVENTS / self.function / f"{self.case}.json"


def _stable(event: dict[str, Any]) -> dict[str, Any]:
    """Fixed ids and times so regenerated files do not change."""
    text = json.dumps(event)
    if "requestContext" in event:
        event["requestContext"]["requestId"] = "sample-request-id"
        event["requestContext"]["time"] = "23/Nov/2026:12:00:00 +0000"
        event["requestContext"]["timeEpoch"] = 1795435200000
    for index, record in enumerate(event.get("Records", [])):
        record["messageId"] = f"sample-message-{index}"
        record["receiptHandle"] = f"sample-receipt-{index}"
        record["attributes"]["SentTimestamp"] = "1795435200000"
        record["attributes"]["ApproximateFirstReceiveTimestamp"] = "1795435200000"
    del text
    return event


def _work(kind: str, event_id: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "flow": "fleetio-keycafe",
        "connection_id": SAMPLE_CONNECTION_ID,
        "kind": kind,
        "event_id": event_id,
        "event": "vehicle_assignment_created",
        "payload": payload
        or {
            "assignment_id": SAMPLE_ASSIGNMENT["id"],
            "entity": f"assignment {SAMPLE_ASSIGNMENT['id']}",
        },
        "received_at": "2026-11-23T12:00:00.000Z",
    }


def _push() -> bytes:
    return gpsinsight_push("driver_updated", SAMPLE_PORTAL_DRIVER, "2026-11-23T12:00:00Z")


def _gps_work(kind: str, event_id: str, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "flow": "gpsinsight-driveri",
        "connection_id": SAMPLE_GPS_CONNECTION_ID,
        "kind": kind,
        "event_id": event_id,
        "event": event,
        "payload": payload,
        "received_at": "2026-11-23T12:00:00.000Z",
    }


def _gps_samples() -> list[Sample]:
    gps = f"/connections/{SAMPLE_GPS_CONNECTION_ID}"
    invalid_schedule = {"id": "x", "detail-type": "Object Created", "time": "2026-11-23T06:00:00Z"}
    schedule_error = {
        "error": {
            "code": "invalid",
            "field": "detail-type",
            "message": "not a scheduled event: detail-type: Input should be 'Scheduled Event'",
        }
    }
    return [
        Sample(
            "api",
            "driver_sync_on",
            http_event(
                "POST",
                f"{gps}/driver-sync",
                headers=AUTH,
                body={
                    "enabled": True,
                    "portal_user": "sandbox-gps-user",
                    "portal_password": "sandbox-gps-pass",
                },
            ),
            200,
        ),
        Sample(
            "api",
            "invalid_driver_sync_not_master_user",
            http_event(
                "POST",
                f"{gps}/driver-sync",
                headers=AUTH,
                body={"enabled": True, "portal_user": "dispatcher", "portal_password": "x"},
            ),
            403,
        ),
        Sample(
            "api",
            "drift_report_latest",
            http_event("GET", f"{gps}/reports/drift/latest", headers=AUTH, query={"format": "csv"}),
            404,  # the sample world has not reconciled yet
        ),
        Sample(
            "gpsinsight_webhook",
            "driver_updated",
            gpsinsight_push_event(SAMPLE_GPS_CONNECTION_ID, _push(), SAMPLE_PUSH_SECRET),
            202,
        ),
        Sample(
            "gpsinsight_webhook",
            "invalid_signature",
            gpsinsight_push_event(SAMPLE_GPS_CONNECTION_ID, _push(), "not-the-secret"),
            401,
        ),
        Sample(
            "gpsinsight_driveri_worker",
            "driver_updated",
            sqs_event(
                [
                    _gps_work(
                        "webhook",
                        "push:501:driver_updated:2026-11-23T11:59:00Z",
                        "driver_updated",
                        {
                            "entity": "driver 501",
                            "portal_driver_id": "501",
                            "portal_record": SAMPLE_PORTAL_DRIVER,
                        },
                    )
                ],
                queue="GpsInsightDriveriQueue",
            ),
            {"batchItemFailures": []},
        ),
        Sample(
            "gpsinsight_driveri_worker",
            "invalid_message",
            sqs_event([{"not": "a work message"}], queue="GpsInsightDriveriQueue"),
            {"batchItemFailures": [{"itemIdentifier": "sample-message-0"}]},
        ),
        Sample(
            "gpsinsight_driveri_poll",
            "poll",
            schedule_event("gpsinsight-driveri-poll"),
            {"queued": 1, "not_due": 0},
        ),
        Sample(
            "gpsinsight_driveri_poll", "invalid_not_a_schedule", invalid_schedule, schedule_error
        ),
        Sample(
            "gpsinsight_driveri_daily",
            "daily",
            schedule_event("gpsinsight-driveri-daily"),
            {"queued": 1},
        ),
        Sample(
            "gpsinsight_driveri_daily", "invalid_not_a_schedule", invalid_schedule, schedule_error
        ),
    ]


def _servicetrade_azuga_samples() -> list[Sample]:
    from tests.support.samples_servicetrade import servicetrade_azuga_samples

    invalid_schedule = {"id": "x", "detail-type": "Object Created", "time": "2026-11-23T06:00:00Z"}
    schedule_error = {
        "error": {
            "code": "invalid",
            "field": "detail-type",
            "message": "not a scheduled event: detail-type: Input should be 'Scheduled Event'",
        }
    }
    return servicetrade_azuga_samples(Sample, invalid_schedule, schedule_error)


def _routing_samples() -> list[Sample]:
    run_message = {
        "flow": "routing",
        "connection_id": "ten_sample",  # the run's tenant (informational)
        "kind": "run",
        "event_id": SAMPLE_RUN_ID,
        "event": "router_run",
        "payload": {"run_id": SAMPLE_RUN_ID, "tenant_id": "ten_sample"},
        "received_at": "2026-11-23T12:00:00.000Z",
    }
    profile = {
        "id": "onfleet-main",
        "name": "Onfleet",
        "configuration": {"api_key": SAMPLE_ONFLEET_KEY},
    }
    post = "/v1/routing/profiles/integration/onfleet"
    return [
        Sample(
            "api",
            "create_routing_integration",
            http_event("POST", post, headers=AUTH, body=profile),
            201,
        ),
        Sample(
            "api",
            "invalid_routing_profile_id",
            http_event("POST", post, headers=AUTH, body=profile | {"id": "Not_Valid"}),
            422,
        ),
        Sample(
            "api",
            "routing_run",
            http_event("POST", "/v0/run", headers=AUTH, body=SAMPLE_ROUTER_INPUT),
            202,
        ),
        Sample(
            "api",
            "invalid_routing_input",
            http_event(
                "POST", "/v0/run", headers=AUTH, body={**SAMPLE_ROUTER_INPUT, "vehicles": []}
            ),
            422,
        ),
        Sample(
            "api",
            "routing_run_status",
            http_event("GET", f"/v0/run/{SAMPLE_RUN_ID}/status", headers=AUTH),
            200,
        ),
        Sample(
            "routing_solver",
            "run",
            sqs_event([run_message], queue="RoutingQueue"),
            {"batchItemFailures": []},
        ),
        Sample(
            "routing_solver",
            "invalid_message",
            sqs_event([{"not": "a work message"}], queue="RoutingQueue"),
            {"batchItemFailures": [{"itemIdentifier": "sample-message-0"}]},
        ),
    ]


def _striven_message() -> dict[str, Any]:
    from fleetbridge.flows.striven_onfleet.work import tasks_message
    from fleetbridge.vendors.striven_models import StrivenEmployee, StrivenTask, StrivenTeam

    message = tasks_message(
        SAMPLE_STRIVEN_CONNECTION_ID,
        [StrivenTask.model_validate(SAMPLE_STRIVEN_TASK)],
        [StrivenTeam(id=10, name="North", memberIds=[71])],
        {71: StrivenEmployee.model_validate(SAMPLE_STRIVEN_EMPLOYEE)},
        poll_id="schedule:sample-schedule-event",
    )
    return message.model_copy(update={"received_at": "2026-11-23T12:00:00.000Z"}).model_dump()


def _onfleet_delivery() -> bytes:
    """Onfleet's taskCompleted for the sample task (not synced yet: accepted, then ignored)."""
    task = {
        "id": "sampleOnfleetTask0000000",
        "state": 3,
        "worker": "sampleOnfleetWorker00000",
        "metadata": [{"name": "strivenTaskId", "type": "number", "value": 7001}],
    }
    body = {
        "actionContext": {"type": "WORKER", "id": "sampleOnfleetWorker00000"},
        "adminId": None,
        "taskId": task["id"],
        "workerId": task["worker"],
        "time": 1795435200000,
        "triggerId": 3,
        "triggerName": "taskCompleted",
        "data": {"task": task},
    }
    return json.dumps(body).encode()


def _onfleet_hook_samples() -> list[Sample]:
    from fleetbridge.core.webhook_auth import sign_hmac_hex

    body = _onfleet_delivery()
    signed = sign_hmac_hex(body, SAMPLE_ONFLEET_WEBHOOK_SECRET, algorithm="sha512", hex_key=True)
    conn = SAMPLE_STRIVEN_CONNECTION_ID
    return [
        Sample("onfleet_webhook", "task_completed", onfleet_hook_event(conn, body, signed), 202),
        Sample(
            "onfleet_webhook",
            "url_check",
            onfleet_hook_event(conn, b"", None, method="GET", query={"check": "sample-token"}),
            200,
        ),
        Sample(
            "onfleet_webhook", "invalid_signature", onfleet_hook_event(conn, body, "00" * 64), 401
        ),
    ]


def _striven_samples() -> list[Sample]:
    base = f"/connections/{SAMPLE_STRIVEN_CONNECTION_ID}"
    invalid_schedule = {"id": "x", "detail-type": "Object Created", "time": "2026-11-23T06:00:00Z"}
    schedule_error = {
        "error": {
            "code": "invalid",
            "field": "detail-type",
            "message": "not a scheduled event: detail-type: Input should be 'Scheduled Event'",
        }
    }
    queue = "StrivenOnfleetQueue"
    return [
        Sample(
            "api", "striven_employees", http_event("GET", f"{base}/employees", headers=AUTH), 200
        ),
        Sample(
            "api",
            "invalid_striven_task_not_polled_yet",
            http_event("GET", f"{base}/tasks/{SAMPLE_STRIVEN_TASK['id']}", headers=AUTH),
            404,
        ),
        Sample(
            "striven_onfleet_worker",
            "task_changed",
            sqs_event([_striven_message()], queue=queue),
            {"batchItemFailures": []},
        ),
        Sample(
            "striven_onfleet_worker",
            "invalid_message",
            sqs_event([{"not": "a work message"}], queue=queue),
            {"batchItemFailures": [{"itemIdentifier": "sample-message-0"}]},
        ),
        Sample(
            "striven_onfleet_poll",
            "poll",
            schedule_event("striven-onfleet-poll"),
            {"queued": 1, "not_due": 0},
        ),
        Sample("striven_onfleet_poll", "invalid_not_a_schedule", invalid_schedule, schedule_error),
        Sample(
            "striven_onfleet_daily",
            "daily",
            schedule_event("striven-onfleet-daily"),
            {"queued": 1},
        ),
        Sample("striven_onfleet_daily", "invalid_not_a_schedule", invalid_schedule, schedule_error),
        *_onfleet_hook_samples(),
    ]


def _delivery() -> bytes:
    return fleetio_delivery(SAMPLE_ASSIGNMENT, delivery_id="sample-delivery-1")


def build_samples() -> list[Sample]:
    """Every sample event: valid ones and at least one invalid per function."""
    samples = [
        Sample("api", "list_connections", http_event("GET", "/connections", headers=AUTH), 200),
        Sample(
            "api",
            "get_connection",
            http_event("GET", f"/connections/{SAMPLE_CONNECTION_ID}", headers=AUTH),
            200,
        ),
        Sample(
            "api",
            "create_connection",
            http_event(
                "POST",
                "/connections",
                headers=AUTH,
                body={
                    "flow": "fleetio-keycafe",
                    "name": "Depot North",
                    "credentials": {
                        "fleetio_api_key": "sandbox-fleetio-key",
                        "fleetio_account_token": "sandbox-fleetio-account",
                        "fleetio_webhook_secret": SAMPLE_WEBHOOK_SECRET,
                        "keycafe_email": "ops@sandbox.example",
                        "keycafe_token": "sandbox-keycafe-token",
                    },
                    "settings": {
                        "time_zone": "America/New_York",
                        "admin_emails": ["ops@example.com"],
                    },
                },
            ),
            201,
        ),
        Sample(
            "api",
            "activity",
            http_event(
                "GET",
                f"/connections/{SAMPLE_CONNECTION_ID}/activity",
                headers=AUTH,
                query={"limit": "20"},
            ),
            200,
        ),
        Sample(
            "api",
            "sync_dry_run",
            http_event(
                "POST",
                f"/connections/{SAMPLE_CONNECTION_ID}/sync",
                headers=AUTH,
                query={"dry_run": "true"},
            ),
            200,
        ),
        Sample("api", "openapi", http_event("GET", "/openapi.json"), 200),
        Sample("api", "invalid_missing_api_key", http_event("GET", "/connections"), 401),
        Sample(
            "api",
            "invalid_schema",
            http_event("POST", "/connections", headers=AUTH, body={"flow": "fleetio-keycafe"}),
            422,
        ),
        Sample(
            "api",
            "invalid_malformed_json",
            http_event("POST", "/connections", headers=AUTH, body='{"flow": '),
            400,
        ),
        Sample("api", "invalid_unknown_route", http_event("GET", "/nowhere", headers=AUTH), 404),
        Sample(
            "fleetio_webhook",
            "assignment_created",
            fleetio_hook_event(SAMPLE_CONNECTION_ID, _delivery(), SAMPLE_WEBHOOK_SECRET),
            202,
        ),
        Sample(
            "fleetio_webhook",
            "invalid_signature",
            fleetio_hook_event(SAMPLE_CONNECTION_ID, _delivery(), "not-the-secret"),
            401,
        ),
        Sample(
            "fleetio_webhook",
            "invalid_unknown_connection",
            fleetio_hook_event("con_doesnotexist00", _delivery(), SAMPLE_WEBHOOK_SECRET),
            401,  # answered like a bad signature: ids cannot be probed
        ),
        Sample(
            "fleetio_keycafe_worker",
            "assignment_created",
            sqs_event([_work("webhook", "sample-delivery-1")]),
            {"batchItemFailures": []},
        ),
        Sample(
            "fleetio_keycafe_worker",
            "invalid_message",
            sqs_event([{"not": "a work message"}]),
            {"batchItemFailures": [{"itemIdentifier": "sample-message-0"}]},
        ),
        Sample(
            "fleetio_keycafe_daily", "daily", schedule_event("fleetio-keycafe-daily"), {"queued": 1}
        ),
        Sample(
            "fleetio_keycafe_daily",
            "invalid_not_a_schedule",
            {"id": "x", "detail-type": "Object Created", "time": "2026-11-23T06:00:00Z"},
            {
                "error": {
                    "code": "invalid",
                    "field": "detail-type",
                    "message": "not a scheduled event: detail-type: Input should be "
                    "'Scheduled Event'",
                }
            },
        ),
    ]
    samples += _gps_samples()
    samples += _striven_samples()
    samples += _servicetrade_azuga_samples()
    samples += _routing_samples()
    return [Sample(s.function, s.case, _stable(s.event), s.expect) for s in samples]


def write_samples() -> list[Path]:
    """(Re)write every sample file; returns the paths written."""
    written = []
    for sample in build_samples():
        sample.path.parent.mkdir(parents=True, exist_ok=True)
        sample.path.write_text(json.dumps(sample.event, indent=2, sort_keys=True) + "\n")
        written.append(sample.path)
    return written


if __name__ == "__main__":
    for path in write_samples():
        print(path.relative_to(ROOT))
