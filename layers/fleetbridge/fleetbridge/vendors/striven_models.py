"""Striven's records as the API returns them: tasks, employees, task types, teams, pages.

Models parse leniently (striven.md: field spellings vary between API versions): assignees come as
`assignedTo` or `assignments` (objects, nested `employee` objects or bare ids), coordinates may
be missing or zero, dates are the tenant's local time without offset (naive `datetime`s here;
`fleetbridge.flows.striven_onfleet.task_rules` applies the tenant's zone). No httpx here: the
flow's rules read these models without loading the client (`striven.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator


class StrivenModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _blank_none(value: Any) -> Any:
    return None if value in ("", [], {}) else value


class Ref(StrivenModel):
    """`{id, name}` references (status, type, customer, assignee, phone type)."""

    id: int | None = None
    name: str | None = None
    phone: str | None = None  # customers sometimes carry one (used for the Onfleet recipient)

    @field_validator("name", "phone", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return None if value is None else (str(value).strip() or None)


def _ref(value: Any) -> Any:
    """A bare id or name becomes a Ref-shaped object; `{"employee": {...}}` is unwrapped."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return {"id": value}
    if isinstance(value, str):
        return {"id": int(value)} if value.strip().isdigit() else {"name": value}
    if isinstance(value, dict):
        for key in ("employee", "assignedTo", "user"):
            if isinstance(value.get(key), dict):
                return value[key]
        if "id" not in value:
            for key in ("employeeId", "employeeID", "assignedToId", "assignedToID"):
                if key in value:
                    return {**value, "id": value[key]}
    return value


class Address(StrivenModel):
    line1: str | None = Field(
        default=None, validation_alias=AliasChoices("address1", "line1", "addressLine1", "street")
    )
    line2: str | None = Field(
        default=None, validation_alias=AliasChoices("address2", "line2", "addressLine2")
    )
    city: str | None = None
    state: str | None = Field(default=None, validation_alias=AliasChoices("state", "stateCode"))
    postal_code: str | None = Field(
        default=None, validation_alias=AliasChoices("postalCode", "zip", "zipCode", "postal_code")
    )
    country: str | None = None
    full: str | None = Field(
        default=None, validation_alias=AliasChoices("fullAddress", "full", "unparsed")
    )

    @field_validator("*", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return None if value is None else (str(value).strip() or None)


class Location(StrivenModel):
    id: int | None = None
    name: str | None = None
    address: Address | None = None
    latitude: float | None = Field(default=None, validation_alias=AliasChoices("latitude", "lat"))
    longitude: float | None = Field(
        default=None, validation_alias=AliasChoices("longitude", "lng", "lon")
    )

    @field_validator("latitude", "longitude", mode="before")
    @classmethod
    def _coordinate(cls, value: Any) -> Any:
        """Missing, blank, zero or garbage coordinates are absent (0,0 is "not geocoded")."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return number or None

    @property
    def coordinates(self) -> tuple[float, float] | None:
        """`(longitude, latitude)` when both are present and in range."""
        lat, lon = self.latitude, self.longitude
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        return lon, lat


def _local_datetime(value: Any) -> Any:
    """Striven dates: ISO text (offset optional), blank or unparseable means absent."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None


class StrivenTask(StrivenModel):
    """A Striven task. Dates are naive tenant-local times (or aware when Striven sent an offset)."""

    id: int
    title: str = ""
    description: str | None = None
    status: Ref | None = None
    type: Ref | None = None
    customer: Ref | None = None
    assigned_to: list[Ref] = Field(
        default_factory=list,
        validation_alias=AliasChoices("assignedTo", "assignments", "assignees", "assigned_to"),
    )
    start_date: datetime | None = Field(
        default=None, validation_alias=AliasChoices("startDate", "start_date")
    )
    due_date: datetime | None = Field(
        default=None, validation_alias=AliasChoices("dueDate", "due_date")
    )
    date_created: datetime | None = Field(
        default=None, validation_alias=AliasChoices("dateCreated", "createdDate", "date_created")
    )
    last_updated_date: datetime | None = Field(
        default=None,
        validation_alias=AliasChoices("lastUpdatedDate", "dateLastUpdated", "last_updated_date"),
    )
    location: Location | None = None

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: Any) -> str:
        return "" if value is None else str(value).strip()

    @field_validator("status", "type", "customer", mode="before")
    @classmethod
    def _one_ref(cls, value: Any) -> Any:
        return _ref(_blank_none(value))

    @field_validator("assigned_to", mode="before")
    @classmethod
    def _refs(cls, value: Any) -> Any:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        return [_ref(item) for item in items if item is not None]

    @field_validator("start_date", "due_date", "date_created", "last_updated_date", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        return _local_datetime(value)

    @field_validator("location", mode="before")
    @classmethod
    def _location(cls, value: Any) -> Any:
        return _blank_none(value)


class Phone(StrivenModel):
    phone_type: Ref | None = Field(
        default=None, validation_alias=AliasChoices("phoneType", "type", "phone_type")
    )
    number: str | None = Field(
        default=None, validation_alias=AliasChoices("number", "phoneNumber", "phone")
    )
    is_preferred: bool = Field(
        default=False, validation_alias=AliasChoices("isPreferred", "preferred", "is_preferred")
    )
    active: bool = True

    @field_validator("phone_type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        return _ref(_blank_none(value))

    @field_validator("is_preferred", "active", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        return False if value is None else value


class StrivenEmployee(StrivenModel):
    id: int
    name: str | None = None
    first_name: str | None = Field(
        default=None, validation_alias=AliasChoices("firstName", "first_name")
    )
    last_name: str | None = Field(
        default=None, validation_alias=AliasChoices("lastName", "last_name")
    )
    email: str | None = None
    phones: list[Phone] = Field(default_factory=list)
    active: bool = True

    @field_validator("phones", mode="before")
    @classmethod
    def _phones(cls, value: Any) -> Any:
        return value or []

    @field_validator("active", mode="before")
    @classmethod
    def _active(cls, value: Any) -> Any:
        return True if value is None else value

    @property
    def display_name(self) -> str:
        """`name`, else first and last name, else `Employee <id>`."""
        parts = " ".join(p for p in (self.first_name, self.last_name) if p)
        return (self.name or parts or f"Employee {self.id}").strip()


class TaskType(StrivenModel):
    id: int
    name: str | None = None


class StrivenTeam(StrivenModel):
    """A team and its member employee ids (sandbox endpoint or connection settings)."""

    id: int
    name: str
    member_ids: list[int] = Field(
        default_factory=list,
        validation_alias=AliasChoices("memberIds", "members", "employeeIds", "member_ids"),
    )

    @field_validator("member_ids", mode="before")
    @classmethod
    def _members(cls, value: Any) -> Any:
        if not value:
            return []
        return [m.get("id") if isinstance(m, dict) else m for m in value]


class Page[T](BaseModel):
    total_count: int = Field(default=0, validation_alias=AliasChoices("totalCount", "total"))
    data: list[T] = Field(default_factory=list)
