"""ServiceTrade's records as the API returns them (vendors/servicetrade.md): appointments with
their job, location and techs, users, clock events, and the webhook payload.

Times are unix seconds on the wire and aware UTC `datetime`s here. Models ignore unknown fields.
No httpx here: a flow's rules read these models without loading the client (`servicetrade.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

APPOINTMENT_STATUSES = (
    "unscheduled",
    "scheduled",
    "canceled_by_vendor",
    "canceled_by_customer",
    "completed",
    "no_show",
)
Activity = Literal["enroute", "onsite"]


class ServiceTradeModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _trimmed(cls, value: Any) -> Any:
        """Text trimmed; blank text means absent."""
        return (value.strip() or None) if isinstance(value, str) else value


class Address(ServiceTradeModel):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = Field(default=None, alias="postalCode")


class Contact(ServiceTradeModel):
    """A location's primary contact."""

    id: int | None = None
    name: str | None = None
    email: str | None = None


class Location(ServiceTradeModel):
    id: int
    name: str | None = None
    address: Address | None = None
    lat: float | None = None
    lon: float | None = None
    email: str | None = None
    primary_contact: Contact | None = Field(default=None, alias="primaryContact")


class JobRef(ServiceTradeModel):
    id: int
    number: str | None = None
    uri: str | None = None

    @field_validator("number", mode="before")
    @classmethod
    def _number_text(cls, value: Any) -> Any:
        return None if value is None else str(value)


class Tech(ServiceTradeModel):
    """A user as an appointment lists it."""

    id: int
    name: str | None = None
    email: str | None = None


class User(Tech):
    """`GET /user`: a ServiceTrade user (`isTech=true` lists the techs)."""

    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    status: str | None = None


class Appointment(ServiceTradeModel):
    id: int
    status: str
    window_start: datetime | None = Field(default=None, alias="windowStart")
    window_end: datetime | None = Field(default=None, alias="windowEnd")
    job: JobRef | None = None
    location: Location | None = None
    techs: list[Tech] = Field(default_factory=list)
    released: bool | None = None
    updated: datetime | None = None

    @field_validator("techs", mode="before")
    @classmethod
    def _no_techs(cls, value: Any) -> Any:
        return value or []


class ClockEvent(ServiceTradeModel):
    """`{id, userId, jobId, activity, clockIn, clockOut}`; `clock_out` None while clocked in."""

    id: int
    user_id: int = Field(alias="userId")
    job_id: int = Field(alias="jobId")
    appointment_id: int | None = Field(default=None, alias="appointmentId")
    activity: str
    clock_in: datetime | None = Field(default=None, alias="clockIn")
    clock_out: datetime | None = Field(default=None, alias="clockOut")

    @property
    def open(self) -> bool:
        """Whether the tech is still clocked in."""
        return self.clock_out is None


class Entity(ServiceTradeModel):
    type: str
    id: int | str
    uri: str | None = None


class WebhookChange(ServiceTradeModel):
    """One change of a webhook delivery (always re-fetch the entity: servicetrade.md)."""

    action: str
    timestamp: datetime | None = None
    user_id: int | None = Field(default=None, alias="userId")
    entity: Entity
    changeset: dict[str, Any] = Field(default_factory=dict)

    @field_validator("changeset", mode="before")
    @classmethod
    def _no_changeset(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {}


class WebhookPayload(ServiceTradeModel):
    """`{"messageId", "timestamp", "data": [changes]}`."""

    message_id: str = Field(alias="messageId")
    timestamp: datetime | None = None
    data: list[WebhookChange] = Field(default_factory=list)

    @field_validator("message_id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value
