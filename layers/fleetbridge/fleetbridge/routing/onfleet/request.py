"""The body of `POST /v1/integrations/onfleet/run` and the compatibility flags (issue 7, §4-5).

`OnfleetRunRequest` names the tasks and workers of a run (ids, the `GET /tasks/all` and
`GET /workers` params to fetch them with, groups, alternate stops) and its run profile;
`Compatibility` (an integration profile's `configuration.compatibility`) says which native
Onfleet fields the transform reads: any flag not explicitly false is true.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "Compatibility",
    "DurationGroup",
    "OnfleetRunRequest",
    "OnfleetSelection",
    "TaskCompatibility",
    "TaskParams",
    "TaskSelection",
    "WorkerCompatibility",
    "WorkerParams",
    "WorkerSelection",
    "show_ids",
    "unique_ids",
]

TaskId = Annotated[str, Field(min_length=1)]


def unique_ids(ids: list[str]) -> list[str]:
    """`ids` without repeats, in first-seen order."""
    return list(dict.fromkeys(ids))


def show_ids(ids: Sequence[str], shown: int = 20) -> str:
    """`ids` for a message: the first `shown`, then how many more."""
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more


# ----------------------------------------------------------------------------- request models
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Params(BaseModel):
    """Query params: snake_case or Onfleet's camelCase keys; unknown keys are typos, so refused."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )


class TaskParams(_Params):
    """`GET /tasks/all` params (`lastId` is ours to page with)."""

    from_: int = Field(alias="from", ge=0, description="Unix ms, required by Onfleet")
    to: int | None = Field(default=None, ge=0)
    state: list[int] | int | str | None = None
    worker: str | None = None
    complete_before_before: int | None = None
    complete_after_after: int | None = None
    dependencies: bool | str | None = None


class WorkerParams(_Params):
    """`GET /workers` params."""

    filter: list[str] | str | None = None
    teams: list[str] | str | None = None
    states: list[int] | int | str | None = None
    phones: list[str] | str | None = None


class RunProfileRef(_Strict):
    id: str = Field(min_length=1)


class RoutingRequest(_Strict):
    run_profile: RunProfileRef
    options: dict[str, Any] | None = None
    defaults: dict[str, Any] | None = None


class TaskSelection(_Strict):
    ids: list[TaskId] = Field(min_length=1)
    params: TaskParams
    page_limit: int | None = Field(default=None, ge=1, le=1000, description="pages of 64")

    _dedupe = field_validator("ids")(unique_ids)


class WorkerSelection(_Strict):
    ids: list[TaskId] = Field(min_length=1)
    params: WorkerParams = Field(default_factory=lambda: WorkerParams())

    _dedupe = field_validator("ids")(unique_ids)


class DurationGroup(_Strict):
    group: list[TaskId] = Field(min_length=1)
    duration: int = Field(ge=0, description="seconds added once when the group is served")


class OnfleetSelection(_Strict):
    tasks: TaskSelection
    workers: WorkerSelection
    stop_groups: list[Annotated[list[TaskId], Field(min_length=2)]] = Field(default_factory=list)
    alternate_stops: list[TaskId] = Field(default_factory=list)
    duration_groups: list[DurationGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _groups_name_routed_tasks(self) -> OnfleetSelection:
        requested, alternates = set(self.tasks.ids), set(self.alternate_stops)
        if missing := [i for i in self.alternate_stops if i not in requested]:
            raise ValueError(f"alternate_stops not in tasks.ids: {show_ids(missing)}")
        grouped = [i for g in self.stop_groups for i in g]
        for name, ids in (("stop_groups", grouped), ("duration_groups", self._duration_ids())):
            if missing := [i for i in ids if i not in requested]:
                raise ValueError(f"{name} name tasks not in tasks.ids: {show_ids(missing)}")
            if alternate := [i for i in ids if i in alternates]:
                raise ValueError(f"{name} name alternate stops: {show_ids(alternate)}")
        if twice := sorted({i for i in grouped if grouped.count(i) > 1}):
            raise ValueError(f"tasks in more than one stop group: {show_ids(twice)}")
        return self

    def _duration_ids(self) -> list[str]:
        return [i for g in self.duration_groups for i in g.group]


class OnfleetRunRequest(_Strict):
    """Body of `POST /v1/integrations/onfleet/run`."""

    routing: RoutingRequest
    onfleet: OnfleetSelection


# ----------------------------------------------------------------------------- compatibility
class _Flags(_Strict):
    @field_validator("*", mode="before")
    @classmethod
    def _unset_is_true(cls, value: Any) -> Any:
        return True if value is None else value  # "any flag not explicitly false is true"


class TaskCompatibility(_Flags):
    complete_before_after: StrictBool = True
    dependencies: StrictBool = True
    location: StrictBool = True
    quantity: StrictBool = True
    service_time: StrictBool = True


class WorkerCompatibility(_Flags):
    active_task: StrictBool = True
    capacity: StrictBool = True
    location: StrictBool = True
    tasks: StrictBool = True


class Compatibility(_Strict):
    """Integration profile `configuration.compatibility`: which native fields are transformed."""

    tasks: TaskCompatibility = Field(default_factory=TaskCompatibility)
    workers: WorkerCompatibility = Field(default_factory=WorkerCompatibility)

    @field_validator("tasks", "workers", mode="before")
    @classmethod
    def _unset_is_default(cls, value: Any) -> Any:
        return {} if value is None else value

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, Any] | None) -> Compatibility:
        """The flags of an integration profile's `configuration` (all true when absent)."""
        return cls.model_validate((configuration or {}).get("compatibility") or {})
