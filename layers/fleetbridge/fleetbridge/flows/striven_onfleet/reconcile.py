"""Issue 15 item 3: the daily task reconciliation (and `POST /connections/{id}/sync`, with
`dry_run`): orphans the poll cannot see.

- **Drivers deleted in Onfleet.** One `GET /workers?filter=id`; a linked employee whose worker is
  gone loses its link (`driver_deleted_in_onfleet`), so its next task matches or creates a driver
  again instead of failing for ever. Its live tasks are carried out again below (Onfleet left
  them unassigned), and so are its tasks that failed since (`onfleet_rejected`).
- **Tasks deleted in Striven, or moved to a task type that is not selected.** The poll searches
  the selected types only, and a deleted task is never returned: such a task's Onfleet task would
  stay for ever. Every task we have in Onfleet (mapping `synced` or `unassigned`) is looked for in
  one search of the selected types updated since the oldest of their versions (a task that
  changed since has a later `lastUpdatedDate`); the few not found are read one by one: gone →
  its Onfleet task is deleted (`deleted_in_striven`); found with another type → deleted
  (`type_not_selected`).
- Every live task found goes through `task_rules.decide` again, so an update the poll missed is caught
  too; an unchanged task costs no Onfleet call.

Cost: 1 Onfleet read, Striven pages of `page_size` tasks over the live tasks' span, and one
Striven read per task not found. With `dry_run` nothing is written; the plan says what would be.
"""

from __future__ import annotations

from typing import Any

from fleetbridge.core import mass_removal
from fleetbridge.core.errors import VendorNotFound, VendorValidationError
from fleetbridge.core.models import Mapping
from fleetbridge.core.registry import Plan, PlanItem
from fleetbridge.flows.striven_onfleet import EMPLOYEE, LINKED, TASK, task_rules
from fleetbridge.flows.striven_onfleet.context import FlowContext
from fleetbridge.flows.striven_onfleet.drivers import forget_driver
from fleetbridge.flows.striven_onfleet.sync import QUIET, sync_task, synced_from
from fleetbridge.flows.striven_onfleet.task_rules import ONFLEET_COMPLETED
from fleetbridge.flows.striven_onfleet.work import TaskWork
from fleetbridge.vendors.striven_models import StrivenTask

LIVE = frozenset({"synced", "unassigned"})


def reconcile_drivers(
    ctx: FlowContext, *, dry_run: bool, source_event: str
) -> tuple[Plan, set[int]]:
    """The daily driver pass (first: the team pass must not add deleted drivers to teams): its
    plan, and the employees whose driver was deleted in Onfleet."""
    items: list[PlanItem] = []
    gone = _deleted_drivers(ctx, items, dry_run=dry_run, source_event=source_event)
    return Plan(dry_run=dry_run, items=items), gone


def reconcile_tasks(ctx: FlowContext, gone: set[int], *, dry_run: bool, source_event: str) -> Plan:
    """The plan of the daily task pass (applied unless `dry_run`); `gone`: employees whose
    driver was deleted in Onfleet (`reconcile_drivers`)."""
    plan = Plan(dry_run=dry_run)
    items = plan.items
    tasks = ctx.mappings.list(TASK)
    live = {m.external_id: m for m in tasks if m.other_id and m.data.get("status") in LIVE}
    retry = {
        m.external_id: m
        for m in tasks
        if m.data.get("status") == "failed" and m.data.get("employee_id") in gone
    }
    if not live and not retry:
        return plan
    found = _read(ctx, {**live, **retry})
    selected = set(ctx.settings.team_ids)
    teams = [t for t in ctx.teams.teams() if t.id in selected]
    members = {t.id: set(t.member_ids) for t in teams}
    names = {t.id: t.name for t in teams}
    absent = [key for key in live if int(key) not in found]
    held = _held(ctx, absent, len(live), dry_run=dry_run, source_event=source_event)
    for task_id, mapping in sorted({**live, **retry}.items(), key=lambda kv: int(kv[0])):
        task = found.get(int(task_id))
        if task is None:
            if task_id in live and held:
                items.append(
                    PlanItem(
                        entity=f"task {task_id}",
                        action="skipped",
                        reason=mass_removal.HELD_REASON,
                        vendor_ids={"striven_task_id": int(task_id)},
                    )
                )
            elif task_id in live:
                items.append(_deleted_in_striven(ctx, mapping, dry_run, source_event))
            continue
        if mapping.data.get("employee_id") in gone:
            mapping = _orphaned(ctx, mapping, dry_run)
        synced = synced_from(mapping)
        decision = task_rules.decide(
            task, ctx.settings, members, ctx.clock(), synced, mapping.data.get("onfleet_state")
        )
        if decision.action == "skip" and decision.reason in QUIET:
            continue
        ids: dict[str, Any] = {"striven_task_id": task.id, "onfleet_task_id": mapping.other_id}
        if not dry_run:
            work = TaskWork(task, members, names, {}, {})
            decision = sync_task(ctx, work, source_event=source_event, mapping=mapping)
        items.append(
            PlanItem(
                entity=f"task {task.id}",
                action=decision.activity,
                reason=decision.reason,
                vendor_ids=ids,
                details={"changed": list(decision.changed)} if decision.changed else {},
            )
        )
    return plan


