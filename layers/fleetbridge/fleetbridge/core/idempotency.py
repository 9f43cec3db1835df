"""The one idempotency mechanism: Powertools idempotency on its own DynamoDB table."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
)

from fleetbridge.core.aws import clears_with_clients, client
from fleetbridge.core.config import get_settings

#: How long a processed event id is remembered (vendors re-deliver within hours, not days).
EXPIRES_AFTER_SECONDS = 7 * 24 * 3600


@cache
def persistence_layer() -> DynamoDBPersistenceLayer:
    """The idempotency table (created once per process)."""
    return DynamoDBPersistenceLayer(
        table_name=get_settings().idempotency_table, boto3_client=client("dynamodb")
    )


clears_with_clients(persistence_layer.cache_clear)


def config(event_key_jmespath: str = "event_id") -> IdempotencyConfig:
    """Keyed on the work message's event id (vendor delivery id or content hash)."""
    return IdempotencyConfig(
        event_key_jmespath=event_key_jmespath,
        expires_after_seconds=EXPIRES_AFTER_SECONDS,
        raise_on_no_idempotency_key=True,
    )
