"""Connection settings of the Striven → Onfleet flow (validated on save)."""

from __future__ import annotations

from typing import Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fleetbridge.core.flow_settings import Emails, FlowSettings, TimeZone
from fleetbridge.core.phones import DEFAULT_REGION, Region

TeamSourceKind = Literal["endpoint", "settings"]


class TeamSpec(BaseModel):
    """A Striven team listed in the settings (Striven's API has no teams endpoint)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: int
    name: str = Field(min_length=1)
    member_ids: list[int] = Field(default_factory=list, alias="memberIds")


class StrivenOnfleetSettings(FlowSettings):
    """`settings` of a `striven-onfleet` connection (`admin_emails` was `notify_recipients`)."""

    time_zone: TimeZone = Field(
        description="IANA zone of the Striven tenant: its dates carry no offset (required: a "
        "wrong default would shift every task by hours)"
    )
    admin_emails: Emails = Field(
        default_factory=list, description="emails told about failures (driver conflicts, errors)"
    )
    task_type_ids: list[int] = Field(
        default_factory=list, description="Striven task types to sync (none: nothing syncs)"
    )
    team_ids: list[int] = Field(
        default_factory=list, description="Striven teams whose members' tasks sync"
    )
    phone_type: str = Field(
        default="Mobile", min_length=1, description="Striven phone type matched to Onfleet phones"
    )
    default_region: Region = Field(
        default=DEFAULT_REGION,
        description="ISO country of phone numbers written without +: Striven phones and "
        "customer phones are read as national numbers of it",
    )
    poll_minutes: int = Field(default=5, ge=1, le=60, description="task poll interval")
    poll_overlap_minutes: int = Field(
        default=2, ge=0, le=60, description="re-read this much before the high-water mark"
    )
    page_size: int = Field(default=500, ge=1, le=1000, description="Striven search page size")
    team_source: TeamSourceKind = Field(
        default="settings",
        description="where teams and members come from: `settings` (the `teams` list below; "
        "Striven's public API has no teams endpoint) or `endpoint` (`GET /v1/teams`, which only "
        "our sandbox, or a proxy in front of Striven that adds it, answers)",
    )
    teams: list[TeamSpec] = Field(
        default_factory=list,
        description="the selected teams and their Striven employee ids when team_source is "
        "'settings'; edit them with PATCH /connections/{id}: the next poll applies the change",
    )
    striven_requests_per_minute: int = Field(
        default=100, ge=1, le=10_000, description="Striven plan: Standard 100, Enterprise 500"
    )
    striven_requests_per_day: int = Field(
        default=5000, ge=1, le=1_000_000, description="Striven plan: Standard 5,000, Ent. 25,000"
    )

    @field_validator("task_type_ids", "team_ids")
    @classmethod
    def _unique(cls, values: list[int]) -> list[int]:
        return list(dict.fromkeys(values))

    @model_validator(mode="after")
    def _teams_listed(self) -> Self:
        if self.team_source == "settings":
            listed = {team.id for team in self.teams}
            missing = [team_id for team_id in self.team_ids if team_id not in listed]
            if missing:
                raise ValueError(f"team_ids {missing} are not listed in teams")
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The tenant's time zone."""
        return ZoneInfo(self.time_zone)
