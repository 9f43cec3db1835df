"""The Striven → Onfleet task rules as pure functions (issue 5, rules 1, 3-5). No I/O here.

- `eligibility`: rule 1, the first failing condition as the skip reason.
- `task_payload` / `update_payload`: rule 3, the Onfleet task body (tenant-local dates → epoch ms).
- `task_parts` / `task_fingerprint`: rule 4, only assignment, location, start, due and title.
- `decide`: create / update / reassign / delete / skip / fail for one task (rules 1, 3-5, 8).

Drivers' rules are in `driver_rules.py` (rule 6), teams' in `team_rules.py` (rule 7), one email
per distinct failure in `failure_rules.py` (rule 8).

Striven dates are tenant-local without offset: naive datetimes get the connection's zone, aware
ones (an offset was sent) are taken as they are. Once a task is in Onfleet the 24-hour window no
longer applies to it (moving its dates later updates the Onfleet task instead of orphaning it);
the other conditions still do, and Canceled deletes it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from fleetbridge.core.models import Action, fingerprint
from fleetbridge.core.phones import DEFAULT_REGION, normalize_phone
from fleetbridge.flows.striven_onfleet import TASK_METADATA
from fleetbridge.flows.striven_onfleet.settings import StrivenOnfleetSettings
from fleetbridge.vendors.striven_models import Location, Ref, StrivenTask

WINDOW = timedelta(hours=24)
ONFLEET_COMPLETED = 3
NOTES_LIMIT = 10_000  # Onfleet's notes limit
OPEN = "open"
CANCELED = frozenset({"canceled", "cancelled"})
COMPLETED = frozenset({"completed", "complete"})
#: Statuses in which a task already in Onfleet keeps following Striven (its technician is on it:
#: In Progress keeps the assignment and its updates).
FOLLOWED = frozenset({OPEN, "in progress"})

SkipReason = Literal[
    "type_not_selected",
    "not_in_window",
    "not_assigned",
    "assignee_not_in_selected_team",
    "status_not_open",
    "no_customer",
]
SKIP_REASONS: tuple[str, ...] = get_args(SkipReason)
#: The content a change of which is written to Onfleet (rule 4), in this order.
CHANGE_FIELDS = ("assignment", "location", "start", "due", "title")
TaskAction = Literal["create", "update", "reassign", "unassign", "delete", "skip", "fail"]
SyncStatus = Literal["synced", "unassigned", "failed", "deleted", "skipped"]
ACTIVITY: dict[str, Action] = {
    "create": "created",
    "update": "updated",
    "reassign": "updated",
    "unassign": "updated",
    "delete": "deleted",
    "skip": "skipped",
    "fail": "failed",
}


# ----------------------------------------------------------------------------- dates
def as_zone(tz: ZoneInfo | str) -> ZoneInfo:
    """A ZoneInfo from a zone or its IANA name."""
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def local_to_aware(value: datetime | None, tz: ZoneInfo | str) -> datetime | None:
    """A Striven date as an aware datetime: naive means the tenant's local time."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=as_zone(tz))


def epoch_ms(value: datetime | None, tz: ZoneInfo | str) -> int | None:
    """Unix milliseconds of a Striven date (Onfleet's timestamps)."""
    aware = local_to_aware(value, tz)
    return None if aware is None else int(aware.timestamp() * 1000)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone aware")


def task_version(task: StrivenTask) -> str | None:
    """The task's `lastUpdatedDate` as text: a task "update" is a new version (rule 8)."""
    return None if task.last_updated_date is None else task.last_updated_date.isoformat()


# ----------------------------------------------------------------------------- rule 1
def status_name(task: StrivenTask) -> str:
    """The task's status name, case-folded ("" when missing)."""
    return ((task.status.name if task.status else None) or "").strip().casefold()


def is_canceled(task: StrivenTask) -> bool:
    """Canceled in Striven (either spelling)."""
    return status_name(task) in CANCELED


def selected_members(
    team_members: Mapping[int, Collection[int]], team_ids: Iterable[int]
) -> set[int]:
    """Employee ids in any of the selected teams."""
    return {member for team_id in team_ids for member in team_members.get(team_id, ())}


