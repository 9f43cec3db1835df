"""The Fleetio → Keycafe rules, as one pure function: `decide`.

It takes what we know (the assignment as Fleetio has it now, the vehicle's key link, the driver,
what we last applied) and returns a Decision: the activity action, the reason, and the ordered
steps `apply` must carry out. No I/O here, so every rule is tested table-driven.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from fleetbridge.core.models import Action, fingerprint
from fleetbridge.flows.fleetio_keycafe.settings import Notification

BookingStatus = Literal["booked", "prompted", "failed", "cancelled", "skipped"]


# ----------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class VehicleLink:
    """The Keycafe key linked to a Fleetio vehicle, and how drivers get access."""

    vehicle_id: int
    key_id: int
    notification: Notification
    key_name: str = ""


@dataclass(frozen=True)
class Driver:
    """The assignment's contact, as far as booking cares."""

    contact_id: int
    name: str
    email: str | None = None
    mobile: str | None = None

    @property
    def reachable(self) -> bool:
        """Keycafe can book (and notify) only by email or mobile."""
        return bool(self.email or self.mobile)


@dataclass(frozen=True)
class Assignment:
    """The parts of a Fleetio vehicle assignment the rules read."""

    id: int
    vehicle_id: int
    vehicle_name: str
    contact_id: int | None
    started_at: datetime | None
    ended_at: datetime | None
    updated_at: str | None = None
    exists: bool = True


@dataclass(frozen=True)
class Applied:
    """What we last did for this assignment (from its mapping)."""

    status: BookingStatus
    fingerprint: str
    updated_at: str | None = None
    access_id: int | None = None
    key_id: int | None = None
    vehicle_id: int | None = None
    contact_id: int | None = None
    #: The driver's (email, mobile) the booking was made for; None when not recorded (older
    #: mappings), in which case an identity change cannot be told apart and is not acted on.
    identity: tuple[str | None, str | None] | None = None


# ----------------------------------------------------------------------------- outputs
@dataclass(frozen=True)
class Window:
    """A booking's validity, in UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Book:
    """Create a one-time access for `driver` on `key_id`, then write the custom fields."""

    key_id: int
    driver: Driver
    window: Window
    name: str


@dataclass(frozen=True)
class ChangeDates:
    access_id: int
    window: Window
    name: str


@dataclass(frozen=True)
class Cancel:
    access_id: int


@dataclass(frozen=True)
class ClearFields:
    """Empty the three custom fields on the assignment."""


@dataclass(frozen=True)
class Remind:
    """Email the admins: create this access by hand (Prompt links)."""

    key_id: int
    driver: Driver
    window: Window


@dataclass(frozen=True)
class NotifyFailure:
    """Email the admins that this assignment cannot be booked, and why."""

    reason: str


Step = Book | ChangeDates | Cancel | ClearFields | Remind | NotifyFailure


@dataclass(frozen=True)
class Decision:
    """What to do about one assignment, and the state to remember afterwards."""

    action: Action
    reason: str
    steps: tuple[Step, ...] = ()
    status: BookingStatus | None = None  # None: leave the stored state as it is
    fingerprint: str | None = None
    notes: dict[str, str] = field(default_factory=dict)


# ----------------------------------------------------------------------------- helpers
def booking_name(assignment: Assignment, marker: str = "") -> str:
    """How the booking shows in Keycafe: its Fleetio origin at a glance, and the connection it
    belongs to (`marker`, the connection id), so that connections sharing a Keycafe account
    each touch only their own bookings (Keycafe has no external reference field)."""
    name = f"Fleetio · {assignment.vehicle_name} · assignment {assignment.id}"
    return f"{name} · {marker}" if marker else name


def identity(driver: Driver | None) -> tuple[str | None, str | None]:
    """Who a booking is made for: the driver's email and mobile as Fleetio has them."""
    return (driver.email, driver.mobile) if driver else (None, None)


