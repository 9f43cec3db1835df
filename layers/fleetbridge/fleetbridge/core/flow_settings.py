"""The settings every flow's connection shares, and the validators flows reuse.

A flow's settings model subclasses `FlowSettings` (unknown keys rejected): who is emailed
(`admin_emails`, one name in every flow), the vendor host overrides and the mass-removal
threshold. `TimeZone` and `Emails` are the shared field types.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from fleetbridge.core.mass_removal import MassRemovalThreshold, threshold_field

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: The setting listing who is emailed (failures, refused credentials, held mass removals).
RECIPIENTS = "admin_emails"
#: Earlier names of `RECIPIENTS`, still accepted on input (stored connections, old clients).
DEPRECATED_RECIPIENTS = ("notify_recipients",)


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


def _emails(values: list[str]) -> list[str]:
    for value in values:
        if not EMAIL.match(value):
            raise ValueError(f"not an email address: {value!r}")
    return values


#: An IANA time zone name (`America/New_York`).
TimeZone = Annotated[str, AfterValidator(_known_zone)]
#: A list of email addresses.
Emails = Annotated[list[str], AfterValidator(_emails)]


def recipients(settings: dict[str, Any]) -> list[str]:
    """Who is emailed for a connection's stored `settings` (its deprecated names too)."""
    for name in (*DEPRECATED_RECIPIENTS, RECIPIENTS):
        if settings.get(name):
            return list(settings[name])
    return []


class FlowSettings(BaseModel):
    """The base of every flow's `settings` model."""

    model_config = ConfigDict(extra="forbid")

    admin_emails: Emails = Field(
        default_factory=list,
        description="who is emailed: failures, refused credentials, held mass removals (empty: "
        "a warning on the connection). Formerly `notify_recipients` (Striven → Onfleet), still "
        "accepted",
    )
    base_urls: dict[str, str] = Field(default_factory=dict)
    mass_removal_threshold: MassRemovalThreshold = threshold_field()

    @model_validator(mode="before")
    @classmethod
    def _deprecated_names(cls, data: Any) -> Any:
        """`notify_recipients` → `admin_emails`. The old name wins when both are present: stored
        settings carry only the new one, so the old one was just sent (a PATCH merges them)."""
        if isinstance(data, dict) and any(name in data for name in DEPRECATED_RECIPIENTS):
            data = dict(data)
            for name in DEPRECATED_RECIPIENTS:
                if name in data:
                    data[RECIPIENTS] = data.pop(name)
        return data
