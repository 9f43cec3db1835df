"""What the stop and vehicle transforms share: the record of what each transform did, and the
checks that fail the run naming the task or worker (whole numbers, positions, dimensions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fleetbridge.routing.onfleet.metadata import Entity, RunInputError, parse_position
from fleetbridge.routing.onfleet.request import unique_ids

DEFAULT_DIMENSION = "default"
METADATA_DIMENSION = "metadata"  # the dimension of a plain-number metadata quantity/capacity
Window = tuple[float | None, float | None]  # Onfleet ms: (completeAfter, completeBefore)
NOT_IN_RUN = "not stops of this run"


@dataclass
class TransformContext:
    """What the run's transforms share: which tasks are stops or alternates, and the records."""

    routed: set[str]  # requested tasks that are regular stops
    alternates: list[str]
    alternate_owner: dict[str, str] = field(default_factory=dict)  # assigned in Onfleet
    records: dict[str, dict[str, list[dict[str, Any]]]] = field(
        default_factory=lambda: {"tasks": {}, "workers": {}}
    )
    run_notes: list[str] = field(default_factory=list)

    def note(self, kind: str, entity_id: str, field_: str, source: str, **extra: Any) -> None:
        """Record that `field_` of the task/worker came from `source`."""
        entry = {"field": field_, "from": source, **extra}
        self.records[kind].setdefault(entity_id, []).append(entry)


@dataclass
class EntityLog:
    """Records the transforms of one task or worker."""

    ctx: TransformContext
    kind: str  # "tasks" | "workers"
    entity_id: str

    def __call__(self, field_: str, source: str, **extra: Any) -> None:
        self.ctx.note(self.kind, self.entity_id, field_, source, **extra)

    def skipped(self, field_: str, source: str, flag: str) -> None:
        self(field_, source, skipped=f"compatibility.{self.kind}.{flag} is false")

    def kept(self, field_: str, source: str, ids: Sequence[str]) -> list[str]:
        """The ids that are stops of the run; the others are dropped, and noted."""
        kept = [i for i in unique_ids(list(ids)) if i in self.ctx.routed and i != self.entity_id]
        dropped = [i for i in ids if i not in kept]
        self(
            field_,
            source,
            value=kept,
            **({"dropped": dropped, "note": NOT_IN_RUN} if dropped else {}),
        )
        return kept


def fail(
    entity: Entity, entity_id: str, attribute: str, message: str, ids: Sequence[str] = ()
) -> RunInputError:
    """A `RunInputError` naming the task/worker and attribute (`message` follows the id)."""
    return RunInputError(
        f"{entity} {entity_id}{message}",
        ids=ids or [entity_id],
        entity=entity,
        entity_id=entity_id,
        attribute=attribute,
    )


def integral(value: float, entity: Entity, entity_id: str, attribute: str) -> int:
    """`value` as an int, or the run fails: Onfleet quantities and capacities are whole."""
    if not float(value).is_integer():
        raise fail(entity, entity_id, attribute, f": {attribute} {value:g} is not a whole number")
    return int(value)


def native_amount(
    value: float | None, on: bool, log: EntityLog, entity: Entity, entity_id: str, attribute: str
) -> int | None:
    """The native `attribute` (`quantity`, `capacity`: also its compatibility flag's name), a
    whole number; None when unset, 0 or its flag is off (noted as skipped)."""
    if value and not on:
        log.skipped(attribute, attribute, attribute)
        return None
    return integral(value, entity, entity_id, attribute) if value else None


def merge_quantity(
    native: int | None, extension: Any, entity: Entity, entity_id: str, attribute: str
) -> int | dict[str, int] | None:
    """The native value plus the metadata one, each in its own dimension."""
    if extension is None:
        return native
    added = dict(extension) if isinstance(extension, dict) else {METADATA_DIMENSION: extension}
    if native is None:
        return added
    if DEFAULT_DIMENSION in added:
        raise fail(
            entity,
            entity_id,
            attribute,
            f': metadata nextmv:0.1:{attribute} names the dimension "{DEFAULT_DIMENSION}", '
            f"which holds the native {attribute}: give the metadata dimension another name",
        )
    return {DEFAULT_DIMENSION: native, **added}


def native_position(entity: Entity, entity_id: str, location: list[float]) -> dict[str, float]:
    """Onfleet's `[lon, lat]` as a router position, or the run fails naming the entity."""
    try:
        return parse_position(location)
    except ValueError:
        raise fail(
            entity, entity_id, "location", f": location {location} is not [lon, lat]"
        ) from None
