"""Rule 9's read views, from our mappings only (no vendor call, no secret needed)."""

from __future__ import annotations

from typing import Any

from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Mapping
from fleetbridge.flows.striven_onfleet import EMPLOYEE, LINKED, TASK


def sync_state(mapping: Mapping) -> str:
    """`synced`, `unassigned`, `failed`, `deleted`, `skipped` or `completed_in_onfleet`."""
    if mapping.data.get("onfleet_state") == 3:
        return "completed_in_onfleet"
    return str(mapping.data.get("status", "synced"))


def task_view(mappings: MappingRepository, striven_task_id: str) -> dict[str, Any] | None:
    """One Striven task's Onfleet side and sync state, or None when never seen."""
    mapping = mappings.get(TASK, striven_task_id)
    if mapping is None:
        return None
    data = mapping.data
    names = _worker_names(mappings) if data.get("worker_id") else {}
    return {
        "striven_task_id": mapping.external_id,
        "onfleet_task_id": mapping.other_id,
        "short_id": data.get("short_id"),
        "tracking_url": data.get("tracking_url"),
        "onfleet_worker_id": data.get("worker_id"),
        "onfleet_worker_name": _name(data, names),
        "assigned_in_onfleet": bool(data.get("assigned_in_onfleet")),
        "striven_employee_id": data.get("employee_id"),
        "striven_status": data.get("striven_status"),
        "onfleet_state": data.get("onfleet_state"),
        "completed_at": data.get("completed_at"),
        "sync_state": sync_state(mapping),
        "reason": data.get("reason"),
        "last_error": data.get("last_error"),
        "striven_updated_at": data.get("version"),
        "synced_at": mapping.updated_at,
    }


def employee_view(mappings: MappingRepository, employee_id: str) -> dict[str, Any] | None:
    """One employee's Onfleet driver, the phone used and its tasks, or None.

    The tasks are those the driver has in Onfleet now (assignments made by a dispatcher in
    Onfleet included, as its webhooks told us). `active_tasks`: still to do, Open in Striven
    and neither started nor completed in Onfleet; `in_progress_tasks`: In Progress in Striven
    or started in Onfleet. Completed (either side), unassigned, deleted and skipped tasks are
    in neither. They come from reading the connection's task mappings: a view is rare, a task
    sync is not, so no per-employee index is written on the sync path.
    """
    mapping = mappings.get(EMPLOYEE, employee_id)
    if mapping is None:
        return None
    worker = mapping.other_id
    active: list[Mapping] = []
    in_progress: list[Mapping] = []
    for task in mappings.list(TASK):
        if not worker or task.data.get("worker_id") != worker or not task.other_id:
            continue
        if sync_state(task) not in ("synced", "failed"):
            continue  # completed in Onfleet, unassigned, deleted or never created
        status = task.data.get("striven_status") or "open"
        if status == "in progress" or task.data.get("onfleet_state") == 2:
            in_progress.append(task)
        elif status == "open":
            active.append(task)
    return {
        **_employee(mapping),
        "reason": mapping.data.get("reason"),
        "last_error": mapping.data.get("last_error"),
        "active_tasks": _tasks(active),
        "in_progress_tasks": _tasks(in_progress),
    }


def _tasks(found: list[Mapping]) -> list[dict[str, Any]]:
    return [
        {
            "striven_task_id": t.external_id,
            "onfleet_task_id": t.other_id,
            "short_id": t.data.get("short_id"),
            "striven_status": t.data.get("striven_status"),
        }
        for t in sorted(found, key=lambda t: int(t.external_id))
    ]


def _worker_names(mappings: MappingRepository) -> dict[str, str]:
    """Onfleet worker id → name, for the drivers we linked or created."""
    return {
        m.other_id: str(m.data["name"])
        for m in mappings.list(EMPLOYEE)
        if m.other_id and m.data.get("name") and m.data.get("status") in LINKED
    }


def _name(data: dict[str, Any], names: dict[str, str]) -> str | None:
    worker = data.get("worker_id")
    return data.get("worker_name") or (names.get(worker) if worker else None)


def linked_employees(mappings: MappingRepository) -> list[dict[str, Any]]:
    """Every employee associated with an Onfleet driver."""
    found = [m for m in mappings.list(EMPLOYEE) if m.other_id and m.data.get("status") in LINKED]
    return [_employee(m) for m in sorted(found, key=lambda m: int(m.external_id))]


def _employee(mapping: Mapping) -> dict[str, Any]:
    return {
        "striven_employee_id": mapping.external_id,
        "onfleet_worker_id": mapping.other_id,
        "onfleet_worker_name": mapping.data.get("name"),
        "name": mapping.data.get("name"),
        "phone": mapping.data.get("phone"),
        "status": mapping.data.get("status"),
        "linked_at": mapping.updated_at,
    }
