"""Mass removals are held: an empty or truncated source list must not delete everything.

Every flow that removes by absence (a record we linked is no longer in the source list: GPS
Insight drivers, Striven tasks, Fleetio assignments' bookings) asks `check` before removing.
Above the connection's `mass_removal_threshold` (default: more than 20 % of the linked records
and more than 5) nothing is removed: the removals are recorded as `skipped`
(`mass_removal_held`) and the admins are emailed once per set of held records. An admin who
means it confirms with `POST /connections/{id}/sync?confirm_mass_removal=true`: the confirmation
is stored (valid `CONFIRMATION_TTL`) and taken by the reconciliation that request queues.

`check` is the one rule (pure); `hold`, `confirm` and `take_confirmation` store and send;
`gate` is what a flow's reconciliation calls: all of it for one set of removals.
"""

from __future__ import annotations

import math
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from fleetbridge.core.errors import ConflictError
from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Connection, Mapping, fingerprint, iso, utcnow
from fleetbridge.core.notifier import EmailTemplate, Notifier, register_template

if TYPE_CHECKING:
    from fleetbridge.core.flow_settings import FlowSettings

ENTITY = "mass_removal"
HELD = "held"
CONFIRMED = "confirmed"
#: How long a confirmation waits for the reconciliation it was given for.
CONFIRMATION_TTL = timedelta(hours=1)
HELD_REASON = "mass_removal_held"

register_template(
    "mass_removal_held",
    EmailTemplate(
        subject="[fleetbridge] $flow: $count removals held on $connection_name",
        text=(
            "$count of the $linked $what linked by connection $connection_name are no longer in "
            "$source's list ($limit may go at once). Nothing was removed: an empty or truncated "
            "list looks exactly like this.\n\nExamples: $examples\n\nIf they really are gone, "
            "confirm: POST /connections/$connection_id/sync?dry_run=false&"
            "confirm_mass_removal=true\n"
        ),
        html=(
            "<p>$count of the $linked $what linked by connection <b>$connection_name</b> are no "
            "longer in $source's list ($limit may go at once). <b>Nothing was removed</b>: an "
            "empty or truncated list looks exactly like this.</p><p>Examples: $examples</p><p>If "
            "they really are gone, confirm: POST /connections/$connection_id/sync?dry_run=false"
            "&amp;confirm_mass_removal=true</p>"
        ),
    ),
)


class MassRemovalThreshold(BaseModel):
    """`settings.mass_removal_threshold`: removals above both limits wait for a confirmation."""

    model_config = ConfigDict(extra="forbid")

    percent: float = Field(
        default=20, ge=0, le=100, description="share of the linked records that may go at once"
    )
    minimum: int = Field(default=5, ge=0, le=100_000, description="this many may always go at once")


def threshold_field() -> Any:
    """The settings field every flow that removes by absence declares (same name, default)."""
    return Field(
        default_factory=MassRemovalThreshold,
        description="removals by absence above max(minimum, percent % of the linked records) "
        "are held and emailed; POST /connections/{id}/sync?confirm_mass_removal=true applies them",
    )


@dataclass(frozen=True)
class MassRemovalCheck:
    """The decision about a set of removals."""

    hold: bool
    removals: int
    linked: int
    limit: int

    @property
    def reason(self) -> str:
        """Why (for activity records and plans)."""
        return HELD_REASON if self.hold else "within_threshold"


def check(
    removals: int, linked: int, threshold: MassRemovalThreshold, *, confirmed: bool = False
) -> MassRemovalCheck:
    """Hold `removals` of `linked` records when they exceed max(minimum, percent % of linked),
    unless an admin `confirmed`. The one rule for every flow (pure)."""
    limit = max(threshold.minimum, math.floor(linked * threshold.percent / 100))
    return MassRemovalCheck(
        hold=removals > limit and not confirmed, removals=removals, linked=linked, limit=limit
    )


