"""Connection settings of the Fleetio → Keycafe flow (validated on save)."""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fleetbridge.core.mass_removal import MassRemovalThreshold, threshold_field
from fleetbridge.core.phones import DEFAULT_REGION, Region

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Notification = Literal["automatic", "prompt"]


class CustomFieldKeys(BaseModel):
    """Fleetio custom-field keys the flow writes back on the assignment."""

    model_config = ConfigDict(extra="forbid")

    instructions: str = "keycafe_access_instructions"
    link: str = "keycafe_access_link"
    code: str = "keycafe_access_code"


class WebhookEvents(BaseModel):
    """Fleetio event names (configurable: Fleetio does not document them firmly)."""

    model_config = ConfigDict(extra="forbid")

    created: str = "vehicle_assignment_created"
    updated: str = "vehicle_assignment_updated"
    deleted: str = "vehicle_assignment_deleted"


class FleetioKeycafeSettings(BaseModel):
    """`settings` of a `fleetio-keycafe` connection."""

    model_config = ConfigDict(extra="forbid")

    time_zone: str = Field(default="UTC", description="IANA zone used for Keycafe booking times")
    custom_fields: CustomFieldKeys = Field(default_factory=CustomFieldKeys)
    webhook_events: WebhookEvents = Field(default_factory=WebhookEvents)
    default_booking_hours: int = Field(
        default=24, ge=1, le=24 * 30, description="booking length for open-ended assignments"
    )
    admin_emails: list[str] = Field(
        default_factory=list, description="Prompt reminders and failure notices"
    )
    keycafe_dashboard_url: str = Field(
        default="https://www.keycafe.com/app", description="where admins create access by hand"
    )
    default_region: Region = Field(
        default=DEFAULT_REGION,
        description="ISO country of mobile numbers written without + (Keycafe user matching)",
    )
    base_urls: dict[str, str] = Field(default_factory=dict)
    mass_removal_threshold: MassRemovalThreshold = threshold_field()

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("admin_emails")
    @classmethod
    def _emails(cls, values: list[str]) -> list[str]:
        for value in values:
            if not EMAIL.match(value):
                raise ValueError(f"not an email address: {value!r}")
        return values
