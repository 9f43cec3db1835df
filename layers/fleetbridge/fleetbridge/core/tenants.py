"""Tenants and their API keys. Keys are stored only as SHA-256 hashes.

A key is shown once, when it is issued; afterwards only its `key_id` (the start of its hash) is
known. Rotation issues a new key and gives the tenant's other keys an expiry (the grace period),
after which `authenticate` refuses them and DynamoDB's TTL removes them.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key
from pydantic import BaseModel

from fleetbridge.core.config import get_settings
from fleetbridge.core.dynamo import conditional, from_item, table, to_item
from fleetbridge.core.errors import NotFoundError
from fleetbridge.core.models import Tenant, iso, new_id, utcnow

API_KEY_PREFIX = "fbk_"
#: every tenant item is listed under this GSI2 partition (few tenants: one partition is fine)
TENANTS_PARTITION = "TENANTS"


def hash_api_key(api_key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def key_id(key_hash: str) -> str:
    """A key's public name: the first 12 hex digits of its hash (safe to print and log)."""
    return key_hash[:12]


class ApiKeyInfo(BaseModel):
    """What may be shown about a key: never the key itself."""

    key_id: str
    created_at: str
    #: None: valid until rotated; else refused from this instant on
    expires_at: str | None = None


class TenantRepository:
    """Tenants (`TENANT#<id>`, listed on GSI2 `TENANTS`) and API key hashes
    (`APIKEY#<sha256>` → tenant id, listed per tenant on GSI1 `TENANTKEYS#<id>`)."""

    def __init__(self, table_name: str | None = None) -> None:
        self._table = table(table_name or get_settings().data_table)

    def _put_tenant(self, tenant: Tenant, **condition: Any) -> None:
        self._table.put_item(
            Item=to_item(
                {
                    "pk": f"TENANT#{tenant.id}",
                    "sk": "TENANT",
                    "gsi2pk": TENANTS_PARTITION,
                    "gsi2sk": f"TENANT#{tenant.created_at}#{tenant.id}",
                    **tenant.model_dump(),
                }
            ),
            **condition,
        )

    def create(self, name: str) -> tuple[Tenant, str]:
        """Create a tenant and its first API key; the key is returned once, never stored."""
        tenant = Tenant(id=new_id("ten"), name=name, created_at=iso(utcnow()))
        with conditional("tenant already exists"):
            self._put_tenant(tenant, ConditionExpression="attribute_not_exists(pk)")
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
        key_hash = hash_api_key(api_key)
        created_at = iso(utcnow())
        self._table.put_item(
            Item={
                "pk": f"APIKEY#{key_hash}",
                "sk": "APIKEY",
                "gsi1pk": f"TENANTKEYS#{tenant_id}",
                "gsi1sk": f"APIKEY#{created_at}#{key_id(key_hash)}",
                "tenant_id": tenant_id,
                "key_id": key_id(key_hash),
                "created_at": created_at,
            }
        )

    def authenticate(self, api_key: str) -> Tenant | None:
        """The enabled tenant owning `api_key` if the key has not expired, else None."""
        if not api_key.startswith(API_KEY_PREFIX):
            return None
        key_item = self._table.get_item(
            Key={"pk": f"APIKEY#{hash_api_key(api_key)}", "sk": "APIKEY"}
        ).get("Item")
        if not key_item:
            return None
        expires_at = key_item.get("expires_at")
        if expires_at and str(expires_at) <= iso(utcnow()):
            return None
        tenant = self.get(str(key_item["tenant_id"]))
        return tenant if tenant is not None and tenant.enabled else None

    def get(self, tenant_id: str) -> Tenant | None:
        """The tenant, or None."""
        item = self._table.get_item(Key={"pk": f"TENANT#{tenant_id}", "sk": "TENANT"}).get("Item")
        return Tenant.model_validate(from_item(item)) if item else None

    def require(self, tenant_id: str) -> Tenant:
        """The tenant; NotFoundError if there is none."""
        tenant = self.get(tenant_id)
        if tenant is None:
            raise NotFoundError(f"tenant {tenant_id} not found")
        return tenant

    def list_all(self) -> list[Tenant]:
        """Every tenant, oldest first."""
        return [Tenant.model_validate(from_item(i)) for i in self._query("gsi2", TENANTS_PARTITION)]

    def api_keys(self, tenant_id: str, *, include_expired: bool = False) -> list[ApiKeyInfo]:
        """The tenant's keys (ids and dates only), oldest first."""
        now = iso(utcnow())
        keys = [
            ApiKeyInfo.model_validate(from_item(item))
            for item in self._query("gsi1", f"TENANTKEYS#{tenant_id}")
        ]
        return [k for k in keys if include_expired or not k.expires_at or k.expires_at > now]

    def rotate_api_key(self, tenant_id: str, grace: timedelta) -> tuple[str, list[ApiKeyInfo]]:
        """Issue a new key; every other valid key expires after `grace` (0: at once).

        Returns the new key (shown once) and the old keys with their new expiry. A key that
        already expires sooner keeps its earlier expiry.
        """
        self.require(tenant_id)
        old = self.api_keys(tenant_id)
        new_key = self.issue_api_key(tenant_id)
        deadline = utcnow() + grace
        expiring = []
        for info in old:
            if info.expires_at and info.expires_at <= iso(deadline):
                expiring.append(info)
                continue
            expiring.append(self._expire(tenant_id, info, deadline))
        return new_key, expiring

    def _expire(self, tenant_id: str, info: ApiKeyInfo, deadline: datetime) -> ApiKeyInfo:
        items = self._table.query(
            IndexName="gsi1",
            KeyConditionExpression=Key("gsi1pk").eq(f"TENANTKEYS#{tenant_id}")
            & Key("gsi1sk").eq(f"APIKEY#{info.created_at}#{info.key_id}"),
        )["Items"]
        expires_at = iso(deadline)
        for item in items:
            self._table.update_item(
                Key={"pk": item["pk"], "sk": "APIKEY"},
                # `ttl` lets DynamoDB delete the item some time after it stopped working
                UpdateExpression="SET expires_at = :at, #ttl = :ttl",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={":at": expires_at, ":ttl": int(deadline.timestamp())},
            )
        return info.model_copy(update={"expires_at": expires_at})

    def set_enabled(self, tenant_id: str, enabled: bool) -> Tenant:
        """Enable or disable a tenant (a disabled tenant's keys are refused)."""
        tenant = self.require(tenant_id).model_copy(update={"enabled": enabled})
        self._put_tenant(tenant)
        return tenant

    def _query(self, index: str, partition: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": Key(f"{index}pk").eq(partition),
        }
        while True:
            page = self._table.query(**kwargs)
            found += page["Items"]
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