def selected_assignee(
    task: StrivenTask,
    settings: StrivenOnfleetSettings,
    team_members: Mapping[int, Collection[int]],
) -> Ref | None:
    """The first assignee (in Striven's order) who belongs to a selected team."""
    members = selected_members(team_members, settings.team_ids)
    return next((a for a in task.assigned_to if a.id is not None and a.id in members), None)


def in_window(task: StrivenTask, tz: ZoneInfo | str, now: datetime) -> bool:
    """(start, or created when no start) ≤ now + 24 h, or due ≤ now + 24 h (boundary included)."""
    _require_aware(now)
    limit = now + WINDOW
    anchor = local_to_aware(task.start_date or task.date_created, tz)
    due = local_to_aware(task.due_date, tz)
    return (anchor is not None and anchor <= limit) or (due is not None and due <= limit)


def eligible_from(task: StrivenTask, tz: ZoneInfo | str) -> datetime | None:
    """When the 24-hour window starts to hold for this task (for the re-check poll)."""
    moments = [
        local_to_aware(value, tz)
        for value in (task.start_date or task.date_created, task.due_date)
        if value is not None
    ]
    earliest = min((m for m in moments if m is not None), default=None)
    return None if earliest is None else earliest - WINDOW


def eligibility(
    task: StrivenTask,
    settings: StrivenOnfleetSettings,
    team_members: Mapping[int, Collection[int]],
    now: datetime,
    *,
    check_window: bool = True,
    statuses: Collection[str] = (OPEN,),
) -> SkipReason | None:
    """Rule 1: None when the task may sync, else the first failing condition.

    `team_members` maps Striven team ids to their member employee ids (the team adapter's view);
    `statuses` the status names that may sync (a task already in Onfleet: `FOLLOWED`).
    """
    _require_aware(now)
    if task.type is None or task.type.id not in settings.task_type_ids:
        return "type_not_selected"
    if check_window and not in_window(task, settings.zone, now):
        return "not_in_window"
    if not any(a.id is not None for a in task.assigned_to):
        return "not_assigned"
    if selected_assignee(task, settings, team_members) is None:
        return "assignee_not_in_selected_team"
    if status_name(task) not in statuses:
        return "status_not_open"
    if task.customer is None or (task.customer.id is None and not task.customer.name):
        return "no_customer"
    return None


# ----------------------------------------------------------------------------- rule 3
def destination(location: Location | None) -> dict[str, Any] | None:
    """Onfleet destination `{address, location?}` from a Striven location, None when unusable."""
    if location is None:
        return None
    address = location.address
    coordinates = location.coordinates
    unparsed = None
    apartment = None
    if address is not None:
        region = " ".join(p for p in (address.state, address.postal_code) if p)
        parts = [address.line1, address.city, region, address.country]
        unparsed = ", ".join(p for p in parts if p) if address.line1 else address.full
        apartment = address.line2
    if not unparsed and coordinates is None:
        return None
    out: dict[str, Any] = {"address": {"unparsed": unparsed or location.name or ""}}
    if apartment:
        out["address"]["apartment"] = apartment
    if location.name:
        out["address"]["name"] = location.name
    if coordinates is not None:
        out["location"] = [coordinates[0], coordinates[1]]
    return out


def _notes(task: StrivenTask, with_customer: bool) -> str:
    parts = [task.title, (task.description or "").strip()]
    if with_customer and task.customer is not None and task.customer.name:
        parts.append(f"Customer: {task.customer.name}")
    return "\n\n".join(p for p in parts if p)[:NOTES_LIMIT]


def _recipients(task: StrivenTask, region: str = DEFAULT_REGION) -> list[dict[str, Any]]:
    """The customer as recipient when it has a phone (Onfleet requires one)."""
    customer = task.customer
    phone = normalize_phone(customer.phone, region) if customer is not None else None
    if customer is None or phone is None:
        return []
    return [{"name": customer.name or f"Customer {customer.id}", "phone": phone}]


def _times(task: StrivenTask, tz: ZoneInfo | str) -> dict[str, int | None]:
    after, before = epoch_ms(task.start_date, tz), epoch_ms(task.due_date, tz)
    if after is not None and before is not None and after >= before:
        after = None  # Onfleet needs after < before; the due date is the promise that counts
    return {"completeAfter": after, "completeBefore": before}


