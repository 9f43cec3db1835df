"""Rule 2, the poll: Striven has no webhooks, so every `poll_minutes` (default 5) the connection
reads the tasks updated since its high-water mark (minus `poll_overlap_minutes`) and queues them,
a few tasks per message (`work.py`); then it queues the tasks whose 24-hour window opened since
the last poll (`window.py`). Rule 7's membership step runs first, so new drivers find their teams.

Why queue the tasks rather than apply them here: the Onfleet organization allows 20 calls/s and
one process calls Onfleet one task at a time (~100-300 ms a call in production, plus our DynamoDB
writes), reaching a fraction of that rate; queued chunks are carried out by as many workers as
it takes to fill the shared 20/s limiter (measured in `bench/striven_onfleet.py`, see
docs/striven-onfleet.md), the poll finishes in seconds whatever the backlog, and a failing chunk
is retried and dead-lettered on its own. Pages are streamed into the queue ten messages at a
time: memory does not grow with the number of tasks.

Striven's quotas: the client's shared limiter keeps to the minute quota; a used-up day quota
(`QuotaExhausted`) pauses the connection's polling until Striven's `Retry-After`, recorded once
as a `skipped` activity; the tasks already queued are not failed (they need no Striven call).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fleetbridge.core.models import iso
from fleetbridge.core.queue import WorkMessage, publish_many
from fleetbridge.flows.striven_onfleet import EMPLOYEE, RETRY, waiting
from fleetbridge.flows.striven_onfleet.context import FlowContext
from fleetbridge.flows.striven_onfleet.task_rules import selected_members
from fleetbridge.flows.striven_onfleet.teams import follow_membership, linked_drivers
from fleetbridge.flows.striven_onfleet.window import due, forget, hour_of
from fleetbridge.flows.striven_onfleet.work import (
    MEMBERSHIP_RECHECK,
    TASK_CHANGED,
    WINDOW_RECHECK,
    assignee_ids,
    chunks,
    tasks_message,
)
from fleetbridge.vendors.striven import QuotaExhausted
from fleetbridge.vendors.striven_models import StrivenEmployee, StrivenTask, StrivenTeam

#: How long a day-quota pause lasts when Striven gives no Retry-After.
DEFAULT_PAUSE = timedelta(hours=1)


class Employees:
    """Striven employee records, read (all pages, once) only when a poll first needs one."""

    def __init__(self, ctx: FlowContext) -> None:
        self._ctx = ctx
        self._by_id: dict[int, StrivenEmployee] | None = None

    def pick(self, ids: Iterable[int]) -> dict[int, StrivenEmployee]:
        """The records of `ids` (an empty `ids` costs nothing)."""
        wanted = set(ids)
        if not wanted:
            return {}
        if self._by_id is None:
            self._by_id = {e.id: e for e in self._ctx.striven.iter_employees()}
        return {e: self._by_id[e] for e in wanted if e in self._by_id}


def poll_tasks(ctx: FlowContext, *, poll_id: str) -> dict[str, Any]:
    """One poll of the connection; returns what it did (also stored as `last_poll`)."""
    state = ctx.state().load()
    now = ctx.clock()
    paused = state.get("paused_until")
    if paused and iso(now) < paused:
        return {"skipped": "striven_day_quota_exhausted", "paused_until": paused}
    if not ctx.settings.task_type_ids or not ctx.settings.team_ids:
        return {"skipped": "no task types or teams selected"}
    try:
        summary = _poll(ctx, state, now, poll_id)
    except QuotaExhausted as exc:
        return _pause(ctx, now, exc)
    marks = summary.pop("state")
    ctx.state().update(paused_until=None, paused_at=None, last_poll=summary, **marks)
    return summary


def _poll(ctx: FlowContext, state: dict[str, Any], now: datetime, poll_id: str) -> dict[str, Any]:
    settings, source = ctx.settings, f"poll:{poll_id}"
    teams = [t for t in ctx.teams.teams() if t.id in set(settings.team_ids)]
    linked = linked_drivers(ctx.mappings.list(EMPLOYEE))
    team_writes = follow_membership(ctx, teams, linked, source)  # rule 7, before any driver
    employees = Employees(ctx)
    until: str = ctx.striven.local(now)
    since = None
    if state.get("high_water"):
        overlap = timedelta(minutes=settings.poll_overlap_minutes)
        start = mark_instant(state["high_water"], settings.zone) - overlap
        low, high = local_range(start, now, settings.zone)
        since, until = ctx.striven.local(low), ctx.striven.local(high)

    def queue(tasks: Iterable[StrivenTask], **options: Any) -> int:
        """Publish `tasks`' messages (`_messages`); returns how many."""
        return publish_many(_messages(ctx, tasks, teams, linked, employees, poll_id, **options))

    def requeue(entries: list[Any], **options: Any) -> int:
        """Queue the tasks remembered in `entries` again, then forget them."""
        queued = queue((StrivenTask.model_validate(e.data["task"]) for e in entries), **options)
        forget(ctx, entries)
        return queued

    read = [0]
    changed = ctx.striven.iter_tasks(
        updated_from=since, updated_to=until, type_ids=settings.task_type_ids
    )
    queued = queue(_counted(changed, read))
    rechecks = requeue(list(due(ctx, state.get("window_through"), now)), event=WINDOW_RECHECK)
    members = selected_members({t.id: t.member_ids for t in teams}, settings.team_ids)
    members_fp = waiting.members_fingerprint(members)
    waiting_entries: list[Any] = []
    if state.get("members_fp") and state["members_fp"] != members_fp:
        waiting_entries = waiting.ready(ctx, members)  # item 4: their assignee joined
    membership_rechecks = requeue(
        waiting_entries, event=MEMBERSHIP_RECHECK, prefix=f"members-{members_fp[:12]}"
    )
    retry_entries = ctx.mappings.list(RETRY)  # dead-lettered by an outage: try them again
    outage_retries = requeue(retry_entries, prefix=f"retry-{poll_id}")
    return {
        "read": read[0],
        "queued": queued,
        "window_rechecks": rechecks,
        "membership_rechecks": membership_rechecks,
        "outage_retries": outage_retries,
        "team_writes": team_writes,
        "since": since,
        "until": until,
        "at": iso(now),
        "state": {
            "high_water": iso(now),
            "window_through": hour_of(now),
            "members_fp": members_fp,
        },
    }


