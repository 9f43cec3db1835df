"""Azuga's drivers and vehicles, cached per day in the connection state (Azuga allows about
one call a minute per endpoint) and read again on a miss (a tech or vehicle not found), at most
once per `REFRESH_AFTER` so a tech who is not in Azuga costs no call per appointment."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fleetbridge.core.errors import ConflictError
from fleetbridge.core.models import iso
from fleetbridge.flows.servicetrade_azuga.context import FlowContext
from fleetbridge.flows.servicetrade_azuga.pairing import (
    Pairing,
    driver_email_of_vehicle,
    pair_tech,
)
from fleetbridge.vendors.azuga_models import AzugaDriver, AzugaVehicle

#: A miss reads the lists again only if the cached ones are at least this old.
REFRESH_AFTER = timedelta(minutes=2)
CACHE_KEY = "azuga_lists"


@dataclass
class Directory:
    """The cached lists of one connection, refreshed on a miss."""

    ctx: FlowContext
    drivers: list[AzugaDriver]
    vehicles: list[AzugaVehicle]
    fetched_at: datetime | None

    @classmethod
    def load(cls, ctx: FlowContext) -> Directory:
        """Today's cached lists (none cached today: read now)."""
        cached: dict[str, Any] = ctx.state().load().get(CACHE_KEY) or {}
        now = ctx.clock()
        fetched = cached.get("fetched_at")
        moment = datetime.fromisoformat(fetched) if fetched else None
        if moment is None or moment.date() != now.date():
            found = cls(ctx, [], [], None)
            found.refresh()
            return found
        return cls(
            ctx,
            [AzugaDriver.model_validate(d) for d in cached.get("drivers", [])],
            [AzugaVehicle.model_validate(v) for v in cached.get("vehicles", [])],
            moment,
        )

    def refresh(self) -> bool:
        """Read both lists again unless they were read less than `REFRESH_AFTER` ago."""
        now = self.ctx.clock()
        if self.fetched_at is not None and now - self.fetched_at < REFRESH_AFTER:
            return False
        self.drivers = self.ctx.azuga.drivers()
        self.vehicles = self.ctx.azuga.vehicles()
        self.fetched_at = now
        with suppress(ConflictError):  # a concurrent worker cached them too: either will do
            self._store(now)
        return True

    def _store(self, now: datetime) -> None:
        self.ctx.state().update(
            **{
                CACHE_KEY: {
                    "fetched_at": iso(now),
                    "drivers": [d.model_dump(by_alias=True) for d in self.drivers],
                    "vehicles": [
                        v.model_dump(by_alias=True, exclude={"last_location"})
                        for v in self.vehicles
                    ],
                }
            }
        )

    def pairing(self, tech_email: str | None) -> Pairing:
        """The tech's driver and vehicle (a miss reads the lists again once)."""
        found = pair_tech(tech_email, self.drivers, self.vehicles)
        if found.paired or found.reason == "no_tech_email" or not self.refresh():
            return found
        return pair_tech(tech_email, self.drivers, self.vehicles)

    def vehicle_email(self, vehicle_id: str) -> str | None:
        """The email of the driver paired with the vehicle (a miss reads the lists again)."""
        found = driver_email_of_vehicle(vehicle_id, self.drivers, self.vehicles)
        if found is not None or not self.refresh():
            return found
        return driver_email_of_vehicle(vehicle_id, self.drivers, self.vehicles)
