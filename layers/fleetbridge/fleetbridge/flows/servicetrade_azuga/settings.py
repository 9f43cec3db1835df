"""Connection settings of the ServiceTrade ↔ Azuga flow (validated on save)."""

from __future__ import annotations

from pydantic import Field

from fleetbridge.core.flow_settings import Emails, FlowSettings, TimeZone
from fleetbridge.vendors.azuga_models import MAX_RADIUS_METERS

#: 10 miles in whole metres (Azuga's maximum radius, rounded down so it is always accepted).
MAX_RADIUS_M = int(MAX_RADIUS_METERS)


class ServiceTradeAzugaSettings(FlowSettings):
    """`settings` of a `servicetrade-azuga` connection."""

    send_service_link: bool = Field(
        default=True, description="send ServiceTrade's Service Link on an En Route clock-in"
    )
    reply_to: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="reply-to address of the Service Link emails",
    )
    admin_emails: Emails = Field(
        default_factory=list,
        description="activity report recipients; also told about dead letters",
    )
    geofence_radius_m: int = Field(
        default=150, ge=1, le=MAX_RADIUS_M, description="fence radius (at most 10 miles)"
    )
    arrival_window_hours: int = Field(
        default=8, ge=0, le=72, description="an arrival counts within ± this of windowStart"
    )
    onsite_clock_out: bool = Field(
        default=False, description="clock out On Site when the vehicle leaves the fence"
    )
    time_zone: TimeZone = Field(default="UTC", description="IANA zone of the activity report")
    poll_minutes: int = Field(default=5, ge=1, le=60, description="ServiceTrade poll interval")
