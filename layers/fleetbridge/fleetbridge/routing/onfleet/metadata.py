"""The `nextmv:0.1:<attribute>` metadata extensions on Onfleet tasks and workers (issue 7, §7).

Onfleet metadata is an array of `{"name", "type", "subtype"?, "visibility", "value"}`. Entries
whose name starts with `nextmv:` are ours; every other entry is ignored, except one starting
with `nextmv:` in another case (`Nextmv:`), which fails the run rather than being ignored. Choices made here:

- Only version `0.1` exists: another version, an unknown attribute, a worker attribute on a task
  (or the reverse) and the same attribute twice all fail the run, naming the task/worker and entry.
- The declared `type` must match the JSON type of `value` (Onfleet enforces it; we check again).
- Leniency only where it is unambiguous. An attribute that never takes a plain string (positions,
  quantities, numbers) also accepts a `string` entry holding JSON of the right shape, e.g. `"12"`
  or `'{"lon": 1, "lat": 2}'`. Where a plain string is a valid value it is taken literally: times,
  and id/attribute lists (one string is a one-element list), except that a list string starting
  with `[` must be a JSON array of strings.
- Positions are `{"lon", "lat"}` or Onfleet's own `[lon, lat]`. Times are RFC 3339 with an offset,
  or a number of Unix milliseconds (Onfleet's convention); both come out as RFC 3339 in UTC.
- Quantities and capacities are an integer or an object of integers (multi-dimension); integral
  floats such as `2.0` pass as integers. Merging with native fields happens in `onfleet.stops`
  and `onfleet.vehicles`.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from fleetbridge.core.errors import InvalidInputError

PREFIX = "nextmv:"
VERSION = "0.1"
Entity = Literal["task", "worker"]
Quantity = int | dict[str, int]


class RunInputError(InvalidInputError):
    """The Onfleet run cannot be built; names the ids, task/worker and attribute at fault."""

    def __init__(
        self,
        message: str,
        *,
        ids: Iterable[str] = (),
        entity: Entity | None = None,
        entity_id: str | None = None,
        attribute: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.ids = tuple(ids)
        self.entity = entity
        self.entity_id = entity_id
        self.attribute = attribute


class _Invalid(ValueError):
    """A value that does not fit its attribute; the caller says whose and which."""


# ----------------------------------------------------------------------------- times
def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`; milliseconds only when there are some."""
    moment = moment.astimezone(UTC)
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def rfc3339_from_ms(ms: float) -> str:
    """Onfleet's Unix milliseconds as RFC 3339 (UTC)."""
    return rfc3339(datetime.fromtimestamp(ms / 1000, UTC))


def parse_time(value: Any) -> datetime:
    """An RFC 3339 string with an offset, or Unix milliseconds, as an aware datetime.

    Raises ValueError otherwise.
    """
    if _is_number(value):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise _Invalid("Unix milliseconds within the calendar") from None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
    raise _Invalid("an RFC 3339 time with an offset, or Unix milliseconds")


# ----------------------------------------------------------------------------- value parsers
def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(minimum: float = 0, *, positive: bool = False) -> Callable[[Any], float]:
    expected = "a number > 0" if positive else f"a number >= {minimum:g}"

    def parse(value: Any) -> float:
        if not _is_number(value) or value < minimum or (positive and value <= 0):
            raise _Invalid(expected)
        return int(value) if float(value).is_integer() else float(value)

    return parse


def _as_int(value: Any) -> int:
    if not _is_number(value) or not float(value).is_integer():
        raise _Invalid("an integer")
    return int(value)


