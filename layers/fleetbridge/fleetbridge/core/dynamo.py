"""The only place that talks to DynamoDB: table access, type conversion, error mapping.

Repositories (tenants, connections, mappings, activity, runs, rate limits) build on this.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from fleetbridge.core.aws import resource
from fleetbridge.core.errors import ConflictError


def table(name: str) -> Any:
    """The boto3 Table resource for `name`."""
    return resource("dynamodb").Table(name)


def query_items(table: Any, **query: Any) -> Iterator[dict[str, Any]]:
    """Every item a `table.query(**query)` finds, page after page (raw DynamoDB values)."""
    while True:
        page = table.query(**query)
        yield from page["Items"]
        if "LastEvaluatedKey" not in page:
            return
        query = {**query, "ExclusiveStartKey": page["LastEvaluatedKey"]}


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    """Python values → DynamoDB values (floats become Decimals, None attributes are dropped)."""
    clean = {key: value for key, value in data.items() if value is not None}
    return json.loads(json.dumps(clean, default=str), parse_float=Decimal)


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB values → plain Python (Decimals become int or float)."""
    return _plain(item)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(inner) for inner in value]
    return value


@contextmanager
def conditional(conflict_message: str) -> Iterator[None]:
    """Turn a failed condition (someone else wrote first) into our ConflictError."""
    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise ConflictError(conflict_message) from exc
        raise


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    """Opaque paging cursor from a LastEvaluatedKey."""
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(from_item(last_key)).encode()).decode()


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """Inverse of `encode_cursor`; a malformed cursor raises ValueError."""
    if not cursor:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise ValueError("malformed cursor") from exc
