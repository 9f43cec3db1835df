"""Connection health: a refused credential is a fact about the connection, not about a record.

When a vendor answers 401/403 to a worker, the connection is marked `credentials_invalid` (one
item beside its mappings, written conditionally: the first worker to see the refusal emails the
admins, once), and the message is *parked*: stored beside the mappings and deleted from the
queue, so it neither burns its retries nor reaches the dead-letter queue. While the mark is
there, every message of the connection (webhooks, polls, reconciliations) is parked before any
vendor call: the flow is paused. When the credentials are updated (`PATCH`, which tests them
with the vendors) or `POST /connections/{id}/test` succeeds again, `resume` clears the mark and
puts every parked message back on the queue with a fresh receive count: what waited is synced
by itself. Polls and reconciliations are parked once per kind (the latest replaces the earlier:
one poll after the outage reads everything the missed ones would have read).

The pure parts (`status_of`, `warnings_for`, `parked_key`) decide; the rest stores and sends.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from fleetbridge.core.errors import AuthError, ConflictError
from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Connection, Mapping, iso, utcnow
from fleetbridge.core.notifier import EmailTemplate, Notifier, register_template
from fleetbridge.core.queue import WorkMessage, publish

HEALTH = "connection_health"
CREDENTIALS = "credentials"
PARKED = "parked_message"
#: Message kinds of which one parked copy is enough (the latest run re-reads everything).
SINGLETON_KINDS = frozenset({"poll", "reconcile"})

register_template(
    "credentials_invalid",
    EmailTemplate(
        subject="[fleetbridge] $flow: $vendor refused the credentials of $connection_name",
        text=(
            "$vendor refused the credentials of connection $connection_name: $error\n\n"
            "The connection is paused: nothing is lost, every change waits. Update the "
            "credentials (PATCH /connections/$connection_id) or, once fixed at the vendor, run "
            "POST /connections/$connection_id/test: everything that waited is then synced by "
            "itself.\n"
        ),
        html=(
            "<p><b>$vendor</b> refused the credentials of connection <b>$connection_name</b>: "
            "$error</p><p>The connection is paused: nothing is lost, every change waits. Update "
            "the credentials (PATCH /connections/$connection_id) or, once fixed at the vendor, "
            "run POST /connections/$connection_id/test: everything that waited is then synced "
            "by itself.</p>"
        ),
    ),
)


class WorkParked(Exception):
    """The message was parked until the connection's credentials work again (not a failure)."""


# ----------------------------------------------------------------------------- pure rules
def status_of(mark: dict[str, Any] | None, parked: int = 0) -> dict[str, Any]:
    """What the API shows: `{"status": "ok"}`, or `credentials_invalid` with the vendor that
    refused, since when, its answer and how many messages wait."""
    if not mark:
        return {"status": "ok"}
    return {
        "status": "credentials_invalid",
        "vendor": mark.get("vendor"),
        "since": mark.get("since"),
        "error": mark.get("error"),
        "waiting_messages": parked,
    }


def warnings_for(settings: dict[str, Any], recipients_setting: str) -> list[str]:
    """Warnings about a connection's settings: nobody would be told about failures."""
    if not settings.get(recipients_setting):
        return [
            f"settings.{recipients_setting} is empty: failures, refused credentials and held "
            "mass removals are recorded in the activity but emailed to nobody"
        ]
    return []


def parked_key(message: WorkMessage) -> str:
    """One parked copy per poll/reconciliation of a connection, one per other event."""
    if message.kind in SINGLETON_KINDS:
        return message.kind
    return f"{message.kind}:{message.event_id}"


# ----------------------------------------------------------------------------- reading
def credential_mark(connection_id: str) -> dict[str, Any] | None:
    """The connection's `credentials_invalid` mark, or None when its credentials work."""
    item = MappingRepository(connection_id).get(HEALTH, CREDENTIALS)
    return dict(item.data) if item is not None else None


def connection_status(connection: Connection) -> dict[str, Any]:
    """`status_of` the stored mark."""
    mark = credential_mark(connection.id)
    return status_of(mark, parked_count(connection.id) if mark else 0)


# ----------------------------------------------------------------------------- pausing
def hold_if_paused(connection: Connection, message: WorkMessage) -> None:
    """Park `message` (raising WorkParked) when the connection is paused; else nothing."""
    if credential_mark(connection.id) is not None:
        _park(connection, message)
        raise WorkParked("connection paused: credentials_invalid")


def refused(
    connection: Connection,
    message: WorkMessage,
    error: AuthError,
    recipients: list[str],
) -> None:
    """A vendor refused the credentials while working on `message`: pause and park.

    When the stored credentials changed since this process cached them (updated meanwhile),
    the refusal says nothing about them: `error` is raised again and SQS retries as usual.
    Otherwise the message is parked (WorkParked is raised) and the first refusal emails.
    """
    from fleetbridge.core.secrets import reload_credentials

    if reload_credentials(connection.secret_arn):
        raise error
    repository = MappingRepository(connection.id)
    mark = Mapping(
        connection_id=connection.id,
        entity=HEALTH,
        external_id=CREDENTIALS,
        data={"vendor": error.vendor, "since": iso(utcnow()), "error": str(error)},
    )
    first = True
    try:
        repository.save(mark)
    except ConflictError:
        first = False  # another worker marked it (and emailed) first
    _park(connection, message)
    if first:
        Notifier().send(
            connection,
            recipients,
            "credentials_invalid",
            {"vendor": error.vendor, "error": str(error), "connection_id": connection.id},
            entity="connection",
            source_event="credentials_invalid",
        )
    raise WorkParked(f"parked: {error.vendor} refused the credentials") from error


def _park(connection: Connection, message: WorkMessage) -> None:
    repository = MappingRepository(connection.id)
    key = parked_key(message)
    existing = repository.get(PARKED, key)
    stored = Mapping(
        connection_id=connection.id,
        entity=PARKED,
        external_id=key,
        data={"message": message.model_dump(mode="json")},
    )
    if existing is not None:
        stored = stored.model_copy(update={"version": existing.version})
    with suppress(ConflictError):  # parked by a concurrent delivery of the same message
        repository.save(stored)
    if credential_mark(connection.id) is None:
        resume(connection)  # resumed while we parked: do not leave it waiting for the next one


# ----------------------------------------------------------------------------- resuming
def resume(connection: Connection) -> int:
    """Clear the mark and queue every parked message again; returns how many were queued."""
    repository = MappingRepository(connection.id)
    mark = repository.get(HEALTH, CREDENTIALS)
    if mark is not None:
        with suppress(ConflictError):  # cleared by a concurrent resume
            repository.delete(mark)
    queued = 0
    for parked in repository.list(PARKED):
        # queued before it is forgotten: a failure in between repeats it (the worker is
        # idempotent per event), never loses it
        publish(WorkMessage.model_validate(parked.data["message"]))
        queued += 1
        with suppress(ConflictError):  # re-parked meanwhile: that park resumes it itself
            repository.delete(parked)
    return queued


def parked_count(connection_id: str) -> int:
    """How many messages wait for the connection's credentials."""
    return len(MappingRepository(connection_id).list(PARKED))
