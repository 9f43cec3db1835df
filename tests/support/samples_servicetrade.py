"""The ServiceTrade ↔ Azuga sample events (`events/servicetrade_*`, `events/azuga_webhook`):
a delivery of each vendor with our secret and without, a worker message, the schedules."""

from __future__ import annotations

import json
from typing import Any

from tests.support.events import (
    azuga_hook_event,
    schedule_event,
    servicetrade_hook_event,
    sqs_event,
)

# The ServiceTrade ↔ Azuga connection of the sample world (sandbox credentials).
SAMPLE_ST_CONNECTION_ID = "con_0000stazugasample"
SAMPLE_ST_SECRET = "sample-servicetrade-azuga-secret"
SAMPLE_ST_CREDENTIALS = {
    "servicetrade_username": "sandbox-st-user",
    "servicetrade_password": "sandbox-st-pass",
    "azuga_api_key": "sandbox-azuga-key",
    "servicetrade_azuga_webhook_secret": SAMPLE_ST_SECRET,
}
SAMPLE_ALERT = {
    "eventType": "ENTERED_GEOFENCE",
    "vehicleId": "v1",
    "userId": "d1",
    "fenceName": "Acme HQ | J-1001 | 501",
    "fenceId": "1",
    "location": {"latitude": 40.0, "longitude": -75.0},
    "locationTime": 1795435200000,
}


def _delivery() -> bytes:
    change = {
        "action": "updated",
        "timestamp": 1795435200,
        "userId": 1,
        "entity": {
            "type": "appointment",
            "id": 501,
            "uri": "https://api.servicetrade.com/api/appointment/501",
        },
        "changeset": {"status": "scheduled"},
    }
    return json.dumps(
        {"messageId": "sample-st-1", "timestamp": 1795435200, "data": [change]}
    ).encode()


def _alerts() -> bytes:
    return json.dumps([SAMPLE_ALERT]).encode()


def servicetrade_azuga_samples(
    sample: Any, invalid_schedule: Any, schedule_error: Any
) -> list[Any]:
    """The samples (`sample` builds one: `Sample(function, case, event, expect)`)."""
    work = {
        "flow": "servicetrade-azuga",
        "connection_id": SAMPLE_ST_CONNECTION_ID,
        "kind": "webhook",
        "event_id": "azuga:sample",
        "event": "ENTERED_GEOFENCE",
        "payload": {"vendor": "azuga", "entity": "azuga alert", "alerts": [SAMPLE_ALERT]},
        "received_at": "2026-11-23T12:00:00.000Z",
    }
    queue = "ServiceTradeAzugaQueue"
    cid = SAMPLE_ST_CONNECTION_ID
    return [
        sample(
            "servicetrade_webhook",
            "appointment_updated",
            servicetrade_hook_event(cid, _delivery(), SAMPLE_ST_SECRET),
            202,
        ),
        sample(
            "servicetrade_webhook",
            "invalid_secret",
            servicetrade_hook_event(cid, _delivery(), "not-the-secret"),
            401,
        ),
        sample(
            "azuga_webhook",
            "entered_geofence",
            azuga_hook_event(cid, _alerts(), SAMPLE_ST_SECRET),
            202,
        ),
        sample("azuga_webhook", "invalid_secret", azuga_hook_event(cid, _alerts(), None), 401),
        sample(
            "servicetrade_azuga_worker",
            "entered_geofence",
            sqs_event([work], queue=queue),
            {"batchItemFailures": []},
        ),
        sample(
            "servicetrade_azuga_worker",
            "invalid_message",
            sqs_event([{"not": "a work message"}], queue=queue),
            {"batchItemFailures": [{"itemIdentifier": "sample-message-0"}]},
        ),
        sample(
            "servicetrade_azuga_poll",
            "poll",
            schedule_event("servicetrade-azuga-poll"),
            {"queued": 1, "not_due": 0},
        ),
        sample(
            "servicetrade_azuga_poll", "invalid_not_a_schedule", invalid_schedule, schedule_error
        ),
        sample(
            "servicetrade_azuga_daily",
            "daily",
            schedule_event("servicetrade-azuga-daily"),
            {"queued": 1},
        ),
        sample(
            "servicetrade_azuga_daily", "invalid_not_a_schedule", invalid_schedule, schedule_error
        ),
    ]
