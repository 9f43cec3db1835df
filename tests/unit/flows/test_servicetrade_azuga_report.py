"""The activity report's rows (each reason code in its cell) and its renderers; the map page."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fleetbridge.flows.servicetrade_azuga.map_page import Spot, Van, render_map
from fleetbridge.flows.servicetrade_azuga.pairing import Pairing
from fleetbridge.flows.servicetrade_azuga.report_render import (
    render_csv,
    render_html,
    render_json,
)
from fleetbridge.flows.servicetrade_azuga.report_rows import (
    COLUMNS,
    Facts,
    ReportRow,
    build_row,
    en_route_event,
    quick_link,
)
from fleetbridge.vendors.servicetrade_models import Appointment, ClockEvent

START = datetime(2026, 12, 3, 14, tzinfo=UTC)
PAIRED = Pairing("paired", driver_id="d1", vehicle_id="v1")


def appointment(**changes: Any) -> Appointment:
    data: dict[str, Any] = {
        "id": 501,
        "status": "scheduled",
        "windowStart": int(START.timestamp()),
        "windowEnd": int((START + timedelta(hours=2)).timestamp()),
        "job": {"id": 77, "number": "J-1001"},
        "location": {"id": 5, "name": "Acme HQ", "lat": 40.0, "lon": -75.0},
        "techs": [{"id": 11, "name": "Tina Tech", "email": "tina@example.com"}],
    }
    return Appointment.model_validate({**data, **changes})


def row(
    appt: Appointment | None = None,
    *,
    record: dict[str, Any] | None = None,
    fence_id: str | None = "g1",
    pairing: Pairing | str | None = PAIRED,
    en_route: ClockEvent | str | None = None,
    now: datetime = START + timedelta(hours=1),
) -> ReportRow:
    appt = appt or appointment()
    return build_row(
        Facts(
            appointment=appt,
            tech=appt.techs[0] if appt.techs else None,
            link=quick_link("https://api.servicetrade.com/api", appt.id),
            record=record if record is not None else {"fence_reason": "scheduled"},
            fence_id=fence_id,
            pairing=pairing,
            en_route=en_route,
            now=now,
            arrival_window=timedelta(hours=8),
            radius_m=150,
        )
    )


def clock(**changes: Any) -> ClockEvent:
    data = {"id": 1, "userId": 11, "jobId": 77, "activity": "enroute"}
    return ClockEvent.model_validate({**data, **changes})


def test_quick_link_is_the_app_host_of_the_api_base() -> None:
    assert quick_link("https://api.servicetrade.com/api", 5) == (
        "https://app.servicetrade.com/appointment/5"
    )
    assert quick_link("http://127.0.0.1:4010/servicetrade/api/", 5) == (
        "http://127.0.0.1:4010/servicetrade/appointment/5"
    )


def test_an_arrival_fills_every_cell() -> None:
    arrived = START + timedelta(minutes=5)
    event = clock(clockIn=int(START.timestamp()) - 1800, clockOut=int(arrived.timestamp()))
    done = row(
        record={"fence_reason": "scheduled", "arrived_11": arrived.isoformat()}, en_route=event
    )
    assert done.reasons == []
    cells = done.cells
    assert cells["Appointment ID"] == "501" and cells["Appointment Job ID"] == "77"
    assert cells["Quick Link"] == "https://app.servicetrade.com/appointment/501"
    assert cells["Tech Found in Azuga"] == "yes (vehicle v1)"
    assert cells["Fence Created"] == "yes"
    assert cells["Fence Result"] == f"arrived {arrived.isoformat()}"
    assert cells["Enroute Clock-Out"] == arrived.isoformat()
    assert cells["Enroute Clock-In"] == (START - timedelta(minutes=30)).isoformat()


@pytest.mark.parametrize(
    ("case", "kwargs", "reason", "column"),
    [
        (
            "not scheduled",
            {"appt": appointment(status="canceled_by_customer"), "fence_id": None},
            "not_scheduled",
            "Fence Created",
        ),
        (
            "no job",
            {"appt": appointment(job=None), "fence_id": None, "record": {}},
            "no_job_number",
            "Fence Created",
        ),
        ("not paired", {"pairing": Pairing("tech_not_paired", "d1")}, "tech_not_paired", None),
        (
            "not in Azuga",
            {"pairing": Pairing("tech_email_not_in_azuga")},
            "tech_email_not_in_azuga",
            "Tech Found in Azuga",
        ),
        (
            "did not arrive",
            {"now": START + timedelta(hours=9)},
            "vehicle_did_not_arrive",
            "Fence Result",
        ),
        (
            "outside the window",
            {"record": {"outside_11": (START + timedelta(hours=9)).isoformat()}},
            "arrived_outside_window",
            "Enroute Clock-Out",
        ),
        (
            "vendor error",
            {"pairing": "azuga answered 503: down"},
            "vendor_api_error: azuga answered 503: down",
            "Tech Found in Azuga",
        ),
    ],
)
def test_every_failure_says_why(
    case: str, kwargs: dict[str, Any], reason: str, column: str | None
) -> None:
    failed = row(**kwargs)
    assert reason in failed.reasons, case
    if column:
        assert f"no: {reason}" in failed.cells[column], (case, failed.cells)


def test_a_pending_arrival_is_no_failure() -> None:
    waiting = row()
    assert waiting.reasons == [] and waiting.cells["Fence Result"] == "waiting"


def test_an_appointment_without_techs_has_one_row_with_empty_tech_cells() -> None:
    alone = row(appointment(techs=[]))
    assert alone.cells["Tech Name"] == "" and alone.cells["Tech Found in Azuga"] == ""


def test_the_en_route_event_is_the_one_naming_the_appointment_else_the_nearest() -> None:
    appt = appointment()
    near = clock(id=2, clockIn=int(START.timestamp()) - 600)
    far = clock(id=3, clockIn=int(START.timestamp()) - 86400)
    named = clock(id=4, appointmentId=501, clockIn=int(START.timestamp()) - 86400 * 2)
    assert en_route_event([far, near], 11, appt) == near
    assert en_route_event([far, near, named], 11, appt) == named
    assert en_route_event([near], 12, appt) is None


def test_csv_has_exactly_the_columns_and_one_line_per_row() -> None:
    rows = [row(), row(pairing=Pairing("tech_email_not_in_azuga"))]
    parsed = list(csv.reader(io.StringIO("".join(render_csv(rows)))))
    assert (
        tuple(parsed[0])
        == COLUMNS
        == (
            "Appointment ID",
            "Appointment Job ID",
            "Quick Link",
            "Appointment Status",
            "Tech Name",
            "Email",
            "Tech Found in Azuga",
            "Fence Created",
            "Fence Result",
            "Enroute Clock-Out",
            "Enroute Clock-In",
        )
    )
    assert len(parsed) == 3
    assert parsed[2][COLUMNS.index("Tech Found in Azuga")] == "no: tech_email_not_in_azuga"


def test_json_streams_rows_with_their_reasons() -> None:
    parts = list(render_json(iter([row(), row(now=START + timedelta(days=1))]), {"date": "d"}))
    assert len(parts) == 4  # head, two rows, tail: never the whole report at once
    body = json.loads("".join(parts))
    assert body["columns"] == list(COLUMNS) and body["date"] == "d"
    assert [r["Reasons"] for r in body["rows"]] == [[], ["vehicle_did_not_arrive"]]


def test_html_escapes_every_value() -> None:
    evil = appointment(techs=[{"id": 11, "name": "<script>x</script>", "email": "a@b.c"}])
    page = "".join(render_html([row(evil)], "Report <1>"))
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "Report &lt;1&gt;" in page and page.count("<tr>") == 2


def test_the_map_draws_fences_vehicles_legend_and_table_escaped() -> None:
    spots = [
        Spot("501", "scheduled", "Tina <Tech>", 40.0, -75.0, 150.0, "Acme HQ"),
        Spot("502", "completed", "Sam", 40.01, -75.02, 300.0),
    ]
    page = render_map("Map", spots, [Van("v1", "Van 1", 40.005, -75.01)])
    assert page.count("class='appointment'") == 2 and page.count("class='vehicle'") == 1
    assert "Tina &lt;Tech&gt; (#501)" in page and "<Tech>" not in page
    assert "class='legend'" in page and "class='appointments'" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing fetched
    assert "<script" not in page
