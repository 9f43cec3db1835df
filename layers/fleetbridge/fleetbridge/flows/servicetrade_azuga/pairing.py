"""Rule 1, pairing: a ServiceTrade tech ↔ an Azuga driver by email (case-insensitive, trimmed),
the driver ↔ a vehicle by Azuga's own pairing (`trackee.assignedUserId`). Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fleetbridge.vendors.azuga_models import AzugaDriver, AzugaVehicle

#: Reasons a tech has no vehicle.
NO_TECH_EMAIL = "no_tech_email"
NOT_IN_AZUGA = "tech_email_not_in_azuga"
NOT_PAIRED = "tech_not_paired"
PAIRED = "paired"


def email_key(email: str | None) -> str | None:
    """The matching form of an email: trimmed, lower case; None when blank."""
    text = (email or "").strip().lower()
    return text or None


@dataclass(frozen=True)
class Pairing:
    """A tech's Azuga driver and vehicle, or why there is none (`reason`)."""

    reason: str
    driver_id: str | None = None
    vehicle_id: str | None = None

    @property
    def paired(self) -> bool:
        """Whether the tech has a vehicle."""
        return self.vehicle_id is not None


def pair_tech(
    tech_email: str | None, drivers: Iterable[AzugaDriver], vehicles: Iterable[AzugaVehicle]
) -> Pairing:
    """The tech's driver (by email) and that driver's vehicle (the lowest vehicle id when Azuga
    pairs the driver with several, so the choice is stable)."""
    key = email_key(tech_email)
    if key is None:
        return Pairing(NO_TECH_EMAIL)
    driver = next((d for d in drivers if email_key(d.email) == key), None)
    if driver is None:
        return Pairing(NOT_IN_AZUGA)
    paired = sorted(v.id for v in vehicles if v.assigned_user_id == driver.id)
    if not paired:
        return Pairing(NOT_PAIRED, driver_id=driver.id)
    return Pairing(PAIRED, driver_id=driver.id, vehicle_id=paired[0])


def driver_email_of_vehicle(
    vehicle_id: str, drivers: Iterable[AzugaDriver], vehicles: Iterable[AzugaVehicle]
) -> str | None:
    """The matching email of the driver Azuga pairs with `vehicle_id` (None: no driver)."""
    vehicle = next((v for v in vehicles if v.id == str(vehicle_id)), None)
    if vehicle is None or vehicle.assigned_user_id is None:
        return None
    driver = next((d for d in drivers if d.id == vehicle.assigned_user_id), None)
    return email_key(driver.email) if driver else None


def tech_of_vehicle[T](
    vehicle_email: str | None, techs: Iterable[tuple[T, str | None]]
) -> T | None:
    """The ONE tech (of `(tech, email)` pairs) whose email is the vehicle's driver's; None when
    no tech of the appointment drives that vehicle."""
    if vehicle_email is None:
        return None
    return next((tech for tech, email in techs if email_key(email) == vehicle_email), None)
