"""Vendor credentials: one Secrets Manager secret per connection, under `fleetbridge/`.

Values leave Secrets Manager only into the vendor client that uses them; everything shown to
people goes through `mask`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError

from fleetbridge.core.aws import client
from fleetbridge.core.config import SECRET_PREFIX

CACHE_SECONDS = 300
#: Label of a version written for an update that has not won its conditional save yet.
PENDING_STAGE = "fleetbridge-pending"
CURRENT_STAGE = "AWSCURRENT"


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


_providers: list[tuple[Any, parameters.SecretsProvider]] = []


def _provider() -> parameters.SecretsProvider:
    """The caching provider of the current Secrets Manager client: a new one (empty cache) once
    `reset_clients` has made a new client, so no value read through an old endpoint survives."""
    secrets_manager = client("secretsmanager")
    if not _providers or _providers[0][0] is not secrets_manager:
        _providers[:] = [
            (secrets_manager, parameters.SecretsProvider(boto3_client=secrets_manager))
        ]
    return _providers[0][1]


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


def stage_credentials(secret_arn: str, credentials: dict[str, Any]) -> str:
    """Write `credentials` as a new version that is NOT current yet; returns its version id.

    Updates stage first, then try their conditional save, and only the winner makes its version
    current (`settle_credentials`): a refused update never changes the credentials in use.
    """
    written = client("secretsmanager").put_secret_value(
        SecretId=secret_arn,
        SecretString=json.dumps(credentials),
        ClientRequestToken=str(uuid.uuid4()),
        VersionStages=[PENDING_STAGE],
    )
    return str(written["VersionId"])


def settle_credentials(secret_arn: str, pinned: Callable[[], str | None]) -> None:
    """Make the version the owning record names (`pinned()`, read fresh) the current one.

    Called by the winner of a conditional save. Moving AWSCURRENT names the version it moves
    from, so two winners racing cannot both succeed with a stale view: each re-reads the record
    after its move and retries until the current version is the record's.
    """
    secrets_manager = client("secretsmanager")
    for _ in range(5):
        wanted = pinned()
        if not wanted:
            return
        stages = secrets_manager.describe_secret(SecretId=secret_arn).get("VersionIdsToStages", {})
        current = next((v for v, labels in stages.items() if CURRENT_STAGE in labels), None)
        if current == wanted:
            break
        try:
            secrets_manager.update_secret_version_stage(
                SecretId=secret_arn,
                VersionStage=CURRENT_STAGE,
                MoveToVersionId=wanted,
                **({"RemoveFromVersionId": current} if current else {}),
            )
        except ClientError:
            continue  # someone moved it meanwhile: look again
    _provider().clear_cache()


def load_credentials(secret_arn: str) -> dict[str, Any]:
    """The connection's credentials (cached for CACHE_SECONDS per process)."""
    # AWSCURRENT named explicitly (AWS's default anyway): moto's default ignores label moves.
    value = _provider().get(
        secret_arn, max_age=CACHE_SECONDS, transform="json", VersionStage=CURRENT_STAGE
    )
    return dict(value)  # type: ignore[arg-type]


def reload_credentials(secret_arn: str) -> bool:
    """Drop the cached credentials; True when the stored ones differ from what was cached
    (changed since this process read them: a refusal of the old ones says nothing of these)."""
    cached = load_credentials(secret_arn)
    _provider().clear_cache()
    return load_credentials(secret_arn) != cached


def delete_credentials(secret_arn: str) -> None:
    """Delete the secret (recoverable for 7 days in AWS)."""
    client("secretsmanager").delete_secret(SecretId=secret_arn, RecoveryWindowInDays=7)
    _provider().clear_cache()
