"""Stored records shared by every flow. API outputs are separate models (fleetbridge.api)."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["created", "updated", "deleted", "linked", "skipped", "failed", "notified"]
ACTIONS: tuple[str, ...] = Action.__args__  # type: ignore[attr-defined]


def utcnow() -> datetime:
    """Timezone-aware now in UTC (one clock for the whole layer)."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, sortable as a string."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_id(prefix: str) -> str:
    """A short random id with a readable prefix, e.g. `con_8f3k2...`."""
    return f"{prefix}_{secrets.token_hex(8)}"


def fingerprint(content: Any) -> str:
    """Stable hash of JSON-able content: equal content, equal fingerprint."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Record(BaseModel):
    """Base of stored records: strict on our own fields, ignores attributes it does not know."""

    model_config = ConfigDict(extra="ignore")


class Tenant(Record):
    id: str
    name: str
    created_at: str
    #: a disabled tenant's API keys are refused (operator CLI: `fleetbridge.admin`)
    enabled: bool = True


class Connection(Record):
    """One configured flow instance of a tenant (DESIGN.md §2, contract)."""

    id: str
    tenant_id: str
    flow: str
    name: str
    enabled: bool = True
    settings: dict[str, Any] = Field(default_factory=dict)
    secret_arn: str
    #: the Secrets Manager version holding this record's credentials (set by updates)
    secret_version: str | None = None
    version: int = 1
    created_at: str
    updated_at: str


class Mapping(Record):
    """External id on the source side ↔ id on the other side, plus what was last synced."""

    connection_id: str
    entity: str
    external_id: str
    other_id: str | None = None
    fingerprint: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    version: int = 0
    updated_at: str | None = None


class ActivityRecord(Record):
    """One decision of a flow about one entity (DESIGN.md §2, contract)."""

    id: str
    connection_id: str
    at: str
    flow: str
    source_event: str
    entity: str
    action: Action
    reason: str = ""
    vendor_ids: dict[str, Any] = Field(default_factory=dict)


RunStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]


class Run(Record):
    """A reconciliation or routing run and where its result is."""

    id: str
    tenant_id: str
    kind: str
    status: RunStatus = "queued"
    connection_id: str | None = None
    error: str | None = None
    input_key: str | None = None
    result_key: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    version: int = 1
    created_at: str
    updated_at: str
