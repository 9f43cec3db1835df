"""The one way to decode a JSON body a client or a vendor sent us (API and webhook receivers).

Anything that would fail later (deep nesting, numbers DynamoDB cannot hold, invalid UTF-8, lone
surrogates, NaN) is refused here with an error naming the field, so no input reaches a 5xx.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fleetbridge.core.errors import InvalidInputError, MalformedInputError

#: Deepest nesting accepted (our documents need 6 levels; vendors' a few more).
MAX_DEPTH = 32
#: Integers beyond ±2^53 are not ids, counts or amounts of ours (nor exact in JSON clients).
MAX_INT = 2**53
#: DynamoDB numbers lie within 1e-130..1e125; we keep to a margin well inside.
MAX_FLOAT = 1e15
MIN_FLOAT = 1e-15


class _BadNumber:
    """A number literal we refuse, kept as a marker until its path is known."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


def _parse_int(literal: str) -> int | _BadNumber:
    if len(literal) > 17:  # cheap: never build a 5,000-digit int
        return _BadNumber(literal)
    value = int(literal)
    return value if abs(value) <= MAX_INT else _BadNumber(literal)


def _parse_float(literal: str) -> float | _BadNumber:
    if len(literal) > 64:
        return _BadNumber(literal)
    value = float(literal)
    ok = math.isfinite(value) and (value == 0 or MIN_FLOAT <= abs(value) <= MAX_FLOAT)
    return value if ok else _BadNumber(literal)


def _parse_constant(literal: str) -> _BadNumber:
    return _BadNumber(literal)  # NaN, Infinity, -Infinity: not JSON


def parse_json(raw: bytes | str, *, what: str = "request body") -> Any:
    """Decode `raw` as strict JSON that we can store; MalformedInputError (400, field "body") if
    it is not JSON at all, InvalidInputError (422) naming the path of a value we cannot hold."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedInputError(f"{what} is not valid UTF-8", field="body") from exc
    try:
        value = json.loads(
            raw,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except RecursionError as exc:
        raise InvalidInputError(
            f"{what} is nested deeper than {MAX_DEPTH} levels", field="body"
        ) from exc
    except ValueError as exc:
        raise MalformedInputError(f"{what} is not valid JSON", field="body") from exc
    check_value(value)
    return value


def check_value(value: Any) -> None:
    """Walk a decoded document (iteratively: no recursion to exhaust) and refuse what we cannot
    store: depth over MAX_DEPTH, refused numbers, strings or keys that are not valid Unicode."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise InvalidInputError(
                f"body is nested deeper than {MAX_DEPTH} levels", field=_field(path[:MAX_DEPTH])
            )
        if isinstance(node, dict):
            for key, inner in node.items():
                if not _valid_text(key):
                    raise InvalidInputError("a key is not valid Unicode", field=_field(path))
                stack.append((inner, (*path, key)))
        elif isinstance(node, list):
            stack.extend((inner, (*path, str(index))) for index, inner in enumerate(node))
        elif isinstance(node, _BadNumber):
            raise InvalidInputError(
                f"{_field(path)}: number out of range (|n| <= 2^53 for integers, "
                f"{MIN_FLOAT:g}..{MAX_FLOAT:g} or 0 for decimals)",
                field=_field(path),
            )
        elif isinstance(node, str) and not _valid_text(node):
            raise InvalidInputError(
                f"{_field(path)}: not valid Unicode (lone surrogate)", field=_field(path)
            )


def _valid_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _field(path: tuple[str, ...]) -> str:
    return ".".join(path) if path else "body"


#: A free-form object (settings, router defaults, compatibility flags) we store in DynamoDB,
#: whose items are at most 400 KB: each such object is bounded as JSON.
MAX_OBJECT_BYTES = 32 * 1024


def bounded_object(value: dict[str, Any]) -> dict[str, Any]:
    """Pydantic after-validator: refuse an object larger than MAX_OBJECT_BYTES as JSON, or one
    with an empty key at any depth (a DynamoDB map key is an attribute name: 1 character at
    least; moto stores it and then cannot read the item back)."""
    if len(json.dumps(value, default=str)) > MAX_OBJECT_BYTES:
        raise ValueError(f"at most {MAX_OBJECT_BYTES // 1024} KB as JSON")
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "" in node:
                raise ValueError("keys must not be empty")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return value