def _integer(minimum: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if not _is_number(value) or not float(value).is_integer() or value < minimum:
            raise _Invalid(f"an integer >= {minimum}")
        return int(value)

    return parse


def parse_position(value: Any) -> dict[str, float]:
    """`{"lon", "lat"}` or `[lon, lat]` as `{"lon", "lat"}`; raises ValueError otherwise."""
    if isinstance(value, Mapping) and set(value) == {"lon", "lat"}:
        lon, lat = value["lon"], value["lat"]
    elif isinstance(value, list) and len(value) == 2:
        lon, lat = value
    else:
        raise _Invalid('a position {"lon", "lat"} or [lon, lat]')
    if not (_is_number(lon) and _is_number(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise _Invalid("a position with -180 <= lon <= 180 and -90 <= lat <= 90")
    return {"lon": lon, "lat": lat}


def _quantity(value: Any) -> Quantity:
    if isinstance(value, Mapping) and value:
        try:
            return {str(key): _as_int(amount) for key, amount in value.items()}
        except _Invalid:
            pass
    elif _is_number(value) and float(value).is_integer():
        return int(value)
    raise _Invalid("an integer or a non-empty object of integers")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str) and value.startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            raise _Invalid("a JSON array of strings") from None
    elif isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise _Invalid("a string or an array of non-empty strings")
    return list(dict.fromkeys(value))  # keeps the order, drops repeats


def _time(value: Any) -> str:
    return rfc3339(parse_time(value))


@dataclass(frozen=True)
class Attribute:
    """One extension: how to parse it, and whether a string may hold its JSON."""

    parse: Callable[[Any], Any]
    json_strings: bool = True


_COMMON = {"compatibility_attributes": Attribute(_strings, json_strings=False)}

TASK_ATTRIBUTES: dict[str, Attribute] = {
    "position": Attribute(parse_position),
    "unassigned_penalty": Attribute(_integer(0)),
    "quantity": Attribute(_quantity),
    "precedes": Attribute(_strings, json_strings=False),
    "max_wait": Attribute(_integer(-1)),  # -1 means unlimited
    "target_time": Attribute(_time, json_strings=False),
    "earliness_penalty": Attribute(_number(0)),
    "lateness_penalty": Attribute(_number(0)),
    **_COMMON,
}

WORKER_ATTRIBUTES: dict[str, Attribute] = {
    "start": Attribute(parse_position),
    "end": Attribute(parse_position),
    "speed": Attribute(_number(positive=True)),
    "capacity": Attribute(_quantity),
    "shift_start": Attribute(_time, json_strings=False),
    "shift_end": Attribute(_time, json_strings=False),
    "max_stops": Attribute(_integer(0)),
    "max_distance": Attribute(_number(0)),
    "max_duration": Attribute(_number(0)),
    "stop_duration_multiplier": Attribute(_number(positive=True)),
    "backlog": Attribute(_strings, json_strings=False),
    "alternate_stops": Attribute(_strings, json_strings=False),
    "initialization_cost": Attribute(_number(0)),
    **_COMMON,
}

_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "boolean": lambda v: isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, Mapping),
    "array": lambda v: isinstance(v, list),
}


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _json_type(value: Any) -> str:
    found = [name for name, check in _JSON_TYPES.items() if check(value)]
    return found[0] if found else "null" if value is None else type(value).__name__


def parse_extensions(
    entity: Entity, entity_id: str, metadata: Sequence[Any] | None
) -> dict[str, Any]:
    """The checked `nextmv:0.1:*` attributes of one task or worker, keyed by attribute name.

    Raises `RunInputError` naming the entity, its id and the metadata entry on any fault.
    """
    known = TASK_ATTRIBUTES if entity == "task" else WORKER_ATTRIBUTES
    other = WORKER_ATTRIBUTES if entity == "task" else TASK_ATTRIBUTES
    found: dict[str, Any] = {}

    def fail(name: str, why: str, attribute: str | None = None) -> RunInputError:
        return RunInputError(
            f'{entity} {entity_id}: metadata "{name}" {why}',
            entity=entity,
            entity_id=entity_id,
            attribute=attribute or name,
            field=f"metadata.{name}",
        )

    for entry in metadata or ():
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if not isinstance(name, str) or not name.lower().startswith(PREFIX):
            continue
        if not name.startswith(PREFIX):  # "Nextmv:", "NEXTMV:": a typo, never silently ignored
            raise fail(name, f"must start with lower-case {PREFIX} (got {name[: len(PREFIX)]!r})")
        version, _, attribute = name[len(PREFIX) :].partition(":")
        if version != VERSION:
            raise fail(name, f"has an unsupported version (only nextmv:{VERSION}:<attribute>)")
        if attribute not in known:
            hint = f" (a {'worker' if entity == 'task' else 'task'} attribute)"
            known_list = ", ".join(sorted(known))
            raise fail(
                name,
                f"is not a {entity} attribute{hint if attribute in other else ''}; "
                f"known: {known_list}",
                attribute,
            )
        if attribute in found:
            raise fail(name, "appears more than once", attribute)
        value, declared = entry.get("value"), entry.get("type")
        if declared is not None and (
            declared not in _JSON_TYPES or not _JSON_TYPES[declared](value)
        ):
            raise fail(
                name, f"declares type {_show(declared)} but holds a {_json_type(value)}", attribute
            )
        spec = known[attribute]
        if spec.json_strings and isinstance(value, str):
            # a string can only mean JSON here; if it is not, the parser says what was expected
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        try:
            found[attribute] = spec.parse(value)
        except _Invalid as invalid:
            got = _show(entry.get("value"))
            raise fail(name, f"must be {invalid}, got {got}", attribute) from None
    return found
