"""Rule 2's re-check: tasks that enter the 24-hour window without changing in Striven.

The high-water poll only reads tasks that changed, so a task planned for next week would never
be read again when its day comes. When the worker skips a task only because of the window, it
files the task's snapshot under the UTC hour its window opens (`window#<hour>` / task id). Each
poll lists the hours from the last one it finished up to now (usually one bucket: a few items,
never the whole task list) and queues the snapshots whose time has come. No Striven call: a
snapshot is still the task as Striven has it, because any change would have moved its
`lastUpdatedDate` past the high-water mark; a snapshot older than the task's mapping is stale
and the worker skips it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from fleetbridge.core.errors import ConflictError
from fleetbridge.core.models import Mapping, iso
from fleetbridge.flows.striven_onfleet import WINDOW
from fleetbridge.flows.striven_onfleet.context import FlowContext
from fleetbridge.flows.striven_onfleet.work import file_snapshot
from fleetbridge.vendors.striven_models import StrivenTask


def hour_of(moment: datetime) -> str:
    """The bucket name of a moment: its UTC hour, sortable (`2026-11-23T06`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H")


def _entity(hour: str) -> str:
    return f"{WINDOW}#{hour}"


def remember(ctx: FlowContext, task: StrivenTask, opens_at: datetime) -> None:
    """File `task` for a re-check when its window opens at `opens_at` (aware)."""
    file_snapshot(ctx, _entity(hour_of(opens_at)), task, opens_at=iso(opens_at))


def due(ctx: FlowContext, since_hour: str | None, now: datetime) -> Iterator[Mapping]:
    """Filed snapshots whose window has opened by `now`, from bucket `since_hour` on."""
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    moment = current
    if since_hour:  # one query per hour since the last poll (one or two, unless it was paused)
        moment = min(datetime.strptime(since_hour, "%Y-%m-%dT%H").replace(tzinfo=UTC), current)
    stamp = iso(now)
    while moment <= current:
        for entry in ctx.mappings.list(_entity(hour_of(moment))):
            if str(entry.data.get("opens_at", "")) <= stamp:
                yield entry
        moment += timedelta(hours=1)


def forget(ctx: FlowContext, entries: list[Mapping]) -> None:
    """Remove re-checked entries (already queued)."""
    for entry in entries:
        with suppress(ConflictError):  # re-filed meanwhile with a newer snapshot: keep it
            ctx.mappings.delete(entry)