def task_payload(
    task: StrivenTask, worker_id: str, tz: ZoneInfo | str, region: str = DEFAULT_REGION
) -> dict[str, Any]:
    """Rule 3: the `POST /tasks` body for an eligible task assigned to `worker_id`.

    The customer becomes the recipient when it has a phone; otherwise its name is added to the
    notes. Raises `ValueError` when the task has no usable location (see `decide`).
    """
    place = destination(task.location)
    if place is None:
        raise ValueError(f"task {task.id} has no usable location")
    recipients = _recipients(task, region)
    body: dict[str, Any] = {
        "destination": place,
        "recipients": recipients,
        "notes": _notes(task, with_customer=not recipients),
        "container": {"type": "WORKER", "worker": worker_id},
        "metadata": [
            {"name": TASK_METADATA, "type": "number", "value": task.id, "visibility": ["api"]}
        ],
    }
    body.update({k: v for k, v in _times(task, tz).items() if v is not None})
    return body


def update_payload(
    task: StrivenTask,
    worker_id: str,
    tz: ZoneInfo | str,
    changed: Iterable[str],
    region: str = DEFAULT_REGION,
) -> dict[str, Any]:
    """Rule 4: the `PUT /tasks/{id}` body for the changed fields only."""
    changed = set(changed)
    body: dict[str, Any] = {}
    if "assignment" in changed:
        body["container"] = {"type": "WORKER", "worker": worker_id}
    if "location" in changed:
        body["destination"] = destination(task.location)
    if changed & {"start", "due"}:
        body.update(_times(task, tz))  # both: Onfleet checks their order together
    if "title" in changed:
        body["notes"] = _notes(task, with_customer=not _recipients(task, region))
    return body


# ----------------------------------------------------------------------------- rule 4
def task_parts(task: StrivenTask, assignee_id: int | None, tz: ZoneInfo | str) -> dict[str, Any]:
    """What Onfleet depends on: assignment, location, start, due and title (nothing else)."""
    return {
        "assignment": assignee_id,
        "location": destination(task.location),
        "start": epoch_ms(task.start_date, tz),
        "due": epoch_ms(task.due_date, tz),
        "title": task.title,
    }


def task_fingerprint(task: StrivenTask, assignee_id: int | None, tz: ZoneInfo | str) -> str:
    """Fingerprint of `task_parts`: equal parts, no Onfleet write."""
    return fingerprint(task_parts(task, assignee_id, tz))


# ----------------------------------------------------------------------------- decide
@dataclass(frozen=True)
class SyncedTask:
    """What we last did for a Striven task (its mapping)."""

    onfleet_task_id: str | None  # None: never created (e.g. the create failed)
    parts: Mapping[str, Any] | None = None  # the parts last written to Onfleet
    status: SyncStatus = "synced"
    version: str | None = None  # the task's `lastUpdatedDate` when `status` was decided
    failure: str | None = None  # the last failure's fingerprint (see `should_notify`)
    #: `task_fingerprint` of `parts` as computed when they were written. Compared as stored:
    #: parts read back from DynamoDB may not hash the same (a coordinate -89.0 comes back as
    #: the integer -89), which would turn an unchanged task into an update.
    fingerprint: str | None = None
    reason: str | None = None  # why `status` (a failure's reason: transient or the task's own)

    @property
    def live(self) -> bool:
        """An Onfleet task exists for it (as far as we know)."""
        return bool(self.onfleet_task_id) and self.status != "deleted"


@dataclass(frozen=True)
class TaskDecision:
    """What to do about one Striven task."""

    action: TaskAction
    reason: str
    assignee_id: int | None = None
    changed: tuple[str, ...] = ()
    parts: dict[str, Any] | None = None
    fingerprint: str | None = None

    @property
    def activity(self) -> Action:
        """The activity record's action."""
        return ACTIVITY[self.action]


#: Failures that say nothing about the task (a vendor outage outlived the retries): a replay of
#: the dead letter or the next poll tries the same version again. Any other failure (the task's
#: content was refused) waits for the task's next update (rule 8).
TRANSIENT_FAILURES = frozenset({"vendor_error"})


