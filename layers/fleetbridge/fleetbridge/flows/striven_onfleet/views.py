"""Rule 9's read views, from our mappings only (no vendor call, no secret needed)."""

from __future__ import annotations

from typing import Any

from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Mapping
from fleetbridge.flows.striven_onfleet import EMPLOYEE, LINKED, TASK


def sync_state(mapping: Mapping) -> str:
    """`synced`, `failed`, `deleted`, `skipped` or `completed_in_onfleet`."""
    if mapping.data.get("onfleet_state") == 3:
        return "completed_in_onfleet"
    return str(mapping.data.get("status", "synced"))


def task_view(mappings: MappingRepository, striven_task_id: str) -> dict[str, Any] | None:
    """One Striven task's Onfleet side and sync state, or None when never seen."""
    mapping = mappings.get(TASK, striven_task_id)
    if mapping is None:
        return None
    data = mapping.data
    return {
        "striven_task_id": mapping.external_id,
        "onfleet_task_id": mapping.other_id,
        "short_id": data.get("short_id"),
        "tracking_url": data.get("tracking_url"),
        "onfleet_worker_id": data.get("worker_id"),
        "striven_employee_id": data.get("employee_id"),
        "sync_state": sync_state(mapping),
        "reason": data.get("reason"),
        "last_error": data.get("last_error"),
        "striven_updated_at": data.get("version"),
        "synced_at": mapping.updated_at,
    }


def employee_view(mappings: MappingRepository, employee_id: str) -> dict[str, Any] | None:
    """One employee's Onfleet driver, the phone used and the active synced tasks, or None.

    The tasks come from reading the connection's task mappings: a view is rare, a task sync is
    not, so no per-employee index is written on the sync path.
    """
    mapping = mappings.get(EMPLOYEE, employee_id)
    if mapping is None:
        return None
    active = [
        t
        for t in mappings.list(TASK)
        if str(t.data.get("employee_id")) == employee_id
        and t.other_id
        and sync_state(t) in ("synced", "failed")
    ]
    return {
        **_employee(mapping),
        "reason": mapping.data.get("reason"),
        "last_error": mapping.data.get("last_error"),
        "active_tasks": [
            {
                "striven_task_id": t.external_id,
                "onfleet_task_id": t.other_id,
                "short_id": t.data.get("short_id"),
            }
            for t in sorted(active, key=lambda t: int(t.external_id))
        ],
    }


def linked_employees(mappings: MappingRepository) -> list[dict[str, Any]]:
    """Every employee associated with an Onfleet driver."""
    found = [m for m in mappings.list(EMPLOYEE) if m.other_id and m.data.get("status") in LINKED]
    return [_employee(m) for m in sorted(found, key=lambda m: int(m.external_id))]


def _employee(mapping: Mapping) -> dict[str, Any]:
    return {
        "striven_employee_id": mapping.external_id,
        "onfleet_worker_id": mapping.other_id,
        "name": mapping.data.get("name"),
        "phone": mapping.data.get("phone"),
        "status": mapping.data.get("status"),
        "linked_at": mapping.updated_at,
    }
