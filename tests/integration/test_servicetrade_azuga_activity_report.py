"""Rule 6, the activity report, checked against what the sandboxes saw: one appointment per
reason code, the flow driven through webhooks and vehicle positions, then each report row
compared with Azuga's fences and ServiceTrade's clock events. Also the daily email, the CSV and
HTML forms, a date the API refuses, and a vendor error named in the rows."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, date, datetime
from typing import Any

import pytest

from fleetbridge.flows.servicetrade_azuga.report_rows import COLUMNS
from tests.integration import test_servicetrade_azuga_flow as flow_test
from tests.integration.conftest import Api
from tests.integration.test_servicetrade_azuga_flow import APPOINTMENT, FENCE, JOB, TECH, Harness
from tests.support.events import schedule_event
from tests.support.lambdas import invoke

NICK = 13  # in Azuga, but driving no vehicle
HOUR = 3600
CLOSING = 30  # seconds until appointment 506's arrival window closes
h = flow_test.h  # the flow test's fixture: its connection, webhooks and world


def day_of(stamp: int) -> date:
    return datetime.fromtimestamp(stamp, UTC).date()


def seed_day(h: Harness, now: int) -> dict[int, int]:
    """One appointment per reason code (501: the world's, the one that goes well)."""
    # 506's arrival window (start + 8 h) closes CLOSING s from now: fenced now, missed then
    soon, past, late = now + HOUR, now - 8 * HOUR + CLOSING, now + 10 * HOUR
    starts = {501: soon, 502: soon, 503: soon, 504: soon, 505: soon, 506: past, 507: late}
    h.seed(
        "servicetrade",
        {
            "users": [{"id": NICK, "firstName": "Nick", "email": "nick@example.com"}],
            "locations": [{"id": 7, "name": "Acme Depot", "lat": 42.0, "lon": -75.0}],
            "jobs": [{"id": 79, "number": "J-1003", "location": 7}],
            "appointments": [
                {"id": 502, "status": "scheduled", "job": None, "location": 6},
                {"id": 503, "status": "canceled_by_customer", "job": JOB, "location": 5},
                {"id": 504, "status": "scheduled", "job": 78, "location": 6, "techs": [12]},
                {"id": 505, "status": "scheduled", "job": 78, "location": 6, "techs": [NICK]},
                {"id": 506, "status": "scheduled", "job": 78, "location": 6, "techs": [TECH]},
                {"id": 507, "status": "scheduled", "job": 79, "location": 7, "techs": [TECH]},
            ],
        },
    )
    h.seed("azuga", {"users": [{"id": "d2", "email": "nick@example.com"}]})
    windows = [
        {"id": key, "windowStart": start, "windowEnd": start + (60 if key == 506 else HOUR)}
        for key, start in starts.items()
        if key != APPOINTMENT
    ]
    h.seed("servicetrade", {"appointments": windows})
    return starts


def report(h: Harness, day: date, fmt: str = "json") -> tuple[int, Any]:
    return h.api(
        "GET",
        f"/connections/{h.connection_id}/reports/activity",
        query={"date": day.isoformat(), "format": fmt},
    )


def rows_by_appointment(h: Harness, days: set[date]) -> dict[int, dict[str, Any]]:
    found = {}
    for day in days:
        status, body = report(h, day)
        assert status == 200, body
        assert body["columns"] == list(COLUMNS)
        found.update({int(row["Appointment ID"]): row for row in body["rows"]})
    return found


def stamp(value: int | None) -> str:
    return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds") if value else ""


def test_the_report_rows_match_what_the_sandboxes_saw(h: Harness) -> None:
    now = int(time.time())
    starts = seed_day(h, now)
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
                    "clockIn": now - 600,
                }
            ]
        },
    )
    h.sync()
    h.move(40.0, -75.0)  # into 501's fence, within ±8 h: arrived
    h.sync()
    h.move(42.0, -75.0)  # into 507's fence, 10 h early: outside the window
    h.sync()

    time.sleep(max(0.0, now + CLOSING + 1.5 - time.time()))  # 506's window closes
    rows = rows_by_appointment(h, {day_of(s) for s in starts.values()})
    assert set(rows) == set(starts)
    fences = {g["name"].rsplit(" | ", 1)[-1] for g in h.state("azuga")["geomarks"]}
    clocks = h.state("servicetrade")["clock_events"]

    # 501: a fence in Azuga, En Route closed and On Site opened in ServiceTrade, as reported
    good = rows[APPOINTMENT]
    assert good["Reasons"] == [] and "501" in fences and FENCE.endswith("501")
    assert good["Quick Link"].endswith("/servicetrade/appointment/501")
    assert good["Tech Found in Azuga"] == "yes (vehicle v1)"
    assert good["Fence Created"] == "yes" and good["Fence Result"].startswith("arrived ")
    [en_route] = [e for e in clocks if e["jobId"] == JOB and e["activity"] == "enroute"]
    assert good["Enroute Clock-In"] == stamp(en_route["clockIn"])
    assert good["Enroute Clock-Out"] == stamp(en_route["clockOut"]) != ""
    assert any(e["jobId"] == JOB and e["activity"] == "onsite" for e in clocks)

    # the failures: each says why, and the sandboxes confirm nothing was done
    assert rows[502]["Reasons"] == ["no_job_number"] and "502" not in fences
    assert rows[502]["Fence Created"] == "no: no_job_number"
    assert rows[503]["Reasons"] == ["not_scheduled"] and "503" not in fences
    assert rows[504]["Tech Found in Azuga"] == "no: tech_email_not_in_azuga"
    assert rows[505]["Reasons"] == ["tech_not_paired"]
    assert rows[506]["Reasons"] == ["vehicle_did_not_arrive"]
    assert rows[506]["Fence Created"] == "yes"  # our record keeps it (rule 7 removes it)
    assert rows[507]["Reasons"] == ["arrived_outside_window"] and "507" in fences
    assert not [e for e in clocks if e["jobId"] in (78, 79)]  # no clock change for either