def is_transient_failure(reason: str | None) -> bool:
    """Whether a failure with this reason is retried without a new version of the task."""
    return reason in TRANSIENT_FAILURES


def decide(
    task: StrivenTask,
    settings: StrivenOnfleetSettings,
    team_members: Mapping[int, Collection[int]],
    now: datetime,
    synced: SyncedTask | None = None,
    onfleet_state: int | None = None,
) -> TaskDecision:
    """Rules 1, 3-5 and 8 for one task as Striven has it now.

    `synced` is its mapping (None: never seen); `onfleet_state` the Onfleet task's state when
    known (3 = completed). A failed task is tried again only once Striven has a newer version of
    it (rule 8: "on the task's next update").
    """
    _require_aware(now)
    live = synced is not None and synced.live
    if is_canceled(task):
        if not live:
            return TaskDecision("skip", "status_not_open")
        if onfleet_state == ONFLEET_COMPLETED:
            return TaskDecision("skip", "completed_in_onfleet")
        return TaskDecision("delete", "canceled_in_striven")
    if live and onfleet_state == ONFLEET_COMPLETED:
        return TaskDecision("skip", "completed_in_onfleet")
    if (
        synced is not None
        and synced.status == "failed"
        and synced.version == task_version(task)
        and not is_transient_failure(synced.reason)
    ):
        return TaskDecision("skip", "previously_failed")
    if live:
        assert synced is not None
        leaving = live_transition(task, settings, team_members)
        if leaving is not None:
            action, why = leaving
            if action == "unassign" and synced.status == "unassigned":
                return TaskDecision("skip", "unchanged")  # unassigned already
            return TaskDecision(action, why)

    statuses = FOLLOWED if live else (OPEN,)
    reason = eligibility(
        task, settings, team_members, now, check_window=not live, statuses=statuses
    )
    if reason is not None:
        return TaskDecision("skip", reason)
    assignee = selected_assignee(task, settings, team_members)
    assert assignee is not None and assignee.id is not None  # eligibility checked it
    parts = task_parts(task, assignee.id, settings.zone)
    current = fingerprint(parts)
    if parts["location"] is None:
        return TaskDecision("fail", "no_location", assignee.id, (), parts, current)
    if not live:
        return TaskDecision("create", "eligible", assignee.id, (), parts, current)

    assert synced is not None
    previous = dict(synced.parts or {})
    stored = synced.fingerprint or (fingerprint(previous) if previous else None)
    if stored == current:
        return TaskDecision("skip", "unchanged", assignee.id, (), parts, current)
    changed = tuple(f for f in CHANGE_FIELDS if parts[f] != previous.get(f))
    if "assignment" in changed:
        return TaskDecision("reassign", "assignee_changed", assignee.id, changed, parts, current)
    return TaskDecision("update", "striven_changed", assignee.id, changed, parts, current)


def live_transition(
    task: StrivenTask,
    settings: StrivenOnfleetSettings,
    team_members: Mapping[int, Collection[int]],
) -> tuple[TaskAction, str] | None:
    """What a task already in Onfleet becomes when it leaves the flow's scope (issue 15, item 2),
    None while it stays in it. Onfleet never keeps an assignment Striven no longer has:

    - its type is no longer selected: deleted (`type_not_selected`);
    - Completed in Striven: deleted (`completed_in_striven`; the work is done, nobody should go);
    - On Hold or any other status but Open / In Progress: unassigned, kept for when it reopens
      (`on_hold_in_striven`);
    - nobody assigned: unassigned (`unassigned_in_striven`);
    - assigned only outside the selected teams: unassigned (`assignee_not_in_selected_team`).
    In Progress keeps the assignment and its updates. Canceled is `decide`'s (deleted).
    """
    if task.type is None or task.type.id not in settings.task_type_ids:
        return "delete", "type_not_selected"
    status = status_name(task)
    if status in COMPLETED:
        return "delete", "completed_in_striven"
    if status not in FOLLOWED:
        return "unassign", "on_hold_in_striven"
    if not any(a.id is not None for a in task.assigned_to):
        return "unassign", "unassigned_in_striven"
    if selected_assignee(task, settings, team_members) is None:
        return "unassign", "assignee_not_in_selected_team"
    return None
