"""Carrying out Driver Sync decisions: Driveri writes, the mapping, the activity record.

The rules (`rules.decide`) plan without I/O; here the plan meets Driveri. A 409 on create or
rename means the DriverID exists: read that profile and decide again with it (create becomes
link, rename becomes re-link). A 404 on the linked profile means it vanished: decide again
knowing that (the portal wins, it is created). A 400/422 is recorded as a rejection and retried
only when the driver changes (its fingerprint is stored with status `rejected`).
"""

from __future__ import annotations

from fleetbridge.core.errors import VendorConflict, VendorNotFound, VendorValidationError
from fleetbridge.core.models import Mapping
from fleetbridge.flows.gpsinsight_driveri import DRIVER
from fleetbridge.flows.gpsinsight_driveri.context import FlowContext
from fleetbridge.flows.gpsinsight_driveri.rules import (
    UNKNOWN,
    Applied,
    Create,
    Deactivate,
    Decision,
    Delete,
    Fields,
    Portal,
    Remote,
    Rename,
    Step,
    Update,
    clean,
    decide,
    rejection,
    taken,
)
from fleetbridge.vendors.driveri import DriveriClient, DriveriDriver
from fleetbridge.vendors.gpsinsight import PortalDriver

#: Decisions that change nothing and say nothing new: not written to the activity log by the
#: daily run (its drift report counts them) so 10,000 in-line drivers cost no writes.
QUIET_REASONS = frozenset({"unchanged", "in_line"})


def to_portal(driver: PortalDriver) -> Portal:
    """The rules' view of a portal driver."""
    return Portal(
        portal_id=driver.driver_id,
        driveri_id=driver.driveri_driver_id,
        fields=Fields(
            first_name=driver.firstname,
            last_name=driver.lastname,
            email=driver.email,
            phone=driver.phone,
            license_number=driver.license_number,
            group=driver.group,
        ),
        ref_id=driver.ref_id,
    )


def to_remote(driver: DriveriDriver) -> Remote:
    """The rules' view of a Driveri driver."""
    return Remote(
        driver_id=driver.driver_id,
        fields=Fields(
            first_name=driver.first_name,
            last_name=driver.last_name,
            email=driver.email,
            phone=driver.phone,
            license_number=driver.license_number,
            group=driver.group,
        ),
        status=driver.status,
    )


def applied_from(mapping: Mapping | None) -> Applied | None:
    """What we last did for a portal driver, from its mapping."""
    if mapping is None:
        return None
    return Applied(
        status=mapping.data.get("status", "synced"),
        fingerprint=mapping.fingerprint or "",
        driveri_id=mapping.other_id,
    )


def sync_driver(
    ctx: FlowContext,
    portal: Portal,
    *,
    source_event: str,
    updated_at: str | None = None,
) -> Decision:
    """The event path (push or poll) for one portal driver: decide, apply, record.

    `updated_at` is the snapshot's portal timestamp: a snapshot older than the one applied last
    (deliveries reorder) is skipped with reason `stale_event`.
    """
    mapping = ctx.mappings.get(DRIVER, portal.portal_id)
    applied_at = mapping.data.get("updated_at") if mapping else None
    if updated_at and applied_at and updated_at < applied_at:
        decision = Decision("skipped", "stale_event", notes={"applied_updated_at": applied_at})
        _record(ctx, portal, decision, source_event)
        return decision
    applied = applied_from(mapping)
    decision = decide(portal, applied, UNKNOWN, delete_mode=ctx.settings.delete_mode)
    new_id = clean(portal.driveri_id)
    if decision.steps and new_id and new_id != (mapping.other_id if mapping else None):
        # A new or changed DriverID: refuse it if another portal driver is linked to it.
        holder = ctx.mappings.find_by_other_id(DRIVER, new_id)
        refused = taken(portal, applied, holder.external_id if holder else None)
        if refused is not None:
            decision = carry_out(
                ctx, portal, mapping, refused, source_event=source_event, updated_at=updated_at
            )
            _notify_taken(ctx, portal, decision, source_event)
            return decision
    return carry_out(
        ctx, portal, mapping, decision, source_event=source_event, updated_at=updated_at
    )


def _notify_taken(ctx: FlowContext, portal: Portal, decision: Decision, source_event: str) -> None:
    """Tell the admins once (the rejection waits for the portal driver to change)."""
    from fleetbridge.core.notifier import Notifier

    claimed = decision.notes.get("driveri_driver_id")
    Notifier(ctx.activity).send(
        ctx.connection,
        ctx.settings.admin_emails,
        "failure",
        {
            "entity": f"portal driver {portal.portal_id}",
            "reason": decision.reason,
            "details": f"Its Driveri DriverID {claimed} is already linked to portal driver "
            f"{decision.notes.get('claimed_by')}. Give one of them another DriverID in the "
            "portal: the driver is synced again when it changes.",
        },
        entity=f"driver {portal.portal_id}",
        source_event=source_event,
    )


