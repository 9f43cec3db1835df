"""The Onfleet task and worker fields the transform reads, as routing's own models.

Not the vendor client's (`vendors.onfleet.PlanningTask`/`PlanningWorker`): these keep only what
planning needs, ignore the rest, and turn a malformed value into a `RunInputError` naming the
task or worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from fleetbridge.core.errors import first_invalid_field
from fleetbridge.routing.onfleet.metadata import RunInputError

__all__ = ["PlanningTask", "PlanningWorker", "parse_planning"]


class _PlanningModel(BaseModel):
    model_config = ConfigDict(
        extra="ignore", alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )


class _Destination(_PlanningModel):
    location: list[float] | None = None


class PlanningTask(_PlanningModel):
    """The task fields the transform reads."""

    id: str
    worker: str | None = None
    complete_after: float | None = None
    complete_before: float | None = None
    pickup_task: bool | None = None
    dependencies: list[str] | None = None
    quantity: float | None = None
    service_time: float | None = None
    destination: _Destination | None = None
    metadata: list[Any] | None = None


class PlanningWorker(_PlanningModel):
    """The worker fields the transform reads."""

    id: str
    tasks: list[str] | None = None
    active_task: str | None = None
    location: list[float] | None = None
    capacity: float | None = None
    metadata: list[Any] | None = None


def parse_planning[M: _PlanningModel](model: type[M], kind: str, item: Mapping[str, Any]) -> M:
    """`item` as `model`, or a `RunInputError` naming the task/worker and the unexpected field."""
    try:
        return model.model_validate(item)
    except ValidationError as error:
        where, message = first_invalid_field(error)
        raise RunInputError(
            f"{kind} {item.get('id')}: unexpected Onfleet {where}: {message}",
            ids=[str(item.get("id"))],
        ) from None
