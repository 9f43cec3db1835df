"""Issue 15 item 4: tasks waiting for their assignee to join a selected team.

A task skipped with `assignee_not_in_selected_team` (or a synced task unassigned for it) is
filed here with its snapshot. Striven does not change the task when a dispatcher moves its
employee into a selected team, so the high-water poll would not read it again; instead the poll
notices the change of the selected teams' membership (a fingerprint kept in the poll state) and
queues the waiting tasks of which an assignee is now a member (no Striven call: a snapshot is
still the task as Striven has it, or the worker finds it stale). An unchanged membership costs
nothing; a change costs one query of this list.
"""

from __future__ import annotations

from collections.abc import Collection

from fleetbridge.core.models import Mapping, fingerprint
from fleetbridge.flows.striven_onfleet import WAITING
from fleetbridge.flows.striven_onfleet.context import FlowContext
from fleetbridge.flows.striven_onfleet.work import assignee_ids, file_snapshot
from fleetbridge.vendors.striven_models import StrivenTask


def members_fingerprint(members: Collection[int]) -> str:
    """The selected teams' membership, as the poll compares it from one poll to the next."""
    return fingerprint(sorted(set(members)))


def remember(ctx: FlowContext, task: StrivenTask) -> None:
    """File `task` until one of its assignees joins a selected team."""
    file_snapshot(ctx, WAITING, task, assignees=sorted(assignee_ids([task])))


def ready(ctx: FlowContext, members: Collection[int]) -> list[Mapping]:
    """Waiting tasks of which an assignee is now in `members` (the selected teams)."""
    wanted = set(members)
    return [e for e in ctx.mappings.list(WAITING) if wanted & set(e.data.get("assignees") or [])]
