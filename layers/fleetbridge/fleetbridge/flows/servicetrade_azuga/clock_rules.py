"""Rules 3 to 5: the En Route clock-in (TrackMe link + Service Link), the arrival (En Route →
On Site) and the exit (On Site clock-out, when the setting is on). Pure: data in, decision with
a reason code out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

from fleetbridge.flows.servicetrade_azuga.pairing import Pairing, email_key, tech_of_vehicle
from fleetbridge.vendors.servicetrade_models import Location

EN_ROUTE: Final = "enroute"
ON_SITE: Final = "onsite"
#: Reasons.
NOT_EN_ROUTE_CLOCK_IN = "not_en_route_clock_in"
TRACKING = "en_route"
ALREADY_SENT = "already_sent"
SERVICE_LINK_OFF = "service_link_off"
NO_EMAIL = "no_email"
ARRIVED = "arrived"
ARRIVED_OUTSIDE_WINDOW = "arrived_outside_window"
WRONG_VEHICLE = "wrong_vehicle"
ALREADY_ON_SITE = "already_on_site"
NOT_SCHEDULED = "not_scheduled"
LEFT_SITE = "left_site"
ONSITE_CLOCK_OUT_OFF = "onsite_clock_out_off"
NOT_ARRIVED = "not_arrived"
ALREADY_LEFT = "already_left"


def recipients(location: Location | None) -> tuple[str, ...]:
    """Who gets the Service Link: the location's primary contact, else the location's email."""
    if location is None:
        return ()
    contact = location.primary_contact
    for email in (contact.email if contact else None, location.email):
        if email_key(email):
            return (email.strip(),)  # type: ignore[union-attr]
    return ()


@dataclass(frozen=True)
class EnRouteDecision:
    """What an En Route clock-in causes: a TrackMe link (`link`), a Service Link (`message`),
    and why (`reason`, and `message_reason` when no message is sent)."""

    reason: str
    link: Literal["create", "have", "skip"] = "skip"
    message: Literal["send", "done", "skip"] = "skip"
    message_reason: str = ""
    to: tuple[str, ...] = field(default=())


def decide_en_route(
    *,
    activity: str,
    clocked_in: bool,
    pairing: Pairing,
    location: Location | None,
    send_service_link: bool,
    have_link: bool,
    message_sent: bool,
) -> EnRouteDecision:
    """Rule 3. Only an open En Route clock-in counts; a tech without a vehicle gets nothing
    (`tech_not_paired` / `tech_email_not_in_azuga`); the link is made once (`have_link`) and the
    Service Link sent once (`message_sent`); no address → `no_email`, not a failure."""
    if activity != EN_ROUTE or not clocked_in:
        return EnRouteDecision(NOT_EN_ROUTE_CLOCK_IN)
    if not pairing.paired:
        return EnRouteDecision(pairing.reason)
    link: Literal["create", "have"] = "have" if have_link else "create"
    if message_sent:
        reason = ALREADY_SENT if have_link else TRACKING
        return EnRouteDecision(reason, link, "done", ALREADY_SENT)
    if not send_service_link:
        return EnRouteDecision(TRACKING, link, "skip", SERVICE_LINK_OFF)
    to = recipients(location)
    if not to:
        return EnRouteDecision(TRACKING, link, "skip", NO_EMAIL)
    return EnRouteDecision(TRACKING, link, "send", to=to)


@dataclass(frozen=True)
class ArrivalDecision[T]:
    """`clock` (En Route out, On Site in) for `tech`, or `skip`, and why."""

    action: Literal["clock", "skip"]
    reason: str
    tech: T | None = None


def within_window(at: datetime, window_start: datetime, window: timedelta) -> bool:
    """Whether `at` is within ± `window` of `window_start`, both edges included."""
    return abs(at - window_start) <= window


def decide_arrival[T](
    *,
    at: datetime,
    window_start: datetime | None,
    window: timedelta,
    vehicle_email: str | None,
    techs: Iterable[tuple[T, str | None]],
    on_site: Iterable[T],
) -> ArrivalDecision[T]:
    """Rule 4: the vehicle entered the appointment's fence. Only the ONE tech Azuga pairs with
    that vehicle is clocked (`wrong_vehicle` when none of the appointment's); once (a repeated
    entry: `already_on_site`); only within the window (`arrived_outside_window`)."""
    if window_start is None:
        return ArrivalDecision("skip", NOT_SCHEDULED)
    tech = tech_of_vehicle(vehicle_email, techs)
    if tech is None:
        return ArrivalDecision("skip", WRONG_VEHICLE)
    if tech in set(on_site):
        return ArrivalDecision("skip", ALREADY_ON_SITE, tech)
    if not within_window(at, window_start, window):
        return ArrivalDecision("skip", ARRIVED_OUTSIDE_WINDOW, tech)
    return ArrivalDecision("clock", ARRIVED, tech)


def decide_exit[T](
    *,
    onsite_clock_out: bool,
    vehicle_email: str | None,
    techs: Iterable[tuple[T, str | None]],
    on_site: Iterable[T],
    left: Iterable[T],
) -> ArrivalDecision[T]:
    """Rule 5: the vehicle left the fence. Nothing unless `onsite_clock_out`; then clock the
    vehicle's tech out of On Site if it arrived (by us) and has not left already."""
    if not onsite_clock_out:
        return ArrivalDecision("skip", ONSITE_CLOCK_OUT_OFF)
    tech = tech_of_vehicle(vehicle_email, techs)
    if tech is None:
        return ArrivalDecision("skip", WRONG_VEHICLE)
    if tech in set(left):
        return ArrivalDecision("skip", ALREADY_LEFT, tech)
    if tech not in set(on_site):
        return ArrivalDecision("skip", NOT_ARRIVED, tech)
    return ArrivalDecision("clock", LEFT_SITE, tech)
