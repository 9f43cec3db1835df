"""Routing API bodies and answers (Nextmv-compatible field names).

Plain pydantic on purpose: the API function imports these at cold start, so nothing here may
import `fleetbridge.routing` (rules and the solver load on the first routing request).
Profile bodies reject unknown fields like every body of ours (a typo must not pass silently);
the read-only fields of an answer are accepted and ignored, so a profile read with GET can be sent
back with PUT.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fleetbridge.core.payload import bounded_object

COMPATIBILITY_HELP = (
    '`{"tasks": {complete_before_after, dependencies, location, quantity, service_time}, '
    '"workers": {active_task, capacity, location, tasks}}`: any flag not explicitly false is true'
)
ID_HELP = "lower-case letters, digits and dashes; at most 32 characters; immutable"


#: a free-form object, at most 32 KB as JSON
SmallObject = Annotated[dict[str, Any], AfterValidator(bounded_object)]
#: an Onfleet API key (Onfleet's are 32 characters; room for other formats)
ApiKey = Annotated[str, Field(min_length=1, max_length=512)]
Description = Annotated[str, Field(max_length=2000)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Resent(_Body):
    """Fields of an answer that a body may carry back (read-only: ignored)."""

    type: Literal["onfleet"] | None = Field(default=None, description="read-only, ignored")
    version: int | None = Field(default=None, description="read-only, ignored")
    created_at: str | None = Field(default=None, description="read-only, ignored")
    updated_at: str | None = Field(default=None, description="read-only, ignored")


class OnfleetConfigurationIn(_Body):
    api_key: ApiKey = Field(description="Onfleet API key (checked with /auth/test)")
    compatibility: SmallObject | None = Field(default=None, description=COMPATIBILITY_HELP)


class OnfleetConfigurationUpdate(_Body):
    api_key: ApiKey | None = Field(
        default=None, description="omit (or send the masked value) to keep it"
    )
    compatibility: SmallObject | None = Field(default=None, description=COMPATIBILITY_HELP)


class IntegrationProfileIn(_Resent):
    """`POST /v1/routing/profiles/integration/onfleet`."""

    id: str = Field(max_length=32, description=ID_HELP)
    name: str = Field(min_length=1, max_length=200)
    description: Description | None = None
    configuration: OnfleetConfigurationIn


class IntegrationProfileUpdate(_Resent):
    """`PUT /v1/routing/profiles/integration/onfleet/{id}`: replaces all but id and key."""

    id: str | None = Field(
        default=None, max_length=32, description="if given, must be the profile's id"
    )
    name: str = Field(min_length=1, max_length=200)
    description: Description | None = None
    configuration: OnfleetConfigurationUpdate = Field(default_factory=OnfleetConfigurationUpdate)


class OnfleetConfigurationOut(BaseModel):
    api_key: str = Field(description="masked: first 2 and last 3 characters")
    compatibility: dict[str, Any]


class IntegrationProfileOut(BaseModel):
    id: str
    type: Literal["onfleet"] = "onfleet"
    name: str
    description: str | None = None
    configuration: OnfleetConfigurationOut
    version: int
    created_at: str
    updated_at: str


class IntegrationRefIn(_Body):
    id: str = Field(min_length=1, max_length=32)
    type: Literal["onfleet"]


class RunProfileIn(_Resent):
    """`POST /v1/routing/profiles/run` (and `PUT …/{id}`, which replaces all but the id)."""

    id: str | None = Field(default=None, max_length=32, description=ID_HELP + " (required on POST)")
    name: str = Field(min_length=1, max_length=200)
    description: Description | None = None
    integrations: list[IntegrationRefIn] = Field(default_factory=list, max_length=20)
    defaults: SmallObject | None = Field(
        default=None, description="router input `defaults` merged under each run's"
    )
    options: SmallObject | None = Field(
        default=None, description="router input `options` merged under each run's"
    )


class RunProfileOut(BaseModel):
    id: str
    name: str
    description: str | None = None
    integrations: list[IntegrationRefIn]
    defaults: dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    version: int
    created_at: str
    updated_at: str


class RunStarted(BaseModel):
    """Both spellings: the legacy quickstart reads `runID`, the Onfleet page `run_id`."""

    run_id: str
    runID: str  # the legacy Nextmv field name


class RunStatusOut(BaseModel):
    status: Literal["requested", "started", "succeeded", "failed", "timed_out", "canceled"]
    error: str | None = None
    infeasible: list[dict[str, Any]] | None = Field(
        default=None, description="per mandatory stop that cannot be served: why"
    )
    apply: dict[str, Any] | None = Field(
        default=None, description="the queued apply's progress (status, containers written...)"
    )


class ApplyRequest(_Body):
    dry_run: bool = Field(default=True, description="false writes to Onfleet")


class ApplyOut(BaseModel):
    dry_run: bool
    status: str | None = Field(default=None, description="queued: poll the run's status")
    progress: dict[str, Any] | None = None
    containers: list[dict[str, Any]] = Field(description="`{worker, tasks}` to PUT")
    delete_tasks: list[str] = Field(description="unused alternate tasks to DELETE")
    applied_at: str | None = None
    written_containers: list[str] | None = None
    deleted_tasks: list[str] | None = None
    skipped_deletions: list[str] | None = None
    errors: list[dict[str, str]] | None = None
    ok: bool | None = None
