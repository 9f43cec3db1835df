"""API input and output models (separate from stored records on purpose)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fleetbridge.core.models import Action, ActivityRecord, Connection
from fleetbridge.core.payload import bounded_object
from fleetbridge.core.queue import DeadLetter
from fleetbridge.core.registry import Plan, VendorCheck

#: Limits (Secrets Manager holds at most 64 KB per secret; a DynamoDB item at most 400 KB).
CredentialName = Annotated[str, Field(min_length=1, max_length=64)]
CredentialValue = Annotated[str, Field(max_length=4096, description="at most 4,096 characters")]
Credentials = Annotated[
    dict[CredentialName, CredentialValue],
    Field(max_length=12, description="flat `<vendor>_<credential>` keys; at most 12"),
]
Settings = Annotated[
    dict[str, Any],
    AfterValidator(bounded_object),
    Field(description="the flow's settings; at most 32 KB as JSON"),
]


class ConnectionCreate(BaseModel):
    """`POST /connections` body (DESIGN.md §2 connection payload)."""

    model_config = ConfigDict(extra="forbid")

    flow: str = Field(
        max_length=64, description="fleetio-keycafe, striven-onfleet, gpsinsight-driveri, ..."
    )
    name: str = Field(min_length=1, max_length=120)
    credentials: Credentials
    settings: Settings = Field(default_factory=dict)


class ConnectionPatch(BaseModel):
    """`PATCH /connections/{id}`: only the given parts change; settings/credentials merge."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    credentials: Credentials | None = None
    settings: Settings | None = None
    version: int | None = Field(
        default=None, ge=1, le=2**31, description="reject the change if not current"
    )


class ConnectionOut(BaseModel):
    """A connection as the API shows it: credentials masked, webhook URLs spelled out."""

    id: str
    flow: str
    name: str
    enabled: bool
    settings: dict[str, Any]
    credentials: dict[str, str]
    webhook_urls: dict[str, str]
    version: int
    created_at: str
    updated_at: str
    #: `ok`, or `credentials_invalid` (a vendor refused them: the connection's work waits)
    status: str = "ok"
    status_detail: dict[str, Any] | None = None
    #: e.g. nobody to notify (an empty recipients list)
    warnings: list[str] = Field(default_factory=list)

    @classmethod
    def build(
        cls,
        connection: Connection,
        masked: dict[str, str],
        webhook_vendors: tuple[str, ...],
        base_url: str,
        health: dict[str, Any] | None = None,
    ) -> ConnectionOut:
        """From the stored connection, its masked credentials and its health (status,
        warnings: `connection_service.connection_health`)."""
        health = dict(health or {"status": "ok", "warnings": []})
        status = str(health.pop("status", "ok"))
        warnings = list(health.pop("warnings", []))
        return cls(
            status=status,
            status_detail=health or None,
            warnings=warnings,
            id=connection.id,
            flow=connection.flow,
            name=connection.name,
            enabled=connection.enabled,
            settings=connection.settings,
            credentials=masked,
            webhook_urls={
                vendor: f"{base_url}/hooks/{vendor}/{connection.id}" for vendor in webhook_vendors
            },
            version=connection.version,
            created_at=connection.created_at,
            updated_at=connection.updated_at,
        )


class ConnectionList(BaseModel):
    items: list[ConnectionOut]


class TestResult(BaseModel):
    ok: bool
    vendors: list[VendorCheck]
    #: the connection's status after the test (`ok` once a refused credential works again)
    status: str = "ok"
    warnings: list[str] = Field(default_factory=list)


class ActivityPage(BaseModel):
    items: list[ActivityRecord]
    next_cursor: str | None = None


class DeadLetterList(BaseModel):
    items: list[DeadLetter]


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_ids: list[Annotated[str, Field(max_length=128)]] | None = Field(
        default=None, max_length=1000, description="omit to replay all"
    )


class ReplayResult(BaseModel):
    replayed: list[str]


class SyncQueued(BaseModel):
    queued: bool = True
    message_id: str


class SyncPlan(BaseModel):
    plan: Plan
    summary: dict[str, int]


ActionFilter = Action
