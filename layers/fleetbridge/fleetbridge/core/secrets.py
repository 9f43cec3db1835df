"""Vendor credentials: one Secrets Manager secret per connection, under `fleetbridge/`.

Values leave Secrets Manager only into the vendor client that uses them; everything shown to
people goes through `mask`.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities import parameters

from fleetbridge.core.aws import client
from fleetbridge.core.config import SECRET_PREFIX

CACHE_SECONDS = 300


def secret_name(tenant_id: str, connection_id: str) -> str:
    """The secret's name; IAM grants access to `fleetbridge/*` only."""
    return f"{SECRET_PREFIX}{tenant_id}/{connection_id}"


def mask(value: Any) -> str:
    """`ab*****xyz`: first 2 and last 3 characters; short values are fully masked."""
    text = str(value)
    if len(text) <= 8:
        return "*" * len(text)
    return f"{text[:2]}{'*' * (len(text) - 5)}{text[-3:]}"


def mask_all(credentials: dict[str, Any]) -> dict[str, str]:
    """Every credential masked, for API responses."""
    return {key: mask(value) for key, value in credentials.items()}


@cache
def _provider() -> parameters.SecretsProvider:
    return parameters.SecretsProvider(boto3_client=client("secretsmanager"))


def store_credentials(name: str, credentials: dict[str, Any], secret_arn: str | None = None) -> str:
    """Create the secret (or put a new version when `secret_arn` is given); returns its ARN."""
    payload = json.dumps(credentials)
    secrets_manager = client("secretsmanager")
    if secret_arn:
        secrets_manager.put_secret_value(SecretId=secret_arn, SecretString=payload)
        _provider().clear_cache()
        return secret_arn
    created = secrets_manager.create_secret(
        Name=name, SecretString=payload, Tags=[{"Key": "app", "Value": "fleetbridge"}]
    )
    return str(created["ARN"])


def load_credentials(secret_arn: str) -> dict[str, Any]:
    """The connection's credentials (cached for CACHE_SECONDS per process)."""
    value = _provider().get(secret_arn, max_age=CACHE_SECONDS, transform="json")
    return dict(value)  # type: ignore[arg-type]


def delete_credentials(secret_arn: str) -> None:
    """Delete the secret (recoverable for 7 days in AWS)."""
    client("secretsmanager").delete_secret(SecretId=secret_arn, RecoveryWindowInDays=7)
    _provider().clear_cache()