def mark_instant(value: str, tz: ZoneInfo) -> datetime:
    """The stored high-water mark as an instant. It is stored in UTC (`iso`); a mark stored by
    an older version as tenant-local text without offset is read in the tenant's zone."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def _naive(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def local_range(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Tenant-local bounds (no offset, as Striven searches) holding the local time of every
    instant from `start` to `end` (both aware).

    Striven stamps `lastUpdatedDate` in local time without offset. When the clocks go back
    between the two (autumn), the local times of the repeated hour come twice: an update at
    01:50 CDT is stamped 01:50, later than a poll at 01:05 CST. The range then spans the whole
    repeated hour (01:00 to 02:00), so such an update is read (the overlap re-reads are
    idempotent). Spring forward needs nothing: local time only jumps ahead.
    """
    low, high = _naive(start, tz), _naive(end, tz)
    before, after = start.astimezone(tz).utcoffset(), end.astimezone(tz).utcoffset()
    if before is None or after is None or before <= after:
        return low, high
    lo, hi = start, end  # find the moment the clocks went back (to the second)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    # the first local time after the change (clocks change on a whole minute)
    repeated = _naive(hi, tz).replace(second=0, microsecond=0)
    return min(low, repeated), max(high, repeated + (before - after))


def _counted(tasks: Iterable[StrivenTask], count: list[int]) -> Iterator[StrivenTask]:
    for task in tasks:
        count[0] += 1
        yield task


def _messages(
    ctx: FlowContext,
    tasks: Iterable[StrivenTask],
    teams: list[StrivenTeam],
    linked: dict[int, str],
    employees: Employees,
    poll_id: str,
    *,
    event: str = TASK_CHANGED,
    prefix: str | None = None,
) -> Iterator[WorkMessage]:
    """One message per chunk of tasks, with the records of assignees not yet linked to a driver."""
    members = selected_members({t.id: t.member_ids for t in teams}, ctx.settings.team_ids)
    for chunk in chunks(tasks):
        unlinked = {e for e in assignee_ids(chunk) if e in members and e not in linked}
        yield tasks_message(
            ctx.connection.id,
            chunk,
            teams,
            employees.pick(unlinked),
            linked,
            event=event,
            poll_id=poll_id,
            prefix=prefix,
        )


def _pause(ctx: FlowContext, now: datetime, exc: QuotaExhausted) -> dict[str, Any]:
    """Rule 10: stop polling until the day quota is back; say so once."""
    wait = timedelta(seconds=exc.retry_after) if exc.retry_after else DEFAULT_PAUSE
    until = iso(now + wait)
    ctx.state().update(paused_until=until, paused_at=iso(now))
    ctx.record(
        "skipped",
        "task poll",
        "striven_day_quota_exhausted",
        source="poll",
        ids={"paused_until": until, "message": exc.message},
    )
    return {"paused_until": until}