# ----------------------------------------------------------------------------- side effects
def hold(
    connection: Connection,
    decision: MassRemovalCheck,
    ids: list[str],
    recipients: list[str],
    *,
    what: str,
    source: str,
    source_event: str,
) -> bool:
    """Record the hold and email the admins, once per set of held `ids`; True when told now."""
    repository = MappingRepository(connection.id)
    current = fingerprint(sorted(ids))
    stored = repository.get(ENTITY, HELD)
    if stored is not None and stored.fingerprint == current:
        return False  # the same removals held before: said already
    base = stored or Mapping(connection_id=connection.id, entity=ENTITY, external_id=HELD)
    try:
        repository.save(
            base.model_copy(
                update={
                    "fingerprint": current,
                    "data": {"at": iso(utcnow()), "count": len(ids), "ids": sorted(ids)[:50]},
                }
            )
        )
    except ConflictError:
        return False  # a concurrent run holds (and tells) it
    from fleetbridge.core.activity import ActivityLog

    ActivityLog().record(
        connection,
        action="skipped",
        entity=f"{len(ids)} {what}",
        source_event=source_event,
        reason=HELD_REASON,
        vendor_ids={"held": len(ids), "linked": decision.linked, "limit": decision.limit},
    )
    Notifier().send(
        connection,
        recipients,
        "mass_removal_held",
        {
            "count": len(ids),
            "linked": decision.linked,
            "limit": decision.limit,
            "what": what,
            "source": source,
            "examples": ", ".join(sorted(ids)[:10]),
            "connection_id": connection.id,
        },
        entity="connection",
        source_event=source_event,
    )
    return True


def gate(
    connection: Connection,
    settings: FlowSettings,
    absent: list[str],
    linked: int,
    *,
    dry_run: bool,
    what: str,
    source: str,
    source_event: str,
    release_when_clear: bool = False,
) -> bool:
    """Whether removing the `absent` records (of `linked`) must wait for an admin: takes the
    confirmation, applies `check` with the connection's threshold, and (unless `dry_run`) holds
    and emails once. `release_when_clear`: forget an earlier hold when nothing is held now."""
    held = False
    if absent:
        confirmed = not dry_run and take_confirmation(connection.id)
        verdict = check(len(absent), linked, settings.mass_removal_threshold, confirmed=confirmed)
        held = verdict.hold
        if held and not dry_run:
            hold(
                connection,
                verdict,
                absent,
                settings.admin_emails,
                what=what,
                source=source,
                source_event=source_event,
            )
    if release_when_clear and not held and not dry_run:
        release(connection.id)
    return held


def release(connection_id: str) -> None:
    """Forget a held set (the source list is whole again, or the removals were applied)."""
    repository = MappingRepository(connection_id)
    stored = repository.get(ENTITY, HELD)
    if stored is not None:
        with suppress(ConflictError):  # changed meanwhile: a newer hold stands
            repository.delete(stored)


def confirm(connection_id: str) -> None:
    """An admin confirmed: the next reconciliation (within CONFIRMATION_TTL) removes them."""
    repository = MappingRepository(connection_id)
    stored = repository.get(ENTITY, CONFIRMED)
    base = stored or Mapping(connection_id=connection_id, entity=ENTITY, external_id=CONFIRMED)
    repository.save(base.model_copy(update={"data": {"at": iso(utcnow())}}))


def take_confirmation(connection_id: str, now: datetime | None = None) -> bool:
    """Whether an admin confirmed a mass removal lately; the confirmation is used up."""
    repository = MappingRepository(connection_id)
    stored = repository.get(ENTITY, CONFIRMED)
    if stored is None:
        return False
    try:
        repository.delete(stored)
    except ConflictError:
        return False  # taken by a concurrent run
    at = datetime.fromisoformat(str(stored.data.get("at", "")).replace("Z", "+00:00"))
    return (now or utcnow()) - at <= CONFIRMATION_TTL
