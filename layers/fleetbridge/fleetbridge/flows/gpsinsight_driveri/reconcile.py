"""Rule 7, the daily reconciliation (also the initial sync and `POST /sync`): the portal wins.

One pass: the portal list, Driveri listed page by page into a compact index, our mappings; the
pure `iter_reconciliation` yields one decision per driver, applied as it comes (unless dry run).
Drivers in line cost no write at all; the drift report lists every difference and action.

A run that would outlast its Lambda (Driveri allows ~10 writes/s: a first sync of 10,000
drivers takes ~17 minutes) stops applying at `time_budget` seconds, or earlier when what is left
of the invocation is short (`core.budget`: a run killed at its timeout would burn a receive and
start over), and queues a continuation:
the next run lists both sides again, finds the applied drivers in line and carries on. Each part
stores its report (`complete: false` on all but the last).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

from fleetbridge.core import budget, mass_removal
from fleetbridge.core.mass_removal import HELD_REASON
from fleetbridge.core.models import Mapping, iso
from fleetbridge.core.queue import queue_continuation
from fleetbridge.core.registry import Plan, PlanItem
from fleetbridge.flows.gpsinsight_driveri import DRIVER, FLOW_ID
from fleetbridge.flows.gpsinsight_driveri.context import FlowContext
from fleetbridge.flows.gpsinsight_driveri.report import DriftReport
from fleetbridge.flows.gpsinsight_driveri.rules import (
    Applied,
    Decision,
    Planned,
    Portal,
    iter_reconciliation,
)
from fleetbridge.flows.gpsinsight_driveri.sync import (
    applied_from,
    carry_out,
    removed,
    to_portal,
    to_remote,
)

#: Seconds of applying before a run hands over to a continuation (the worker's timeout is 900).
DEFAULT_TIME_BUDGET = float(os.environ.get("RECONCILE_TIME_BUDGET_S", "780"))


def reconcile_drivers(
    ctx: FlowContext,
    *,
    dry_run: bool,
    source_event: str,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> Plan:
    """Decide for every driver of both sides; apply unless `dry_run`; store the drift report."""
    started = time.monotonic()
    run_at = iso(ctx.clock())
    # Driveri's listing is paced by its rate limit: read the portal and our mappings meanwhile.
    with ThreadPoolExecutor(max_workers=1) as pool:
        other_sides = pool.submit(_portal_and_mappings, ctx)
        driveri = {d.driver_id: to_remote(d) for d in ctx.driveri.iter_drivers()}
        portal, rows = other_sides.result()
    applied = {key: a for key, mapping in rows.items() if (a := applied_from(mapping))}
    by_id = {driver.portal_id: driver for driver in portal}
    held = _held_removals(ctx, applied, by_id, dry_run=dry_run, source_event=source_event)
    report = DriftReport(ctx.connection.id, run_at, dry_run, source_event)
    items: list[PlanItem] = []
    wrote = False
    for planned in iter_reconciliation(portal, driveri, applied, ctx.settings):
        done = planned.decision
        if planned.portal_id in held and done.action == "deleted":
            done = Decision("skipped", HELD_REASON)  # an empty portal list deletes nothing
            planned = Planned(planned.portal_id, planned.driveri_id, done)
        if (
            not dry_run
            and done.steps
            and budget.time_to_hand_over(started, time_budget, progressed=wrote)
        ):
            report.complete = False
            break
        if not dry_run and planned.portal_id is not None and done.reason != HELD_REASON:
            subject = by_id.get(planned.portal_id) or removed(planned.portal_id)
            done = _apply(ctx, subject, rows.get(planned.portal_id), planned, source_event)
            wrote = wrote or bool(done.steps)
        row = report.add(planned, done)
        if row is not None:
            items.append(_plan_item(planned, done, row))

    if not dry_run:
        keys = report.store()
        if not report.complete:
            queue_continuation(FLOW_ID, ctx.connection.id, source_event)
            return Plan(dry_run=False, items=items)
        ctx.state().update(
            last_reconciled_at=run_at,
            initial_sync_at=run_at,
            latest_report=keys,
            last_summary=dict(report.summary),
        )
    return Plan(dry_run=dry_run, items=items)


def _held_removals(
    ctx: FlowContext,
    applied: dict[str, Applied],
    portal: dict[str, Portal],
    *,
    dry_run: bool,
    source_event: str,
) -> set[str]:
    """The linked drivers absent from the portal list when they are too many to remove without
    an admin's confirmation (core.mass_removal); empty when they may go."""
    linked = [key for key, a in applied.items() if a.driveri_id and a.status != "deleted"]
    absent = [key for key in linked if key not in portal]
    held = mass_removal.gate(
        ctx.connection,
        ctx.settings,
        absent,
        len(linked),
        dry_run=dry_run,
        what="portal drivers",
        source="GPS Insight",
        source_event=source_event,
        release_when_clear=True,
    )
    return set(absent) if held else set()


def _portal_and_mappings(ctx: FlowContext) -> tuple[list[Portal], dict[str, Mapping]]:
    portal = [to_portal(driver) for driver in ctx.portal.list_drivers()]
    return portal, {m.external_id: m for m in ctx.mappings.list(DRIVER)}


def _apply(
    ctx: FlowContext, portal: Portal, mapping: Mapping | None, planned: Planned, source: str
) -> Decision:
    return carry_out(
        ctx, portal, mapping, planned.decision, source_event=source, record_quiet=False
    )


def _plan_item(planned: Planned, done: Decision, row: dict[str, object]) -> PlanItem:
    ids = {"portal_driver_id": planned.portal_id, "driveri_driver_id": row["driveri_driver_id"]}
    return PlanItem(
        entity=f"driver {planned.portal_id or planned.driveri_id}",
        action=done.action,
        reason=done.reason,
        vendor_ids={key: value for key, value in ids.items() if value},
        details={
            "differences": row["differences"],
            **({"notes": row["notes"]} if row["notes"] else {}),
        },
    )
