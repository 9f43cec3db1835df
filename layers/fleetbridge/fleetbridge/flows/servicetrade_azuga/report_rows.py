"""Rule 6, the activity report's rows. Pure: what ServiceTrade says of an appointment, what the
flow recorded about it (its `APPOINTMENT` mapping) and the tech's Azuga pairing in, one row out.

One row per appointment and tech (an appointment with two techs has two rows, one without techs
one row with the tech cells empty): the tech columns and the clock columns are per tech.
A failed step says why in its own cell (`no: <reason code>`); `reasons` lists every code of the
row, the flow's own codes (`fence_rules`, `pairing`, `clock_rules`) plus `vehicle_did_not_arrive`
and `vendor_api_error: <message>` (a vendor call of the report itself failed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from fleetbridge.flows.servicetrade_azuga.clock_rules import ARRIVED_OUTSIDE_WINDOW
from fleetbridge.flows.servicetrade_azuga.fence_rules import wanted_fence, window_closes
from fleetbridge.flows.servicetrade_azuga.pairing import NOT_PAIRED, Pairing
from fleetbridge.vendors.servicetrade_models import Appointment, ClockEvent, Tech

COLUMNS = (
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
#: Reasons the flow's records do not name (the others are the flow's own codes).
DID_NOT_ARRIVE = "vehicle_did_not_arrive"
VENDOR_API_ERROR = "vendor_api_error"
FENCE_PENDING = "fence_pending"
#: The mapping key the arrival hook (`note_outside_window`) writes per tech.
OUTSIDE_KEY = "outside_{tech}"
ARRIVED_KEY = "arrived_{tech}"


def quick_link(servicetrade_base: str, appointment_id: int | str) -> str:
    """The appointment in ServiceTrade's web app, derived from the API's base URL: the API host
    `api.<domain>` becomes the app host `app.<domain>` and the `/api` path is dropped, so
    `https://api.servicetrade.com/api` → `https://app.servicetrade.com/appointment/{id}`."""
    parts = urlsplit(servicetrade_base)
    host = parts.netloc
    if host.startswith("api."):
        host = "app." + host[4:]
    path = parts.path.rstrip("/")
    path = path[:-4] if path.endswith("/api") else path
    return f"{parts.scheme}://{host}{path}/appointment/{appointment_id}"


@dataclass(frozen=True)
class Facts:
    """Everything one row is built from."""

    appointment: Appointment
    tech: Tech | None
    link: str
    #: the appointment's mapping: its data and its fence id (None: the flow never saw it)
    record: dict[str, Any] | None
    fence_id: str | None
    #: the tech's pairing, or the message of the vendor error that prevented reading it
    pairing: Pairing | str | None
    #: the tech's En Route clock event on the job, or the vendor error's message
    en_route: ClockEvent | str | None
    now: datetime
    arrival_window: timedelta
    radius_m: int


@dataclass
class ReportRow:
    """One row: the cells by column, and every reason code of the row."""

    cells: dict[str, str]
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The row as JSON-able data (`reasons` after the columns)."""
        return {**self.cells, "Reasons": list(self.reasons)}


def _no(reasons: list[str], reason: str) -> str:
    if reason not in reasons:
        reasons.append(reason)
    return f"no: {reason}"


def _stamp(value: datetime | str | None) -> str:
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.isoformat(timespec="seconds")