def test_csv_html_a_bad_date_and_another_tenant(h: Harness, other_api: Api) -> None:
    h.sync()
    day = day_of(int(time.time()) + HOUR)
    status, body = report(h, day, "csv")
    assert status == 200
    lines = list(csv.reader(io.StringIO(body)))
    assert tuple(lines[0]) == COLUMNS and [line[0] for line in lines[1:]] == ["501"]
    status, page = report(h, day, "html")
    assert status == 200 and "<table class='activity-report'>" in page and "J-1001" not in page
    status, error = h.api(
        "GET", f"/connections/{h.connection_id}/reports/activity", query={"date": "2026-13-01"}
    )
    assert status == 422 and error["error"]["field"] == "date", error
    status, error = h.api("GET", f"/connections/{h.connection_id}/map", query={"date": "x"})
    assert status == 422 and error["error"]["field"] == "date", error
    for path in ("reports/activity", "map"):
        status, _ = other_api(
            "GET", f"/connections/{h.connection_id}/{path}", query={"date": day.isoformat()}
        )
        assert status == 404


def test_an_azuga_error_is_named_in_the_rows(h: Harness) -> None:
    from fleetbridge.core.mappings import ConnectionState, MappingRepository
    from fleetbridge.flows.servicetrade_azuga import STATE, STATE_ID

    h.sync()
    ConnectionState(MappingRepository(h.connection_id), STATE, STATE_ID).update(azuga_lists=None)
    faults = {"status_5xx": 1.0, "methods": ["GET"]}
    assert h.sandbox.post("/_sandbox/azuga/faults", json=faults).status_code == 200
    try:
        status, body = report(h, day_of(int(time.time()) + HOUR))
    finally:
        h.sandbox.post("/_sandbox/azuga/faults", json={})
    assert status == 200, body
    [row] = body["rows"]
    assert row["Reasons"][0].startswith("vendor_api_error: ")
    assert row["Tech Found in Azuga"].startswith("no: vendor_api_error: ")


def test_a_map_asked_within_azugas_minute_is_served_at_once_without_the_vehicles(
    h: Harness,
) -> None:
    """Azuga's vehicles endpoint allows one call a minute: a map asked again within it is not
    held past the request's time (the API's timeout would cut it off); it names the reason."""
    from tests.support.events import http_event
    from tests.support.lambdas import FakeContext, load_handler

    class Short(FakeContext):
        def get_remaining_time_in_millis(self) -> int:
            return 400  # less than Azuga's minute (1 s in the sandbox) leaves

    h.sync()
    query = {"date": day_of(int(time.time()) + HOUR).isoformat()}
    status, page = h.api("GET", f"/connections/{h.connection_id}/map", query=query)
    assert status == 200 and "Vehicles unavailable" not in page
    before = [r for r in h.requests("azuga") if r["path"].endswith("/trackees")]
    event = http_event(
        "GET",
        f"/connections/{h.connection_id}/map",
        headers={"Authorization": f"Bearer {h.api.api_key}"},
        query=query,
    )
    answer = load_handler("api").lambda_handler(event, Short())
    assert answer["statusCode"] == 200, answer
    assert "Vehicles unavailable" in answer["body"] and "rate limit" in answer["body"]
    after = [r for r in h.requests("azuga") if r["path"].endswith("/trackees")]
    assert after == before  # not asked: no 429 either


@pytest.mark.usefixtures("aws")
def test_the_daily_run_emails_yesterdays_report_once(h: Harness) -> None:
    from moto.ses.models import ses_backends

    from fleetbridge.core.connections import ConnectionRepository
    from fleetbridge.flows.servicetrade_azuga.report_email import send_daily_report

    sent = ses_backends["123456789012"]["us-east-1"].sent_messages
    for _ in range(2):  # the second daily run sends nothing more
        assert invoke("servicetrade_azuga_daily", schedule_event("daily")) == {"queued": 1}
        h.work()
    daily = [m for m in sent if "activity on" in m.subject]
    assert len(daily) == 1 and daily[0].destinations["ToAddresses"] == ["ops@example.com"]

    h.sync()
    connection = ConnectionRepository().get(h.connection_id)
    assert send_daily_report(connection, day_of(int(time.time()) + HOUR))
    [email] = [m for m in sent if "activity on" in m.subject][1:]
    assert ",".join(COLUMNS) in email.body and "J-1001" not in email.body
    assert "\n501," in email.body