def booking_window(assignment: Assignment, now: datetime, default_hours: int) -> Window:
    """From the assignment's start (not before now) to its end or start + the default length."""
    start = max(assignment.started_at or now, now).replace(second=0, microsecond=0)
    end = assignment.ended_at or start + timedelta(hours=default_hours)
    return Window(start=start, end=end)


def content_fingerprint(
    assignment: Assignment, link: VehicleLink | None, driver: Driver | None
) -> str:
    """What a booking depends on. Custom fields are left out: writing them back must not
    look like a change (Fleetio sends an `updated` event for our own write)."""
    return fingerprint(
        {
            "vehicle": assignment.vehicle_id,
            "contact": assignment.contact_id,
            "start": assignment.started_at.isoformat() if assignment.started_at else None,
            "end": assignment.ended_at.isoformat() if assignment.ended_at else None,
            "key": link.key_id if link else None,
            "notification": link.notification if link else None,
            "email": driver.email if driver else None,
            "mobile": driver.mobile if driver else None,
        }
    )


def instructions_text(
    *,
    key_name: str,
    location: str | None,
    code: str | None,
    link: str | None,
    window: Window,
    time_zone: str,
    keycafe_account: bool = False,
) -> str:
    """The human-readable access instructions written on the assignment.

    A driver booked as a Keycafe user (`keycafe_account`) opens the box with the phone number
    of that account and its PIN (or the Keycafe app), not with a one-time code.
    """
    zone = ZoneInfo(time_zone)
    start = window.start.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    end = window.end.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    where = f" at {location}" if location else ""
    if keycafe_account:
        return (
            f"Key '{key_name}' is in the Keycafe SmartBox{where}. "
            f"Valid {start} to {end} ({time_zone}). Open the box with your Keycafe account: "
            "enter your phone number and your Keycafe PIN at the box (or use the Keycafe app)."
        )
    return (
        f"Key '{key_name}' is in the Keycafe SmartBox{where}. "
        f"Access code {code or '-'}, valid {start} to {end} ({time_zone}). "
        f"Open with the link: {link or '-'}"
    )


# ----------------------------------------------------------------------------- the rules
def decide(
    assignment: Assignment,
    link: VehicleLink | None,
    driver: Driver | None,
    applied: Applied | None,
    *,
    now: datetime,
    default_hours: int,
    marker: str = "",
) -> Decision:
    """Rules 1 to 5 of the flow for one assignment in its current state.

    `marker` (the connection id) goes into the booking name: it tells our bookings apart from
    another connection's on the same Keycafe account.
    """
    active = applied.access_id if applied and applied.status == "booked" else None

    # Rule 3: deleted → cancel (the assignment is gone: nothing to clear).
    if not assignment.exists:
        if active:
            return Decision("deleted", "assignment_deleted", (Cancel(active),), "cancelled", "")
        return Decision("skipped", "assignment_deleted_nothing_booked")

    # Rule 5: never act on something older than what was applied.
    if (
        applied
        and applied.updated_at
        and assignment.updated_at
        and assignment.updated_at < applied.updated_at
    ):
        return Decision("skipped", "stale_event")

    current = content_fingerprint(assignment, link, driver)
    # Rule 2: unchanged content → no Keycafe call at all.
    if applied and applied.fingerprint == current:
        return Decision("skipped", "unchanged")

    # Rule 3: ended early (or simply over) → cancel and clear.
    if assignment.ended_at and assignment.ended_at <= now:
        if active:
            return Decision(
                "deleted", "assignment_ended", (Cancel(active), ClearFields()), "cancelled", current
            )
        return Decision("skipped", "assignment_ended", status="skipped", fingerprint=current)

    window = booking_window(assignment, now, default_hours)
    name = booking_name(assignment, marker)
    if active and applied is not None:
        # An admin unlinked the key or switched it to Prompt: a driver with a booking of this
        # assignment keeps it (its dates follow the assignment) until the assignment ends or
        # changes driver, driver email/mobile or vehicle.
        # What is remembered for a kept booking is its content with the booked key as if still
        # linked automatically, so unlinking after Prompt (or back) changes nothing either.
        kept = _kept_link(assignment, link, applied)
        if kept is not None:
            kept_fp = content_fingerprint(assignment, kept, driver)
            if kept_fp == applied.fingerprint:  # nothing new to remember either
                why = "key_unlinked" if link is None else "switched_to_prompt"
                return Decision("skipped", f"booking_kept:{why}")
            if _what_changed(assignment, kept, driver, applied) is None:
                step = ChangeDates(active, window, name)
                return Decision("updated", "dates_changed", (step,), "booked", kept_fp)
        return _change_existing(
            assignment, link, driver, applied, active, window, current, name, kept
        )
    return _first_booking(assignment, link, driver, window, current, name)