def build_row(facts: Facts) -> ReportRow:
    """The row of one appointment and tech (see the module docstring for each cell)."""
    a, tech, record = facts.appointment, facts.tech, facts.record or {}
    reasons: list[str] = []
    cells = dict.fromkeys(COLUMNS, "")
    cells.update(
        {
            "Appointment ID": str(a.id),
            "Appointment Job ID": str(a.job.id) if a.job else "",
            "Quick Link": facts.link,
            "Appointment Status": a.status,
            "Tech Name": (tech.name or "") if tech else "",
            "Email": (tech.email or "") if tech else "",
        }
    )
    wanted = wanted_fence(a, facts.radius_m)
    if facts.fence_id:
        cells["Fence Created"] = "yes"
        if isinstance(wanted, str):
            _no(reasons, wanted)  # e.g. canceled since: the fence was archived
    elif isinstance(wanted, str):
        cells["Fence Created"] = _no(reasons, wanted)
    else:
        cells["Fence Created"] = _no(reasons, str(record.get("fence_reason") or FENCE_PENDING))
    if tech is None:
        return ReportRow(cells, reasons)
    paired = _pairing_cell(cells, reasons, facts.pairing)
    _en_route_cell(cells, reasons, facts.en_route)
    if facts.fence_id and paired:
        _arrival_cells(cells, reasons, facts, record, tech.id)
    return ReportRow(cells, reasons)


def _pairing_cell(cells: dict[str, str], reasons: list[str], pairing: Pairing | str | None) -> bool:
    """Tech Found in Azuga; whether the tech has a vehicle."""
    if isinstance(pairing, str):
        cells["Tech Found in Azuga"] = _no(reasons, f"{VENDOR_API_ERROR}: {pairing}")
        return False
    if pairing is None:
        return False
    if pairing.paired:
        cells["Tech Found in Azuga"] = f"yes (vehicle {pairing.vehicle_id})"
        return True
    if pairing.reason == NOT_PAIRED:
        cells["Tech Found in Azuga"] = "yes, " + _no(reasons, NOT_PAIRED)
    else:
        cells["Tech Found in Azuga"] = _no(reasons, pairing.reason)
    return False


def _en_route_cell(
    cells: dict[str, str], reasons: list[str], event: ClockEvent | str | None
) -> None:
    """Enroute Clock-In (the tech's, from ServiceTrade) and its clock-out when there is one."""
    if isinstance(event, str):
        cells["Enroute Clock-In"] = _no(reasons, f"{VENDOR_API_ERROR}: {event}")
    elif event is not None:
        cells["Enroute Clock-In"] = _stamp(event.clock_in)
        cells["Enroute Clock-Out"] = _stamp(event.clock_out)


def _arrival_cells(
    cells: dict[str, str],
    reasons: list[str],
    facts: Facts,
    record: dict[str, Any],
    tech_id: int,
) -> None:
    """Fence Result (arrived, outside the window, did not arrive, waiting)."""
    arrived = record.get(ARRIVED_KEY.format(tech=tech_id))
    outside = record.get(OUTSIDE_KEY.format(tech=tech_id))
    a = facts.appointment
    if arrived:
        cells["Fence Result"] = f"arrived {_stamp(arrived)}"
        cells["Enroute Clock-Out"] = cells["Enroute Clock-Out"] or _stamp(arrived)
        return
    if outside:
        failed = _no(reasons, ARRIVED_OUTSIDE_WINDOW)
        cells["Fence Result"] = f"{failed} ({_stamp(outside)})"
    elif a.window_start and facts.now > window_closes(
        a.window_start, a.window_end, facts.arrival_window
    ):
        failed = _no(reasons, DID_NOT_ARRIVE)
        cells["Fence Result"] = failed
    else:
        cells["Fence Result"] = "waiting"
        return
    if not cells["Enroute Clock-Out"]:
        cells["Enroute Clock-Out"] = failed


def en_route_event(
    events: list[ClockEvent], tech_id: int, appointment: Appointment
) -> ClockEvent | None:
    """The tech's En Route event for the appointment: the one naming it, else the one whose
    clock-in is nearest the window start."""
    mine = [e for e in events if e.user_id == tech_id and e.activity == "enroute"]
    named = [e for e in mine if e.appointment_id == appointment.id]
    if named or not appointment.window_start:
        return next(iter(named or mine), None)
    start = appointment.window_start
    return min(
        (e for e in mine if e.appointment_id is None and e.clock_in),
        key=lambda e: abs(e.clock_in - start) if e.clock_in else timedelta.max,
        default=None,
    )
