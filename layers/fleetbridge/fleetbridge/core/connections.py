"""Connections: one configured flow instance per item, versioned, tenant-scoped."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from fleetbridge.core.config import get_settings
from fleetbridge.core.dynamo import conditional, from_item, query_items, table, to_item
from fleetbridge.core.errors import NotFoundError
from fleetbridge.core.models import Connection, iso, utcnow


def _key(connection_id: str) -> dict[str, str]:
    return {"pk": f"CONNECTION#{connection_id}", "sk": "CONNECTION"}


class ConnectionRepository:
    """Primary key by id (webhooks and workers know only the id); GSI1 by tenant, GSI2 by flow."""

    def __init__(self, table_name: str | None = None) -> None:
        self._table = table(table_name or get_settings().data_table)

    def _item(self, connection: Connection) -> dict[str, Any]:
        return to_item(
            {
                **_key(connection.id),
                "gsi1pk": f"TENANT#{connection.tenant_id}",
                "gsi1sk": f"CONNECTION#{connection.created_at}#{connection.id}",
                "gsi2pk": f"FLOW#{connection.flow}",
                "gsi2sk": f"CONNECTION#{connection.id}",
                **connection.model_dump(),
            }
        )

    def create(self, connection: Connection) -> Connection:
        """Store a new connection (fails if the id exists)."""
        with conditional(f"connection {connection.id} already exists"):
            self._table.put_item(
                Item=self._item(connection), ConditionExpression="attribute_not_exists(pk)"
            )
        return connection

    def get(self, connection_id: str, *, consistent: bool = False) -> Connection:
        """The connection, whoever owns it (webhooks, workers). NotFoundError if absent."""
        item = self._table.get_item(Key=_key(connection_id), ConsistentRead=consistent).get("Item")
        if not item:
            raise NotFoundError(f"connection {connection_id} not found")
        return Connection.model_validate(from_item(item))

    def get_for_tenant(self, tenant_id: str, connection_id: str) -> Connection:
        """The tenant's connection; another tenant's is reported as not found."""
        connection = self.get(connection_id)
        if connection.tenant_id != tenant_id:
            raise NotFoundError(f"connection {connection_id} not found")
        return connection

    def list_for_tenant(self, tenant_id: str) -> list[Connection]:
        """Every connection of a tenant, oldest first."""
        return self._query("gsi1", Key("gsi1pk").eq(f"TENANT#{tenant_id}"))

    def list_for_flow(self, flow: str, *, enabled_only: bool = True) -> list[Connection]:
        """Every connection of a flow (schedules fan out over these)."""
        found = self._query("gsi2", Key("gsi2pk").eq(f"FLOW#{flow}"))
        return [c for c in found if c.enabled or not enabled_only]

    def _query(self, index: str, condition: Any) -> list[Connection]:
        items = query_items(self._table, IndexName=index, KeyConditionExpression=condition)
        return [Connection.model_validate(from_item(item)) for item in items]

    def save(self, connection: Connection) -> Connection:
        """Write changes made to `connection` if nobody else wrote since it was read.

        The stored `version` must still be `connection.version`; the saved copy has version + 1.
        ConflictError otherwise: re-read and re-decide.
        """
        updated = connection.model_copy(
            update={"version": connection.version + 1, "updated_at": iso(utcnow())}
        )
        with conditional(f"connection {connection.id} was changed by someone else"):
            self._table.put_item(
                Item=self._item(updated),
                ConditionExpression="version = :expected",
                ExpressionAttributeValues={":expected": connection.version},
            )
        return updated

    def delete(self, connection: Connection) -> None:
        """Remove the connection item (its secret is removed by the caller)."""
        self._table.delete_item(Key=_key(connection.id))