def carry_out(
    ctx: FlowContext,
    portal: Portal,
    mapping: Mapping | None,
    decision: Decision,
    *,
    source_event: str,
    updated_at: str | None = None,
    record_quiet: bool = True,
) -> Decision:
    """Apply `decision`'s steps in Driveri (deciding again on 409/404), store and record it."""
    applied = applied_from(mapping)
    try:
        decision = _execute_with_recovery(ctx, portal, applied, decision)
    except (VendorValidationError, VendorConflict) as exc:
        decision = rejection(decision, applied, exc.message)
    _store(ctx, portal, mapping, decision, updated_at)
    if record_quiet or decision.reason not in QUIET_REASONS:
        _record(ctx, portal, decision, source_event)
    return decision


def _execute_with_recovery(
    ctx: FlowContext, portal: Portal, applied: Applied | None, decision: Decision
) -> Decision:
    mode = ctx.settings.delete_mode
    try:
        execute(ctx.driveri, decision.steps)
        return decision
    except VendorConflict:
        # Rule 2 / rule 4: the DriverID exists → link (or re-link) to that profile.
        new_id = clean(portal.driveri_id)
        target = ctx.driveri.get_driver(new_id) if new_id else None
        if target is None:
            raise
        again = decide(portal, applied, to_remote(target), delete_mode=mode)
    except VendorNotFound:
        if not any(isinstance(step, Update | Rename) for step in decision.steps):
            return decision  # removing a driver that is already gone: done
        # The linked profile vanished from Driveri: the portal wins, decide knowing that.
        new_id = clean(portal.driveri_id)
        found = ctx.driveri.get_driver(new_id) if new_id else None
        again = decide(
            portal,
            applied,
            to_remote(found) if found else None,
            delete_mode=mode,
            linked_exists=False,
        )
    execute(ctx.driveri, again.steps)  # a second conflict is a rejection (caller)
    return again


def execute(driveri: DriveriClient, steps: tuple[Step, ...]) -> None:
    """The Driveri calls for `steps`, in order (one call per step)."""
    for step in steps:
        match step:
            case Create():
                driveri.create_driver(_present(step.fields))
            case Update():
                driveri.update_driver(step.driver_id, step.fields)
            case Rename():
                driveri.update_driver(step.driver_id, step.fields)
            case Delete():
                driveri.delete_driver(step.driver_id)
            case Deactivate():
                driveri.deactivate_driver(step.driver_id)


def _present(fields: dict[str, object]) -> dict[str, object]:
    """A create sends only the fields that have values (absent, not null)."""
    return {name: value for name, value in fields.items() if value is not None}


def _store(
    ctx: FlowContext,
    portal: Portal,
    mapping: Mapping | None,
    decision: Decision,
    updated_at: str | None,
) -> None:
    """Write the mapping when the decision changes what we know (and only then)."""
    if decision.status is None:
        return
    linked = decision.driveri_id if decision.status != "deleted" else None
    data = {
        "status": decision.status,
        "ref_id": portal.ref_id,  # rule 1: RefID is only copied, kept here for views/reports
        "updated_at": updated_at or (mapping.data.get("updated_at") if mapping else None),
        "last_error": decision.notes.get("message"),
    }
    if decision.status == "deleted":
        data["previous_driveri_id"] = decision.driveri_id
    if (
        mapping is not None
        and mapping.other_id == linked
        and mapping.fingerprint == decision.fingerprint
        and all(mapping.data.get(key) == value for key, value in data.items())
    ):
        return
    base = mapping or Mapping(connection_id=ctx.connection.id, entity=DRIVER, external_id="")
    ctx.mappings.save(
        base.model_copy(
            update={
                "external_id": portal.portal_id,
                "other_id": linked,
                "fingerprint": decision.fingerprint,
                "data": data,
            }
        )
    )


def _record(ctx: FlowContext, portal: Portal, decision: Decision, source_event: str) -> None:
    vendor_ids: dict[str, object] = {"portal_driver_id": portal.portal_id}
    if decision.driveri_id:
        vendor_ids["driveri_driver_id"] = decision.driveri_id
    vendor_ids.update(decision.notes)
    if decision.differences:
        vendor_ids["differences"] = [d.field for d in decision.differences]
    ctx.record(
        decision.action,
        f"driver {portal.portal_id}",
        decision.reason,
        source=source_event,
        ids=vendor_ids,
    )


def removed(portal_id: str) -> Portal:
    """A portal driver that no longer exists (delete push, or gone from the list)."""
    return Portal(portal_id=portal_id, driveri_id=None, exists=False)
