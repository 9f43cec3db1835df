"""The flow kit: what every flow's work needs for one connection, and its `/test` check.

A flow's context subclasses `FlowContext`, adds its settings and vendor clients and names the
clients in `CLIENTS`; it is used as a context manager so its clients are closed whatever
happens (`with context_for(connection) as ctx: ...`). `check_vendors` is the one way
`POST /connections/{id}/test` asks each vendor; `tell_dead_letter` the one email of a message's
last failed attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self

from fleetbridge.core.activity import ActivityLog
from fleetbridge.core.errors import VendorError
from fleetbridge.core.flow_settings import recipients
from fleetbridge.core.mappings import ConnectionState, MappingRepository
from fleetbridge.core.models import Connection, utcnow
from fleetbridge.core.notifier import Notifier
from fleetbridge.core.queue import WorkMessage
from fleetbridge.core.registry import VendorCheck

if TYPE_CHECKING:  # httpx loads with the first vendor client, not with this module
    from fleetbridge.core.http import VendorClient


@dataclass(kw_only=True)
class FlowContext:
    """The connection, our stores, the clock and the notifier; subclasses add their settings
    and vendor clients (named in `CLIENTS`, closed by `close`)."""

    #: attributes holding the flow's vendor clients
    CLIENTS: ClassVar[tuple[str, ...]] = ()
    #: (entity, id) of the connection's state record (`state()`), if the flow keeps one
    STATE: ClassVar[tuple[str, str] | None] = None

    connection: Connection
    mappings: MappingRepository
    activity: ActivityLog = field(default_factory=ActivityLog)
    notifier: Notifier = field(default_factory=Notifier)
    clock: Callable[[], datetime] = utcnow
    #: False: the clients belong to a process cache and outlive this context
    owned: bool = True

    def clients(self) -> list[VendorClient]:
        """The flow's vendor clients."""
        return [getattr(self, name) for name in self.CLIENTS]

    def state(self) -> ConnectionState:
        """The connection's state record (the flow names it in `STATE`)."""
        if self.STATE is None:
            raise TypeError(f"{type(self).__name__} keeps no state record")
        return ConnectionState(self.mappings, *self.STATE)

    def close(self) -> None:
        """Release the vendor clients (a process cache's stay open for the next message)."""
        if self.owned:
            for client in self.clients():
                client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


#: (vendor, build the client from connection + credentials, the call that proves they work;
#: None: the client's `check()`)
VendorProbe = tuple[
    str,
    Callable[[Connection, dict[str, Any]], "VendorClient"],
    Callable[[Any], object] | None,
]


def check_vendors(
    connection: Connection, credentials: dict[str, Any], probes: Iterable[VendorProbe]
) -> list[VendorCheck]:
    """One authenticated call per vendor; each vendor's outcome, never an exception.

    A client that cannot be built (a credential or URL missing or refused) is `not configured`;
    a vendor's refusal or failure is its sanitised error text.
    """
    checks = []
    for vendor, build, call in probes:
        try:
            client = build(connection, credentials)
        except (KeyError, ValueError) as exc:
            checks.append(VendorCheck(vendor=vendor, ok=False, error=f"not configured: {exc}"))
            continue
        try:
            (call or _check)(client)
            checks.append(VendorCheck(vendor=vendor, ok=True))
        except VendorError as exc:
            checks.append(VendorCheck(vendor=vendor, ok=False, error=str(exc)))
        finally:
            client.close()
    return checks


def _check(client: Any) -> object:
    return client.check()


def tell_dead_letter(
    connection: Connection,
    message: WorkMessage,
    error: Exception,
    *,
    subject: str,
    entity: str,
    what: str = "message",
) -> None:
    """The last attempt failed: the admins get one email (not one per retry) saying how to
    replay it. `subject`: what failed, for the email; `entity`: for the activity log."""
    Notifier().send(
        connection,
        recipients(connection.settings),
        "failure",
        {
            "entity": subject,
            "reason": str(error),
            "details": f"The {what} is in the dead-letter queue. Fix the cause, then replay it: "
            f"POST /connections/{connection.id}/dead-letters/replay",
        },
        entity=entity,
        source_event=message.event or message.kind,
    )
