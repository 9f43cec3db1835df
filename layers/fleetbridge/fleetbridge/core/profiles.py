"""Routing profiles (issue 7, §1-2): stored records and their repository in the Data table.

Items live in the tenant's partition, `TENANT#<tenant id>`, with sort keys
`PROFILE#integration#<id>` (Onfleet integration profiles) and `PROFILE#run#<id>` (run
profiles), so listing one tenant's profiles of a kind is one query. Ids are the user's own
(Nextmv-style, unique per tenant and kind); writes are conditional on `version`. Integration
credentials are never stored here: only the ARN of their Secrets Manager secret.
"""

from __future__ import annotations

from typing import Any, Literal

from boto3.dynamodb.conditions import Key
from pydantic import Field

from fleetbridge.core.config import get_settings
from fleetbridge.core.dynamo import conditional, from_item, query_items, table, to_item
from fleetbridge.core.errors import NotFoundError
from fleetbridge.core.models import Record, iso, utcnow


class IntegrationProfile(Record):
    """An integration profile: the vendor key (in Secrets Manager) and its switches."""

    id: str
    tenant_id: str
    type: Literal["onfleet"] = "onfleet"
    name: str
    description: str | None = None
    compatibility: dict[str, Any] = Field(default_factory=dict)
    secret_arn: str
    #: the Secrets Manager version holding this profile's key (set by updates)
    secret_version: str | None = None
    version: int = 1
    created_at: str
    updated_at: str


class IntegrationRef(Record):
    """A run profile's reference to an integration profile."""

    id: str
    type: Literal["onfleet"] = "onfleet"


class RunProfile(Record):
    """A run profile: integrations used by a run, plus defaults/options merged into its input."""

    id: str
    tenant_id: str
    name: str
    description: str | None = None
    integrations: list[IntegrationRef] = Field(default_factory=list)
    defaults: dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    version: int = 1
    created_at: str
    updated_at: str


Profile = IntegrationProfile | RunProfile
_KINDS: dict[type[Record], str] = {IntegrationProfile: "integration", RunProfile: "run"}
_LABELS = {"integration": "integration profile", "run": "run profile"}


def _kind(model: type[Record]) -> str:
    return _KINDS[model]


class ProfileRepository:
    """Integration and run profiles of every tenant, in the Data table."""

    def __init__(self, table_name: str | None = None) -> None:
        self._table = table(table_name or get_settings().data_table)

    @staticmethod
    def _key(tenant_id: str, kind: str, profile_id: str) -> dict[str, str]:
        return {"pk": f"TENANT#{tenant_id}", "sk": f"PROFILE#{kind}#{profile_id}"}

    def _item(self, profile: Profile) -> dict[str, Any]:
        key = self._key(profile.tenant_id, _kind(type(profile)), profile.id)
        return to_item({**key, **profile.model_dump()})

    def create[P: (IntegrationProfile, RunProfile)](self, profile: P) -> P:
        """Store a new profile; ConflictError when the tenant already has one with this id."""
        label = _LABELS[_kind(type(profile))]
        with conditional(f"{label} {profile.id!r} already exists"):
            self._table.put_item(
                Item=self._item(profile), ConditionExpression="attribute_not_exists(pk)"
            )
        return profile

    def get[P: (IntegrationProfile, RunProfile)](
        self, model: type[P], tenant_id: str, profile_id: str, *, consistent: bool = False
    ) -> P:
        """The tenant's profile; NotFoundError when absent (or another tenant's)."""
        kind = _kind(model)
        key = self._key(tenant_id, kind, profile_id)
        item = self._table.get_item(Key=key, ConsistentRead=consistent).get("Item")
        if not item:
            raise NotFoundError(f"{_LABELS[kind]} {profile_id!r} not found")
        return model.model_validate(from_item(item))

    def list_for_tenant[P: (IntegrationProfile, RunProfile)](
        self, model: type[P], tenant_id: str
    ) -> list[P]:
        """Every profile of this type of the tenant, by id."""
        condition = Key("pk").eq(f"TENANT#{tenant_id}") & Key("sk").begins_with(
            f"PROFILE#{_kind(model)}#"
        )
        items = query_items(self._table, KeyConditionExpression=condition)
        return [model.model_validate(from_item(item)) for item in items]

    def save[P: (IntegrationProfile, RunProfile)](self, profile: P) -> P:
        """Write changes if the stored version is still `profile.version` (ConflictError)."""
        updated = profile.model_copy(
            update={"version": profile.version + 1, "updated_at": iso(utcnow())}
        )
        label = _LABELS[_kind(type(profile))]
        with conditional(f"{label} {profile.id!r} was changed concurrently"):
            self._table.put_item(
                Item=self._item(updated),
                ConditionExpression="version = :expected",
                ExpressionAttributeValues={":expected": profile.version},
            )
        return updated

    def delete(self, profile: Profile) -> None:
        """Remove the profile if it was not changed since it was read."""
        kind = _kind(type(profile))
        with conditional(f"{_LABELS[kind]} {profile.id!r} was changed concurrently"):
            self._table.delete_item(
                Key=self._key(profile.tenant_id, kind, profile.id),
                ConditionExpression="version = :expected",
                ExpressionAttributeValues={":expected": profile.version},
            )
