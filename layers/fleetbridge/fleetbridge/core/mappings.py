"""Mappings: external id ↔ other-side id per connection, with the fingerprint last synced.

A flow compares a record's fingerprint with the stored one: equal → no vendor call at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from typing import Any

from boto3.dynamodb.conditions import Key

from fleetbridge.core.aws import resource
from fleetbridge.core.config import get_settings
from fleetbridge.core.dynamo import conditional, from_item, query_items, table, to_item
from fleetbridge.core.errors import ConflictError
from fleetbridge.core.models import Mapping, iso, utcnow


class MappingRepository:
    """Mappings of one connection: `CONNECTION#<id>` / `MAP#<entity>#<external id>`.

    GSI1 indexes the other side's id, so either side can be looked up.
    """

    def __init__(self, connection_id: str, table_name: str | None = None) -> None:
        self.connection_id = connection_id
        self._table = table(table_name or get_settings().data_table)

    def _key(self, entity: str, external_id: str) -> dict[str, str]:
        return {"pk": f"CONNECTION#{self.connection_id}", "sk": f"MAP#{entity}#{external_id}"}

    def get(self, entity: str, external_id: str) -> Mapping | None:
        """The mapping, or None when the record was never synced."""
        item = self._table.get_item(Key=self._key(entity, str(external_id))).get("Item")
        return Mapping.model_validate(from_item(item)) if item else None

    def get_many(self, entity: str, external_ids: Iterable[str]) -> dict[str, Mapping]:
        """The mappings of `external_ids` that exist, by external id (BatchGetItem, 100 a call).

        For flows that handle many records per message: one round trip instead of one each.
        """
        wanted = list(dict.fromkeys(str(i) for i in external_ids))
        found: dict[str, Mapping] = {}
        name = self._table.name
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {
                name: {"Keys": [self._key(entity, i) for i in wanted[start : start + 100]]}
            }
            while request:  # DynamoDB may leave keys unprocessed under load: ask again
                answer = resource("dynamodb").batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(name, []):
                    mapping = Mapping.model_validate(from_item(item))
                    found[mapping.external_id] = mapping
                request = answer.get("UnprocessedKeys") or {}
        return found

    def find_by_other_id(self, entity: str, other_id: str) -> Mapping | None:
        """The mapping whose other-side id is `other_id`, or None."""
        page = self._table.query(
            IndexName="gsi1",
            KeyConditionExpression=Key("gsi1pk").eq(
                f"MAPOTHER#{self.connection_id}#{entity}#{other_id}"
            ),
        )
        items = page["Items"]
        return Mapping.model_validate(from_item(items[0])) if items else None

    def list(self, entity: str) -> list[Mapping]:
        """Every mapping of `entity` for this connection."""
        condition = Key("pk").eq(f"CONNECTION#{self.connection_id}") & Key("sk").begins_with(
            f"MAP#{entity}#"
        )
        items = query_items(self._table, KeyConditionExpression=condition)
        return [Mapping.model_validate(from_item(item)) for item in items]

    def save(self, mapping: Mapping) -> Mapping:
        """Write `mapping` if the stored version is still `mapping.version` (0 = must be new).

        Returns the stored copy (version + 1). ConflictError when another writer got there first.
        """
        saved = mapping.model_copy(
            update={
                "connection_id": self.connection_id,
                "version": mapping.version + 1,
                "updated_at": iso(utcnow()),
            }
        )
        item = {**self._key(saved.entity, saved.external_id), **saved.model_dump()}
        if saved.other_id:
            item["gsi1pk"] = f"MAPOTHER#{self.connection_id}#{saved.entity}#{saved.other_id}"
            item["gsi1sk"] = saved.external_id
        if mapping.version == 0:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": mapping.version},
            }
        with conditional(f"mapping {saved.entity}/{saved.external_id} changed concurrently"):
            self._table.put_item(Item=to_item(item), **condition)
        return saved

    def delete(self, mapping: Mapping) -> None:
        """Remove a mapping if it was not changed since it was read."""
        with conditional(f"mapping {mapping.entity}/{mapping.external_id} changed concurrently"):
            self._table.delete_item(
                Key=self._key(mapping.entity, mapping.external_id),
                ConditionExpression="version = :expected",
                ExpressionAttributeValues={":expected": mapping.version},
            )

    def claim(
        self, entity: str, external_id: str, current: Mapping | None, data: dict[str, Any]
    ) -> Mapping | None:
        """Mark a record as being worked on: save `current` (or a new mapping) with `data`
        merged into its data, conditionally. None when another writer got there first.

        The caller decides whether an existing claim still holds (its own rule and clock); the
        conditional write decides between two claimants that read the same version.
        """
        base = current or Mapping(
            connection_id=self.connection_id, entity=entity, external_id=str(external_id)
        )
        try:
            return self.save(base.model_copy(update={"data": {**base.data, **data}}))
        except ConflictError:
            return None

    def release(
        self, claimed: Mapping, previous: Mapping | None = None, *, keys: Iterable[str] = ()
    ) -> Mapping | None:
        """Give a claim up. With `keys`: drop them from the data, keeping what was saved under
        the claim; else restore `previous` (None: the claim created the mapping, delete it).
        A concurrent change wins (nothing to undo then): returns the stored copy or None."""
        with suppress(ConflictError):
            if keys:
                dropped = set(keys)
                data = {k: v for k, v in claimed.data.items() if k not in dropped}
                return self.save(claimed.model_copy(update={"data": data}))
            if previous is None:
                self.delete(claimed)
                return None
            return self.save(claimed.model_copy(update={"data": previous.data}))
        return None

    def delete_all(self) -> int:
        """Remove every mapping of the connection (when the connection is deleted)."""
        removed = 0
        condition = Key("pk").eq(f"CONNECTION#{self.connection_id}") & Key("sk").begins_with("MAP#")
        items = query_items(
            self._table, KeyConditionExpression=condition, ProjectionExpression="pk, sk"
        )
        with self._table.batch_writer() as batch:
            for item in items:
                batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
                removed += 1
        return removed


class ConnectionState:
    """A flow's per-connection state (cursors, last runs, notices sent): one item beside the
    connection's mappings, written with the same conditional versioning."""

    def __init__(self, mappings: MappingRepository, entity: str, state_id: str) -> None:
        self.mappings = mappings
        self.entity = entity
        self.state_id = state_id

    def load(self) -> dict[str, Any]:
        """The state (empty before the first write)."""
        item = self.mappings.get(self.entity, self.state_id)
        return dict(item.data) if item else {}

    def update(self, **changes: Any) -> dict[str, Any]:
        """Merge `changes` into the state (None removes a key); returns the new state."""
        item = self.mappings.get(self.entity, self.state_id) or Mapping(
            connection_id=self.mappings.connection_id, entity=self.entity, external_id=self.state_id
        )
        data = {key: value for key, value in {**item.data, **changes}.items() if value is not None}
        self.mappings.save(item.model_copy(update={"data": data}))
        return data
