"""ServiceTrade ↔ Azuga rules (issue 14: rules 1-5 and 7), as the pure functions see them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from fleetbridge.flows.servicetrade_azuga.rules import (
    Live,
    Pairing,
    Stored,
    decide_arrival,
    decide_en_route,
    decide_exit,
    decide_fence,
    driver_email_of_vehicle,
    fence_name,
    fences_to_remove,
    pair_tech,
    recipients,
    wanted_fence,
)
from fleetbridge.flows.servicetrade_azuga.settings import ServiceTradeAzugaSettings
from fleetbridge.vendors.azuga_models import AzugaDriver, AzugaVehicle
from fleetbridge.vendors.servicetrade_models import Appointment, Location

START = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
WINDOW = timedelta(hours=8)
DRIVERS = [
    AzugaDriver(id="d1", email="Tina.Tech@Example.com"),
    AzugaDriver(id="d2", email="sam@example.com"),
    AzugaDriver(id="d3", email="lone@example.com"),
]
VEHICLES = [
    AzugaVehicle(id="v9", assignedUserId="d1"),
    AzugaVehicle(id="v1", assignedUserId="d1"),
    AzugaVehicle(id="v2", assignedUserId="d2"),
    AzugaVehicle(id="v3", assignedUserId=None),
]


def appointment(**changes: Any) -> Appointment:
    base: dict[str, Any] = {
        "id": 501,
        "status": "scheduled",
        "windowStart": int(START.timestamp()),
        "windowEnd": int((START + timedelta(hours=2)).timestamp()),
        "job": {"id": 77, "number": "J-1001"},
        "location": {"id": 5, "name": "Acme HQ", "lat": 40.0, "lon": -75.0},
        "techs": [{"id": 11, "email": "tina.tech@example.com"}],
    }
    base.update(changes)
    return Appointment.model_validate(base)


# ----------------------------------------------------------------------------- rule 1: pairing
@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("tina.tech@example.com", Pairing("paired", "d1", "v1")),  # lowest vehicle id
        ("  TINA.TECH@EXAMPLE.COM ", Pairing("paired", "d1", "v1")),  # trimmed, any case
        ("sam@example.com", Pairing("paired", "d2", "v2")),
        ("lone@example.com", Pairing("tech_not_paired", "d3")),
        ("nobody@example.com", Pairing("tech_email_not_in_azuga")),
        (None, Pairing("no_tech_email")),
        ("   ", Pairing("no_tech_email")),
    ],
)
def test_pairing_by_email_then_vehicle(email: str | None, expected: Pairing) -> None:
    assert pair_tech(email, DRIVERS, VEHICLES) == expected


@pytest.mark.parametrize(
    ("vehicle", "email"),
    [("v1", "tina.tech@example.com"), ("v2", "sam@example.com"), ("v3", None), ("v404", None)],
)
def test_driver_of_vehicle(vehicle: str, email: str | None) -> None:
    assert driver_email_of_vehicle(vehicle, DRIVERS, VEHICLES) == email


# ----------------------------------------------------------------------------- rule 2: fences
def test_fence_name_is_exact() -> None:
    assert fence_name("Acme HQ", "J-1001", 501) == "Acme HQ | J-1001 | 501"
    fence = wanted_fence(appointment(), 150)
    assert not isinstance(fence, str)
    assert (fence.name, fence.radius_m) == ("Acme HQ | J-1001 | 501", 150)


PLACE = ("Acme HQ | J-1001 | 501", 40.0, -75.0, 150)


@pytest.mark.parametrize(
    ("changes", "stored", "action", "reason"),
    [
        ({}, None, "create", "scheduled"),
        ({}, Stored(None, None, None), "create", "scheduled"),
        ({}, Stored("g1", PLACE, START), "keep", "unchanged"),
        ({}, Stored("g1", PLACE, START, archived=True), "create", "scheduled"),
        (
            {"windowStart": int((START + timedelta(days=1)).timestamp())},
            Stored("g1", PLACE, START),
            "update",
            "rescheduled",
        ),
        (
            {"location": {"id": 5, "name": "Acme HQ", "lat": 41.0, "lon": -75.0}},
            Stored("g1", PLACE, START),
            "replace",
            "location_changed",
        ),
        (
            {"location": {"id": 6, "name": "Acme Annex", "lat": 40.0, "lon": -75.0}},
            Stored("g1", PLACE, START),
            "replace",
            "location_changed",
        ),
        ({"job": None}, None, "skip", "no_job_number"),
        ({"job": {"id": 77, "number": None}}, None, "skip", "no_job_number"),
        ({"status": "unscheduled"}, None, "skip", "not_scheduled"),
        ({"status": "completed"}, Stored("g1", PLACE, START), "archive", "not_scheduled"),
        ({"windowStart": None}, None, "skip", "not_scheduled"),
        ({"location": {"id": 5, "name": "x"}}, None, "skip", "no_location_coordinates"),
        ({"status": "canceled_by_customer"}, Stored("g1", PLACE, START), "archive", "canceled"),
        ({"status": "canceled_by_vendor"}, Stored("g1", PLACE, START), "archive", "canceled"),
        ({"status": "canceled_by_vendor"}, None, "skip", "canceled"),
        (
            {"status": "canceled_by_vendor"},
            Stored("g1", PLACE, START, archived=True),
            "skip",
            "canceled",
        ),
    ],
)
def test_fence_decision(
    changes: dict[str, Any], stored: Stored | None, action: str, reason: str
) -> None:
    decision = decide_fence(appointment(**changes), stored, 150)
    assert (decision.action, decision.reason) == (action, reason)


@pytest.mark.parametrize(
    ("now_hours", "stored", "expected"),
    [
        (7.99, None, ("create", "scheduled")),  # windowStart + 8 h is later than the end (2 h)
        (8, None, ("create", "scheduled")),  # closes at exactly + 8 h (inclusive)
        (8.01, None, ("skip", "window_closed")),
        (8.01, Stored("g1", PLACE, START), ("archive", "window_closed")),
    ],
)
def test_no_fence_for_a_window_already_closed(
    now_hours: float, stored: Stored | None, expected: tuple[str, str]
) -> None:
    now = START + timedelta(hours=now_hours)
    decision = decide_fence(appointment(), stored, 150, now=now, arrival_window=WINDOW)
    assert (decision.action, decision.reason) == expected


def test_deleted_appointment_archives_its_fence() -> None:
    decision = decide_fence(None, Stored("g1", PLACE, START), 150)
    assert (decision.action, decision.reason) == ("archive", "appointment_deleted")


def test_radius_change_replaces_the_fence() -> None:
    decision = decide_fence(appointment(), Stored("g1", PLACE, START), 300)
    assert (decision.action, decision.reason) == ("replace", "location_changed")


@pytest.mark.parametrize(("radius", "ok"), [(150, True), (16093, True), (16094, False), (0, False)])
def test_radius_setting_at_most_ten_miles(radius: int, ok: bool) -> None:
    if ok:
        assert ServiceTradeAzugaSettings(geofence_radius_m=radius).geofence_radius_m == radius
    else:
        with pytest.raises(ValidationError):
            ServiceTradeAzugaSettings(geofence_radius_m=radius)


def test_settings_defaults() -> None:
    settings = ServiceTradeAzugaSettings()
    assert settings.send_service_link and not settings.onsite_clock_out
    assert (settings.geofence_radius_m, settings.arrival_window_hours) == (150, 8)


# ----------------------------------------------------------------------------- rule 7: removal
@pytest.mark.parametrize(
    ("end_hours", "now_hours", "removed"),
    [
        (2, 8, False),  # the arrival window still runs (until start + 8 h)
        (2, 8.01, True),
        (10, 9, False),  # a long window: until its end
        (10, 10.01, True),
        (None, 8.01, True),
    ],
)
def test_fences_removed_after_the_window_closes(
    end_hours: float | None, now_hours: float, removed: bool
) -> None:
    end = START + timedelta(hours=end_hours) if end_hours is not None else None
    live = Live("501", "g1", START, end)
    gone = fences_to_remove([live], START + timedelta(hours=now_hours), WINDOW)
    assert gone == ([live] if removed else [])


# ----------------------------------------------------------------------------- rule 3: En Route
HQ = Location.model_validate(
    {
        "id": 5,
        "email": "front@acme.example",
        "primaryContact": {"id": 1, "email": "pc@acme.example"},
    }
)
NO_CONTACT = Location.model_validate({"id": 5, "email": "front@acme.example"})
NO_EMAIL = Location.model_validate({"id": 5, "primaryContact": {"id": 1, "name": "Pat"}})
PAIRED = Pairing("paired", "d1", "v1")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ({}, ("en_route", "create", "send", "", ("pc@acme.example",))),
        ({"location": NO_CONTACT}, ("en_route", "create", "send", "", ("front@acme.example",))),
        ({"location": NO_EMAIL}, ("en_route", "create", "skip", "no_email", ())),
        ({"location": None}, ("en_route", "create", "skip", "no_email", ())),
        ({"send_service_link": False}, ("en_route", "create", "skip", "service_link_off", ())),
        ({"have_link": True}, ("en_route", "have", "send", "", ("pc@acme.example",))),
        (
            {"have_link": True, "message_sent": True},
            ("already_sent", "have", "done", "already_sent", ()),
        ),
        (
            {"pairing": Pairing("tech_not_paired", "d3")},
            ("tech_not_paired", "skip", "skip", "", ()),
        ),
        (
            {"pairing": Pairing("tech_email_not_in_azuga")},
            ("tech_email_not_in_azuga", "skip", "skip", "", ()),
        ),
        ({"activity": "onsite"}, ("not_en_route_clock_in", "skip", "skip", "", ())),
        ({"clocked_in": False}, ("not_en_route_clock_in", "skip", "skip", "", ())),
    ],
)
def test_en_route_decision(case: dict[str, Any], expected: tuple[Any, ...]) -> None:
    args: dict[str, Any] = {
        "activity": "enroute",
        "clocked_in": True,
        "pairing": PAIRED,
        "location": HQ,
        "send_service_link": True,
        "have_link": False,
        "message_sent": False,
        **case,
    }
    d = decide_en_route(**args)
    assert (d.reason, d.link, d.message, d.message_reason, d.to) == expected


def test_recipients_trimmed() -> None:
    location = Location.model_validate({"id": 1, "primaryContact": {"email": "  a@b.example "}})
    assert recipients(location) == ("a@b.example",)


# ----------------------------------------------------------------------------- rule 4: arrival
TECHS = [(11, "tina.tech@example.com"), (12, "sam@example.com")]
H = timedelta(hours=1)
S = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("at", "vehicle_email", "on_site", "expected"),
    [
        (START, "tina.tech@example.com", [], ("clock", "arrived", 11)),
        (START, "sam@example.com", [], ("clock", "arrived", 12)),  # only that vehicle's tech
        (START + 8 * H, "tina.tech@example.com", [], ("clock", "arrived", 11)),  # +8 h inclusive
        (START - 8 * H, "tina.tech@example.com", [], ("clock", "arrived", 11)),  # -8 h inclusive
        (START + 8 * H + S, "tina.tech@example.com", [], ("skip", "arrived_outside_window", 11)),
        (START - 8 * H - S, "tina.tech@example.com", [], ("skip", "arrived_outside_window", 11)),
        (START, "other@example.com", [], ("skip", "wrong_vehicle", None)),
        (START, None, [], ("skip", "wrong_vehicle", None)),
        (START, "tina.tech@example.com", [11], ("skip", "already_on_site", 11)),  # repeated
        (START, "sam@example.com", [11], ("clock", "arrived", 12)),
    ],
)
def test_arrival_decision(
    at: datetime, vehicle_email: str | None, on_site: list[int], expected: tuple[Any, ...]
) -> None:
    d = decide_arrival(
        at=at,
        window_start=START,
        window=WINDOW,
        vehicle_email=vehicle_email,
        techs=TECHS,
        on_site=on_site,
    )
    assert (d.action, d.reason, d.tech) == expected


def test_arrival_needs_a_scheduled_time() -> None:
    d = decide_arrival(
        at=START, window_start=None, window=WINDOW, vehicle_email=None, techs=TECHS, on_site=[]
    )
    assert (d.action, d.reason) == ("skip", "not_scheduled")


# ----------------------------------------------------------------------------- rule 5: exit
@pytest.mark.parametrize(
    ("setting", "email", "on_site", "left", "expected"),
    [
        (False, "tina.tech@example.com", [11], [], ("skip", "onsite_clock_out_off")),
        (True, "tina.tech@example.com", [11], [], ("clock", "left_site")),
        (True, "tina.tech@example.com", [], [], ("skip", "not_arrived")),
        (True, "tina.tech@example.com", [11], [11], ("skip", "already_left")),
        (True, "x@example.com", [11], [], ("skip", "wrong_vehicle")),
    ],
)
def test_exit_decision(
    setting: bool, email: str, on_site: list[int], left: list[int], expected: tuple[str, str]
) -> None:
    d = decide_exit(
        onsite_clock_out=setting, vehicle_email=email, techs=TECHS, on_site=on_site, left=left
    )
    assert (d.action, d.reason) == expected
