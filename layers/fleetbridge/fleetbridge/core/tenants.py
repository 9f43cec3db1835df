"""Tenants and their API keys. Keys are stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets

from fleetbridge.core.config import get_settings
from fleetbridge.core.dynamo import conditional, from_item, table, to_item
from fleetbridge.core.models import Tenant, iso, new_id, utcnow

API_KEY_PREFIX = "fbk_"


def hash_api_key(api_key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(api_key.encode()).hexdigest()


class TenantRepository:
    """Tenants (`TENANT#<id>`) and API key hashes (`APIKEY#<sha256>` → tenant id)."""

    def __init__(self, table_name: str | None = None) -> None:
        self._table = table(table_name or get_settings().data_table)

    def create(self, name: str) -> tuple[Tenant, str]:
        """Create a tenant and its first API key; the key is returned once, never stored."""
        tenant = Tenant(id=new_id("ten"), name=name, created_at=iso(utcnow()))
        with conditional("tenant already exists"):
            self._table.put_item(
                Item=to_item({"pk": f"TENANT#{tenant.id}", "sk": "TENANT", **tenant.model_dump()}),
                ConditionExpression="attribute_not_exists(pk)",
            )
        return tenant, self.issue_api_key(tenant.id)

    def issue_api_key(self, tenant_id: str) -> str:
        """A new API key for `tenant_id` (several may be valid at once, for rotation)."""
        api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        self.register_api_key(tenant_id, api_key)
        return api_key

    def register_api_key(self, tenant_id: str, api_key: str) -> None:
        """Accept a key chosen elsewhere (imports, sample events); it must carry the prefix."""
        if not api_key.startswith(API_KEY_PREFIX):
            raise ValueError(f"API keys start with {API_KEY_PREFIX}")
        self._table.put_item(
            Item={
                "pk": f"APIKEY#{hash_api_key(api_key)}",
                "sk": "APIKEY",
                "tenant_id": tenant_id,
                "created_at": iso(utcnow()),
            }
        )

    def authenticate(self, api_key: str) -> Tenant | None:
        """The tenant owning `api_key`, or None."""
        if not api_key.startswith(API_KEY_PREFIX):
            return None
        key_item = self._table.get_item(
            Key={"pk": f"APIKEY#{hash_api_key(api_key)}", "sk": "APIKEY"}
        ).get("Item")
        if not key_item:
            return None
        return self.get(str(key_item["tenant_id"]))

    def get(self, tenant_id: str) -> Tenant | None:
        """The tenant, or None."""
        item = self._table.get_item(Key={"pk": f"TENANT#{tenant_id}", "sk": "TENANT"}).get("Item")
        return Tenant.model_validate(from_item(item)) if item else None
