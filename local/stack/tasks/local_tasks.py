"""Local-only tasks run inside a worker with the template's Globals (environment and layers).

The stack process never imports the shared layer itself: `POST /_local/tenants` invokes this
handler like a function, so it runs against moto with the same settings as every function.
"""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Dispatch on `event["task"]`: `create_tenant` (`name`) -> `{tenant_id, api_key}`."""
    task = event.get("task")
    if task == "create_tenant":
        from fleetbridge.core.tenants import TenantRepository

        tenant, api_key = TenantRepository().create(str(event["name"]))
        return {"tenant_id": tenant.id, "api_key": api_key}
    raise ValueError(f"unknown local task {task!r}")