def _held(
    ctx: FlowContext, absent: list[str], linked: int, *, dry_run: bool, source_event: str
) -> bool:
    """Whether the Onfleet tasks of `absent` Striven tasks must wait for an admin's
    confirmation (core.mass_removal: too many at once); the hold is emailed once."""
    return mass_removal.gate(
        ctx.connection,
        ctx.settings,
        absent,
        linked,
        dry_run=dry_run,
        what="Striven tasks",
        source="Striven",
        source_event=source_event,
    )


def _deleted_drivers(
    ctx: FlowContext, items: list[PlanItem], *, dry_run: bool, source_event: str
) -> set[int]:
    """Employees whose Onfleet driver no longer exists (links dropped unless `dry_run`)."""
    linked = [
        m for m in ctx.mappings.list(EMPLOYEE) if m.other_id and m.data.get("status") in LINKED
    ]
    if not linked:
        return set()
    workers = {w.id for w in ctx.onfleet.list_workers(filter=["name"])}
    gone: set[int] = set()
    for mapping in linked:
        if mapping.other_id in workers:
            continue
        employee_id = int(mapping.external_id)
        gone.add(employee_id)
        if not dry_run:
            assert mapping.other_id is not None
            forget_driver(ctx, employee_id, mapping.other_id, source_event=source_event)
        items.append(
            PlanItem(
                entity=f"employee {employee_id}",
                action="deleted",
                reason="driver_deleted_in_onfleet",
                vendor_ids={
                    "striven_employee_id": employee_id,
                    "onfleet_worker_id": mapping.other_id,
                },
            )
        )
    return gone


def _read(ctx: FlowContext, mappings: dict[str, Mapping]) -> dict[int, StrivenTask]:
    """The Striven tasks of `mappings`: one search since their oldest version, then one read
    for each not found (deleted, or of a type that is not selected)."""
    wanted = {int(i) for i in mappings}
    versions = [str(m.data["version"]) for m in mappings.values() if m.data.get("version")]
    found: dict[int, StrivenTask] = {}
    if ctx.settings.task_type_ids:
        since = min(versions) if versions else None
        for task in ctx.striven.iter_tasks(
            updated_from=since, updated_to=ctx.clock(), type_ids=ctx.settings.task_type_ids
        ):
            if task.id in wanted:
                found[task.id] = task
    for task_id in sorted(wanted - set(found)):
        read = ctx.striven.get_task(task_id)
        if read is not None:
            found[task_id] = read
    return found


def _orphaned(ctx: FlowContext, mapping: Mapping, dry_run: bool) -> Mapping:
    """A task of a deleted driver: Onfleet unassigned it; let `task_rules.decide` assign it again."""
    parts = {**(mapping.data.get("parts") or {}), "assignment": None}
    status = "unassigned" if mapping.data.get("status") in LIVE else "failed"
    data = {**mapping.data, "status": status, "parts": parts, "worker_id": None, "version": None}
    changed = mapping.model_copy(update={"data": data, "fingerprint": None})
    if not dry_run:
        ctx.mappings.save(changed)
        stored = ctx.mappings.get(TASK, mapping.external_id)
        return stored or changed
    return changed


def _deleted_in_striven(
    ctx: FlowContext, mapping: Mapping, dry_run: bool, source_event: str
) -> PlanItem:
    """Striven no longer has the task: its Onfleet task goes too."""
    assert mapping.other_id is not None
    ids = {"striven_task_id": int(mapping.external_id), "onfleet_task_id": mapping.other_id}
    item = PlanItem(
        entity=f"task {mapping.external_id}",
        action="deleted",
        reason="deleted_in_striven",
        vendor_ids=ids,
    )
    if dry_run:
        return item
    data = {**mapping.data, "status": "deleted", "reason": "deleted_in_striven"}
    try:
        ctx.onfleet.delete_task(mapping.other_id)
    except VendorNotFound:
        pass  # gone already
    except VendorValidationError:  # completed in Onfleet: it cannot be deleted, nor change
        item = item.model_copy(update={"action": "skipped", "reason": "completed_in_onfleet"})
        data = {**mapping.data, "onfleet_state": ONFLEET_COMPLETED, "reason": item.reason}
    ctx.mappings.save(mapping.model_copy(update={"data": data}))
    ctx.record(item.action, item.entity, item.reason, source=source_event, ids=ids)
    return item
