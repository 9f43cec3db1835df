"""Connection settings of the Fleetio → Keycafe flow (validated on save)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fleetbridge.core.flow_settings import Emails, FlowSettings, TimeZone
from fleetbridge.core.phones import DEFAULT_REGION, Region

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


class FleetioKeycafeSettings(FlowSettings):
    """`settings` of a `fleetio-keycafe` connection."""

    time_zone: TimeZone = Field(
        default="UTC", description="IANA zone used for Keycafe booking times"
    )
    custom_fields: CustomFieldKeys = Field(default_factory=CustomFieldKeys)
    webhook_events: WebhookEvents = Field(default_factory=WebhookEvents)
    default_booking_hours: int = Field(
        default=24, ge=1, le=24 * 30, description="booking length for open-ended assignments"
    )
    admin_emails: Emails = Field(
        default_factory=list, description="Prompt reminders and failure notices"
    )
    keycafe_dashboard_url: str = Field(
        default="https://www.keycafe.com/app", description="where admins create access by hand"
    )
    default_region: Region = Field(
        default=DEFAULT_REGION,
        description="ISO country of mobile numbers written without + (Keycafe user matching)",
    )
