"""Rule 6, the poll: read the portal's driver list, diff it against our fingerprints and queue
one message per changed, new or deleted driver (the same queue and worker as the push)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fleetbridge.core import mass_removal
from fleetbridge.core.models import Connection, Mapping
from fleetbridge.core.queue import WorkMessage, publish_many
from fleetbridge.flows.gpsinsight_driveri import DRIVER, FLOW_ID
from fleetbridge.flows.gpsinsight_driveri.context import FlowContext
from fleetbridge.flows.gpsinsight_driveri.rules import content_fingerprint
from fleetbridge.flows.gpsinsight_driveri.sync import to_portal


def poll_portal(ctx: FlowContext, *, poll_id: str) -> dict[str, Any]:
    """Queue the portal's changes since our last sync; returns counts.

    Before the initial sync (a reconciliation queued on opt-in) has finished, the poll waits:
    every driver would look new and race the initial sync.
    """
    if not ctx.state().load().get("initial_sync_at"):
        return {"skipped": "initial_sync_pending"}
    drivers = ctx.portal.list_drivers()
    known = {mapping.external_id: mapping for mapping in ctx.mappings.list(DRIVER)}
    linked = [pid for pid, m in known.items() if m.other_id and m.data.get("status") != "deleted"]
    present = {driver.driver_id for driver in drivers}
    absent = [pid for pid in linked if pid not in present]
    verdict = mass_removal.check(len(absent), len(linked), ctx.settings.mass_removal_threshold)
    if verdict.hold:  # an empty or truncated answer looks like this: remove nothing, ask
        mass_removal.hold(
            ctx.connection,
            verdict,
            absent,
            ctx.settings.admin_emails,
            what="portal drivers",
            source="GPS Insight",
            source_event=f"poll:{poll_id}",
        )
    queued = publish_many(
        _changes(ctx.connection, drivers, known, poll_id, removals=not verdict.hold)
    )
    answer: dict[str, Any] = {"portal_drivers": len(drivers), "queued": queued}
    if verdict.hold:
        answer["held_removals"] = len(absent)
    return answer


def _changes(
    connection: Connection,
    drivers: list[Any],
    known: dict[str, Mapping],
    poll_id: str,
    *,
    removals: bool = True,
) -> Iterator[WorkMessage]:
    for driver in drivers:
        mapping = known.pop(driver.driver_id, None)
        current = content_fingerprint(to_portal(driver))
        if mapping is not None and mapping.fingerprint == current:
            continue
        yield WorkMessage(
            flow=FLOW_ID,
            connection_id=connection.id,
            kind="poll",
            # one message per content: a second poll before the worker ran adds nothing
            event_id=f"poll:{driver.driver_id}:{current[:16]}",
            event="driver_changed" if mapping else "driver_new",
            payload={
                "portal_driver": driver.model_dump(),
                "entity": f"driver {driver.driver_id}",
                "poll_id": poll_id,
            },
        )
    for portal_id, mapping in known.items() if removals else ():
        if mapping.data.get("status") == "deleted" or not mapping.other_id:
            continue  # nothing linked in Driveri: nothing to remove
        yield WorkMessage(
            flow=FLOW_ID,
            connection_id=connection.id,
            kind="poll",
            event_id=f"poll:{portal_id}:deleted",
            event="driver_deleted",
            payload={
                "portal_driver_id": portal_id,
                "deleted": True,
                "entity": f"driver {portal_id}",
            },
        )
