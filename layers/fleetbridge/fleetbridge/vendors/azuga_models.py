"""Azuga's records as the API returns them (azuga.md): drivers (users), vehicles (trackees),
geomarks (circular geofences) and TrackMe links. Ids are kept as text whatever their JSON type.
No httpx here: a flow's rules read these models without loading the client (`azuga.py`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: azuga.md: "Radius at most 10 miles".
MAX_RADIUS_METERS = 10 * 1609.344


class AzugaModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _id_text(value: Any) -> Any:
    """Ids as text (numbers or strings on the wire); None stays None."""
    return None if value is None else str(value)


class AzugaDriver(AzugaModel):
    """`GET /v3/users?userType=driver` item."""

    id: str
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    email: str | None = None
    phone: str | None = None

    _ids = field_validator("id", mode="before")(_id_text)


class AzugaLocation(AzugaModel):
    """A vehicle's last known position (`locationTime` in unix ms)."""

    latitude: float
    longitude: float
    location_time: int | None = Field(default=None, alias="locationTime")


class AzugaVehicle(AzugaModel):
    """`GET /v3/trackees` item; `assigned_user_id` is the paired driver."""

    id: str
    name: str | None = None
    vin: str | None = None
    assigned_user_id: str | None = Field(default=None, alias="assignedUserId")
    last_location: AzugaLocation | None = Field(default=None, alias="lastLocation")

    _ids = field_validator("id", "assigned_user_id", mode="before")(_id_text)


class NewGeofence(AzugaModel):
    """One circular geofence to create (names are unique per account; radius in metres)."""

    name: str = Field(min_length=1)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    radius_meters: float = Field(gt=0, le=MAX_RADIUS_METERS)
    address: str | None = None
    alert_on_entry: bool = True

    def wire(self) -> dict[str, Any]:
        """The bulk-upload item."""
        return {
            "name": self.name,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "address": self.address,
            "fenceType": "Circular",
            "geofenceRadius": self.radius_meters,
            "radiusUnit": "meters",
            "alertOnEntry": self.alert_on_entry,
        }


class AzugaGeofence(AzugaModel):
    """A stored geomark."""

    id: str
    name: str
    latitude: float
    longitude: float
    address: str | None = None
    fence_type: str | None = Field(default=None, alias="fenceType")
    radius: float | None = Field(default=None, alias="geofenceRadius")
    radius_unit: str | None = Field(default=None, alias="radiusUnit")
    alert_on_entry: bool | None = Field(default=None, alias="alertOnEntry")

    _ids = field_validator("id", mode="before")(_id_text)


class TrackingLink(AzugaModel):
    """`POST /v1/trackme.json` answer."""

    token: str
    url: str
    expires_at: str | None = Field(default=None, alias="expiresAt")