def _kept_link(
    assignment: Assignment, link: VehicleLink | None, applied: Applied
) -> VehicleLink | None:
    """The booked key, as if still linked automatically, when only the link setting changed
    (unlinked, or the same key switched to Prompt) on the same vehicle."""
    if applied.key_id is None or applied.vehicle_id != assignment.vehicle_id:
        return None
    if link is None or (link.notification == "prompt" and link.key_id == applied.key_id):
        name = link.key_name if link else ""
        return VehicleLink(assignment.vehicle_id, applied.key_id, "automatic", name)
    return None


def _first_booking(
    assignment: Assignment,
    link: VehicleLink | None,
    driver: Driver | None,
    window: Window,
    current: str,
    name: str,
) -> Decision:
    # Rule 4: no key linked → skip, no error.
    if link is None:
        return Decision("skipped", "no_key_linked", status="skipped", fingerprint=current)
    # Rule 4: a driver Keycafe cannot reach → fail and tell the admins.
    if driver is None or not driver.reachable:
        return Decision(
            "failed",
            "driver_unreachable",
            (NotifyFailure("driver_unreachable"),),
            "failed",
            current,
        )
    # Rule 1, prompt: remind the admins instead of booking.
    if link.notification == "prompt":
        return Decision(
            "notified",
            "prompt_reminder",
            (Remind(link.key_id, driver, window),),
            "prompted",
            current,
        )
    # Rule 1, automatic: book and write the access back.
    return Decision(
        "created",
        "booked",
        (Book(link.key_id, driver, window, name),),
        "booked",
        current,
    )


def _change_existing(
    assignment: Assignment,
    link: VehicleLink | None,
    driver: Driver | None,
    applied: Applied,
    active: int,
    window: Window,
    current: str,
    name: str,
    kept: VehicleLink | None = None,
) -> Decision:
    """A booking exists: change its dates, or cancel it and follow with a first booking.

    `kept`: the booked key while its link is gone or on Prompt (only a change of driver,
    identity or vehicle then ends the booking; the follow-up uses the real `link`)."""
    reason = _what_changed(assignment, kept or link, driver, applied)
    if reason is None:
        # Rule 2: only the dates moved → change the booking in place.
        return Decision(
            "updated", "dates_changed", (ChangeDates(active, window, name),), "booked", current
        )
    # Rule 2: driver (or their email/mobile), vehicle or key changed → cancel, then book (or
    # remind) anew.
    follow = _first_booking(assignment, link, driver, window, current, name)
    steps: tuple[Step, ...] = (Cancel(active),)
    if follow.action in ("skipped", "failed"):
        steps += (ClearFields(),)
    steps += follow.steps
    action: Action = "updated" if follow.action in ("created", "notified") else follow.action
    status = follow.status or "cancelled"
    return Decision(action, f"{reason}:{follow.reason}", steps, status, current)


def _what_changed(
    assignment: Assignment, link: VehicleLink | None, driver: Driver | None, applied: Applied
) -> str | None:
    if applied.vehicle_id != assignment.vehicle_id:
        return "vehicle_changed"
    if link is None or link.key_id != applied.key_id:
        return "key_changed"
    if applied.contact_id != assignment.contact_id:
        return "driver_changed"
    if applied.identity is not None and applied.identity != identity(driver):
        # Same contact, new email or mobile: the booking must follow the new identity.
        return "driver_contact_changed"
    if link.notification == "prompt":
        return "switched_to_prompt"
    return None
