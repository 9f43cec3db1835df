"""Connection settings of the GPS Insight → Driveri flow (validated on save)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from fleetbridge.core.flow_settings import Emails, FlowSettings

FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

DeleteMode = Literal["deactivate", "delete"]


class GpsInsightDriveriSettings(FlowSettings):
    """`settings` of a `gpsinsight-driveri` connection."""

    driver_id_field: str = Field(
        default="driveri_driver_id", description="portal driver field holding the Driveri DriverID"
    )
    delete_mode: DeleteMode = Field(
        default="deactivate",
        description="what a portal delete does in Driveri: status 0, or a hard delete",
    )
    poll_minutes: int = Field(default=5, ge=1, le=60, description="portal poll interval")
    driver_sync_enabled: bool = Field(
        default=False, description="off until the portal's Master User opts in"
    )
    master_user: str | None = Field(default=None, description="the portal user who opted in")
    admin_emails: Emails = Field(
        default_factory=list,
        description="who is emailed: a portal driver that cannot be synced, a dead letter, "
        "refused credentials, held mass removals (empty: a warning on the connection)",
    )

    @field_validator("driver_id_field")
    @classmethod
    def _field_name(cls, value: str) -> str:
        if not FIELD_NAME.match(value):
            raise ValueError(f"not a portal field name: {value!r}")
        return value
