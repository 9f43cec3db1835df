"""Rules every routing profile follows (issue 7, §1-2): ids, compatibility flags, and the
router-input `defaults`/`options` a run profile carries. Each broken rule is an
`InvalidInputError` (a 422) that names the rule and the field."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from fleetbridge.core.errors import InvalidInputError
from fleetbridge.routing.errors import field_path

ID_PATTERN = re.compile(r"[a-z0-9-]+")
MAX_ID_LENGTH = 32


def check_profile_id(profile_id: str) -> str:
    """The id, or InvalidInputError naming the rule it breaks."""
    if not profile_id:
        raise InvalidInputError("id is required", field="id")
    if len(profile_id) > MAX_ID_LENGTH:
        raise InvalidInputError(
            f"id must be at most {MAX_ID_LENGTH} characters (it has {len(profile_id)})",
            field="id",
        )
    if not ID_PATTERN.fullmatch(profile_id):
        raise InvalidInputError(
            f"id {profile_id!r} may contain only lower-case letters, digits and dashes",
            field="id",
        )
    return profile_id


def _validated(model: type[BaseModel], value: Any, field: str) -> BaseModel:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = field_path((field, *first["loc"]))
        raise InvalidInputError(f"{where}: {first['msg']}", field=where) from None


def compatibility_flags(compatibility: Any) -> dict[str, Any]:
    """Every compatibility flag (unset ones true), or InvalidInputError naming the field."""
    from fleetbridge.routing.onfleet.request import Compatibility

    field = "configuration.compatibility"
    flags = _validated(Compatibility, compatibility or {}, field)
    return flags.model_dump()


def check_defaults_and_options(defaults: Any, options: Any) -> None:
    """Run profile `defaults`/`options` must fit the router input schema (422 naming the field)."""
    check_routing_defaults_and_options(defaults, options, "")


def check_routing_defaults_and_options(defaults: Any, options: Any, prefix: str) -> None:
    """`defaults`/`options` against the router input schema, fields named under `prefix`
    (e.g. "routing." for an Onfleet run request); options this engine does not honour are
    refused by name."""
    from fleetbridge.routing.schema import Defaults, check_options

    if defaults is not None:
        _validated(Defaults, defaults, f"{prefix}defaults")
    if options is not None:
        check_options(options, f"{prefix}options")


def check_immutable_id(path_id: str, body_id: str | None) -> None:
    """A PUT body naming another id than the path's is refused."""
    if body_id is not None and body_id != path_id:
        raise InvalidInputError(
            f"id cannot be changed (profile {path_id!r}, body says {body_id!r})", field="id"
        )
