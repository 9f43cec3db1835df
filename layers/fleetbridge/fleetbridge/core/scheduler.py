"""Schedules fan out: one queued reconciliation per enabled connection of a flow."""

from __future__ import annotations

from fleetbridge.core.connections import ConnectionRepository
from fleetbridge.core.models import iso, utcnow
from fleetbridge.core.queue import WorkMessage, publish


def queue_reconciliations(flow: str, *, source: str) -> dict[str, int]:
    """Queue `reconcile` for each enabled connection (disabled ones are skipped at once)."""
    day = iso(utcnow())[:10]
    queued = 0
    for connection in ConnectionRepository().list_for_flow(flow, enabled_only=True):
        publish(
            WorkMessage(
                flow=flow,
                connection_id=connection.id,
                kind="reconcile",
                event_id=f"daily:{day}:{source}",
                event="daily_reconciliation",
            )
        )
        queued += 1
    return {"queued": queued}
