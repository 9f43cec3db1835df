"""Issue 12 item 5: no silence. GPS Insight → Driveri emails its dead letters; an empty
recipients list (`admin_emails`; `notify_recipients` is its deprecated alias) is a warning on the connection (its answer
and `/test`) and every email it swallows is a `skipped` activity (`no_recipients`), Prompt
reminders included. Emails are read from SES (moto)."""

# ruff: noqa: F811 (the harness fixtures are imported, then named as parameters)
from __future__ import annotations

import json
from typing import Any

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
from tests.integration.test_gpsinsight_driveri_flow import QUEUE as GPS_QUEUE
from tests.integration.test_gpsinsight_driveri_flow import Harness as GpsHarness
from tests.integration.test_gpsinsight_driveri_flow import harness as gps  # noqa: F401
from tests.integration.test_gpsinsight_driveri_flow import portal_driver
from tests.integration.test_striven_onfleet_flow import CREDENTIALS as STRIVEN_CREDENTIALS
from tests.integration.test_striven_onfleet_flow import SETTINGS as STRIVEN_SETTINGS
from tests.support.events import sqs_event
from tests.support.lambdas import invoke


def emails(subject_part: str = "") -> list[Any]:
    from moto.ses.models import ses_backends

    sent = ses_backends["123456789012"]["us-east-1"].sent_messages
    return [m for m in sent if subject_part in m.subject]


def test_gpsinsight_driveri_dead_letters_are_emailed_to_the_admins(
    gps: GpsHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEETBRIDGE_HTTP_MAX_RETRIES", "0")
    from fleetbridge.core.config import get_settings

    get_settings.cache_clear()
    status, body = gps.api(
        "PATCH",
        f"/connections/{gps.connection_id}",
        {"settings": {"admin_emails": ["fleet@example.com"]}},
    )
    assert status == 200, body
    assert body["warnings"] == []
    gps.seed_portal(portal_driver(1))
    gps.opt_in()
    gps.sandbox.post("/_sandbox/driveri/faults", json={"status_5xx": 1.0}).raise_for_status()
    message = {
        "flow": "gpsinsight-driveri",
        "connection_id": gps.connection_id,
        "kind": "webhook",
        "event_id": "push:2:driver_created:x",
        "event": "driver_created",
        "payload": {
            "entity": "driver 2",
            "portal_driver_id": "2",
            "portal_record": {"driver_id": 2, **portal_driver(2)},
        },
    }
    answer = invoke(
        "gpsinsight_driveri_worker", sqs_event([message], queue=GPS_QUEUE, receive_count=5)
    )
    assert len(answer["batchItemFailures"]) == 1  # the last attempt: SQS moves it to the DLQ
    gps.sandbox.post("/_sandbox/driveri/faults", json={}).raise_for_status()
    [told] = emails("driver 2 failed")
    assert told.destinations["ToAddresses"] == ["fleet@example.com"]
    assert "dead-letters/replay" in told.body


def test_gpsinsight_driveri_without_admins_warns_on_the_connection(gps: GpsHarness) -> None:
    status, shown = gps.api("GET", f"/connections/{gps.connection_id}")
    assert status == 200
    assert any("settings.admin_emails is empty" in w for w in shown["warnings"])
    status, tested = gps.api("POST", f"/connections/{gps.connection_id}/test")
    assert status == 200 and tested["ok"] is True
    assert any("settings.admin_emails is empty" in w for w in tested["warnings"])


def test_fleetio_keycafe_prompt_reminder_with_no_admins_is_a_warning_not_silence(
    flow: FleetioHarness,
) -> None:
    status, body = flow.api(
        "PATCH", f"/connections/{flow.connection_id}", {"settings": {"admin_emails": []}}
    )
    assert status == 200, body
    assert any("settings.admin_emails is empty" in w for w in body["warnings"])
    status, linked = flow.api(
        "PUT",
        f"/connections/{flow.connection_id}/vehicles/2/link",
        {"key_id": 200, "notification": "prompt"},
    )
    assert status == 200, linked
    flow.assign(vehicle_id=2)
    flow.sync()
    assert emails("Create key access") == []
    swallowed = [
        a for a in flow.activity() if a["reason"].startswith("no_recipients: keycafe_prompt")
    ]
    assert len(swallowed) == 1 and swallowed[0]["action"] == "skipped"
    status, tested = flow.api("POST", f"/connections/{flow.connection_id}/test")
    assert status == 200 and tested["ok"] is True
    assert any("admin_emails" in w for w in tested["warnings"])


def test_striven_onfleet_empty_notify_recipients_warns(api: Api, sandbox: Any) -> None:
    status, body = api(
        "POST",
        "/connections",
        {
            "flow": "striven-onfleet",
            "name": "Dispatch",
            "credentials": STRIVEN_CREDENTIALS,
            "settings": {**STRIVEN_SETTINGS, "notify_recipients": []},
        },
    )
    assert status == 201, body
    # one name in every flow (issue 13): `notify_recipients` is its deprecated alias on input
    assert any("settings.admin_emails is empty" in w for w in body["warnings"])
    status, body = api(
        "PATCH",
        f"/connections/{body['id']}",
        {"settings": {"notify_recipients": ["dispatch@example.com"]}},
    )
    assert status == 200 and body["warnings"] == [] and body["status"] == "ok"
    assert json.dumps(body).count("sandbox-onfleet-key") == 0  # still masked
