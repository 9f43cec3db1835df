"""Schedules fan out: one queued reconciliation (or poll) per enabled connection of a flow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fleetbridge.core.connections import ConnectionRepository
from fleetbridge.core.errors import InvalidInputError, first_invalid_field
from fleetbridge.core.models import Connection, iso, utcnow
from fleetbridge.core.queue import WorkMessage, publish

#: The event of a poll message (`queue_polls`).
POLL_DUE = "poll_due"


class ScheduledEvent(BaseModel):
    """The EventBridge scheduled event that starts a run."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
    time: str


def parse_schedule(event: dict[str, Any]) -> ScheduledEvent:
    """Validate the event; anything else is refused with the offending field named."""
    try:
        return ScheduledEvent.model_validate(event)
    except ValidationError as exc:
        field, message = first_invalid_field(exc)
        raise InvalidInputError(f"not a scheduled event: {field}: {message}", field=field) from exc


def queue_reconciliations(flow: str, event: dict[str, Any]) -> dict[str, Any]:
    """Queue `reconcile` for each enabled connection of `flow` (disabled ones are skipped).

    The event id makes the run idempotent: a schedule delivered twice queues one reconciliation
    per connection (the worker keys idempotency on it).
    """
    return queue_scheduled(flow, event, kind="reconcile", event_name="daily_reconciliation")


def queue_scheduled(
    flow: str,
    event: dict[str, Any],
    *,
    kind: str,
    event_name: str,
    is_due: Callable[[Connection, datetime], bool] | None = None,
) -> dict[str, Any]:
    """Queue one `kind` message per enabled connection of `flow` that `is_due` at the event time.

    `is_due` lets a flow run at a per-connection interval from one frequent schedule (stateless:
    it looks only at the connection and the schedule's time). Idempotent on the event id.
    """
    try:
        schedule = parse_schedule(event)
    except InvalidInputError as exc:
        return {"error": {"code": exc.code, "message": exc.message, "field": exc.field}}
    fired_at = datetime.fromisoformat(schedule.time.replace("Z", "+00:00"))
    queued = skipped = 0
    for connection in ConnectionRepository().list_for_flow(flow, enabled_only=True):
        if is_due is not None and not is_due(connection, fired_at):
            skipped += 1
            continue
        publish(
            WorkMessage(
                flow=flow,
                connection_id=connection.id,
                kind=kind,
                event_id=f"schedule:{schedule.id}",
                event=event_name,
                received_at=iso(utcnow()),
            )
        )
        queued += 1
    return {"queued": queued, "not_due": skipped} if is_due else {"queued": queued}


def is_due(minutes: int, fired_at: datetime) -> bool:
    """Stateless interval check: due when the minute since the epoch is a multiple of it."""
    return int(fired_at.timestamp() // 60) % minutes == 0


def queue_polls(
    flow: str, event: dict[str, Any], poll_minutes: Callable[[Connection], int | None]
) -> dict[str, Any]:
    """The poll schedule fires every minute; a connection polls every `poll_minutes(connection)`
    (None: not polled now). One `poll_due` message per enabled connection whose interval came."""

    def due(connection: Connection, fired_at: datetime) -> bool:
        minutes = poll_minutes(connection)
        return minutes is not None and is_due(minutes, fired_at)

    return queue_scheduled(flow, event, kind="poll", event_name=POLL_DUE, is_due=due)


def settings_polls(
    flow: str, settings_model: type[BaseModel], *, switch: str | None = None
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A flow's `queue_polls` when each connection polls every `settings.poll_minutes` (with
    `switch`: only while that boolean setting is on)."""

    def poll_minutes(connection: Connection) -> int | None:
        settings = settings_model.model_validate(connection.settings)
        if switch is not None and not getattr(settings, switch):
            return None
        return int(settings.poll_minutes)  # type: ignore[attr-defined]

    def queue(event: dict[str, Any]) -> dict[str, Any]:
        return queue_polls(flow, event, poll_minutes)

    return queue
