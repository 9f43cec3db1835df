"""Rules 2 and 7: one Azuga geofence per scheduled appointment with a job, and its removal from
Azuga once the appointment's window has closed (our record keeps it). Pure: data in, decision
with a reason code out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from fleetbridge.core.models import fingerprint
from fleetbridge.vendors.servicetrade_models import Appointment

CANCELED = frozenset({"canceled_by_vendor", "canceled_by_customer"})
SCHEDULED = "scheduled"

FenceAction = Literal["create", "keep", "update", "replace", "archive", "skip"]
#: Reasons.
NOT_SCHEDULED = "not_scheduled"
NO_JOB_NUMBER = "no_job_number"
NO_COORDINATES = "no_location_coordinates"
CANCELED_REASON = "canceled"
DELETED = "appointment_deleted"
NEW = "scheduled"
UNCHANGED = "unchanged"
RESCHEDULED = "rescheduled"
LOCATION_CHANGED = "location_changed"
WINDOW_CLOSED = "window_closed"


def fence_name(location_name: str | None, job_number: str, appointment_id: int | str) -> str:
    """Exactly `{locationName} | {jobNumber} | {appointmentId}` (an unnamed location: empty)."""
    return f"{location_name or ''} | {job_number} | {appointment_id}"


@dataclass(frozen=True)
class Fence:
    """The fence an appointment should have: where, how wide, and its time window."""

    name: str
    latitude: float
    longitude: float
    radius_m: int
    window_start: datetime
    window_end: datetime | None
    address: str | None = None

    def place(self) -> tuple[str, float, float, int]:
        """What Azuga holds (a change of it means a new fence)."""
        return (self.name, self.latitude, self.longitude, self.radius_m)


@dataclass(frozen=True)
class Stored:
    """What our record says about an appointment's fence."""

    fence_id: str | None
    place: tuple[str, float, float, int] | None
    window_start: datetime | None
    archived: bool = False


@dataclass(frozen=True)
class FenceDecision:
    """`action` on the appointment's fence and why; `fence` is the wanted one (create/update)."""

    action: FenceAction
    reason: str
    fence: Fence | None = None


def wanted_fence(appointment: Appointment, radius_m: int) -> Fence | str:
    """The fence the appointment should have, or the reason it has none."""
    if appointment.status != SCHEDULED or appointment.window_start is None:
        return NOT_SCHEDULED
    job = appointment.job
    if job is None or not job.number:
        return NO_JOB_NUMBER
    location = appointment.location
    if location is None or location.lat is None or location.lon is None:
        return NO_COORDINATES
    address = location.address
    text = (
        ", ".join(
            p for p in (address.street, address.city, address.state, address.postal_code) if p
        )
        if address
        else ""
    )
    return Fence(
        name=fence_name(location.name, job.number, appointment.id),
        latitude=location.lat,
        longitude=location.lon,
        radius_m=radius_m,
        window_start=appointment.window_start,
        window_end=appointment.window_end,
        address=text or None,
    )


def decide_fence(
    appointment: Appointment | None,
    stored: Stored | None,
    radius_m: int,
    *,
    now: datetime | None = None,
    arrival_window: timedelta = timedelta(0),
) -> FenceDecision:
    """What to do with one appointment's fence (None: the appointment was deleted).

    Canceled or deleted → archive (delete in Azuga, keep our record); not scheduled / no job →
    skip with the reason (a fence it had is archived with that reason); new → create; moved or renamed or resized → replace (Azuga has no
    fence update: delete + create); only the time moved → update our record (`rescheduled`).
    """
    live = stored is not None and stored.fence_id is not None and not stored.archived
    if appointment is None or appointment.status in CANCELED:
        reason = DELETED if appointment is None else CANCELED_REASON
        return FenceDecision("archive" if live else "skip", reason)
    wanted = wanted_fence(appointment, radius_m)
    if isinstance(wanted, str):  # no fence wanted any more: a live one goes (record kept)
        return FenceDecision("archive" if live else "skip", wanted)
    if now is not None and now > window_closes(
        wanted.window_start, wanted.window_end, arrival_window
    ):
        return FenceDecision("archive" if live else "skip", WINDOW_CLOSED)
    if not live or stored is None:
        return FenceDecision("create", NEW, wanted)
    if stored.place != wanted.place():
        return FenceDecision("replace", LOCATION_CHANGED, wanted)
    if stored.window_start != wanted.window_start:
        return FenceDecision("update", RESCHEDULED, wanted)
    return FenceDecision("keep", UNCHANGED, wanted)


def appointment_fingerprint(appointment: Appointment, radius_m: int) -> str:
    """What the flow reads of an appointment: equal → nothing to do, no vendor call."""
    return fingerprint(
        {
            "appointment": appointment.model_dump(mode="json", exclude={"updated", "released"}),
            "radius": radius_m,
        }
    )


def window_closes(
    window_start: datetime, window_end: datetime | None, arrival_window: timedelta
) -> datetime:
    """When the fence is no longer needed: the end of the window or of the arrival window after
    its start, whichever is later (an arrival may still count until then)."""
    late = window_start + arrival_window
    return max(window_end, late) if window_end else late


@dataclass(frozen=True)
class Live:
    """A fence still in Azuga, from our records."""

    appointment_id: str
    fence_id: str
    window_start: datetime
    window_end: datetime | None


def fences_to_remove(
    fences: Iterable[Live], now: datetime, arrival_window: timedelta
) -> list[Live]:
    """Rule 7: the fences whose window has closed (`window_closed`), removed from Azuga."""
    return [f for f in fences if now > window_closes(f.window_start, f.window_end, arrival_window)]
