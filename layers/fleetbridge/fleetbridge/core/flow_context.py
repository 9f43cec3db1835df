"""The flow kit: what every flow's work needs for one connection, and its `/test` check.

A flow's context subclasses `FlowContext[<its settings model>]`, names its connection state
record if it keeps one (`class FlowContext(BaseContext[Settings], state=(entity, id))`) and adds
its vendor clients as fields (every field holding a vendor client is one of its clients); it is
used as a context manager so its clients are closed whatever happens
(`with context_for(connection) as ctx: ...`). `tell_dead_letter` is the one email of
a message's last failed attempt (`dead_letter_notice`: a flow's whole `on_dead_letter`);
`accept_webhook` the answer to a delivery that queues work;
`FlowContext.record` the one activity record of a decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self, get_args, get_origin, get_type_hints

from pydantic import BaseModel

from fleetbridge.core.activity import ActivityLog
from fleetbridge.core.flow_settings import recipients
from fleetbridge.core.mappings import ConnectionState, MappingRepository
from fleetbridge.core.models import Action, Connection, utcnow
from fleetbridge.core.notifier import Notifier
from fleetbridge.core.queue import WorkMessage
from fleetbridge.core.registry import WebhookReply

if TYPE_CHECKING:  # httpx loads with the first vendor client, not with this module
    from fleetbridge.core.http import VendorClient


@dataclass(kw_only=True)
class FlowContext[SettingsT: BaseModel]:
    """The connection and its settings, our stores, the clock and the notifier; subclasses add
    their vendor clients as fields (closed by `close`)."""

    #: (entity, id) of the connection's state record (`state()`), if the flow keeps one
    STATE: ClassVar[tuple[str, str] | None] = None

    connection: Connection
    settings: SettingsT
    mappings: MappingRepository
    activity: ActivityLog = field(default_factory=ActivityLog)
    notifier: Notifier = field(default_factory=Notifier)
    clock: Callable[[], datetime] = utcnow
    #: False: the clients belong to a process cache and outlive this context
    owned: bool = True

    def __init_subclass__(cls, *, state: tuple[str, str] | None = None, **kwargs: Any) -> None:
        """`state`: the (entity, id) of the flow's connection state record."""
        super().__init_subclass__(**kwargs)
        if state is not None:
            cls.STATE = state

    @classmethod
    def for_connection(
        cls, connection: Connection, credentials: dict[str, Any] | None = None, **given: Any
    ) -> Self:
        """The context of one connection: its settings (the class's settings model), each
        vendor client field built by the client's `for_connection` (with `client_options`), the
        mappings; credentials from Secrets Manager unless given; `given` fields as they are."""
        from fleetbridge.core.http import VendorClient  # the clients load httpx anyway
        from fleetbridge.core.secrets import load_credentials

        credentials = credentials or load_credentials(connection.secret_arn)
        settings = cls.settings_model().model_validate(connection.settings)
        options = cls.client_options(settings)
        params = {param.__name__: param for param in FlowContext.__type_params__}
        hints = get_type_hints(cls, localns=params)  # the base's `settings: SettingsT` too
        values: dict[str, Any] = {}
        for name in (f.name for f in fields(cls) if f.name not in given):
            kind = hints.get(name)
            if isinstance(kind, type) and issubclass(kind, VendorClient):
                values[name] = kind.for_connection(  # type: ignore[attr-defined]
                    connection, credentials, **options.get(name, {})
                )
        return cls(
            connection=connection,
            settings=settings,
            mappings=MappingRepository(connection.id),
            **values,
            **given,
        )

    @classmethod
    def settings_model(cls) -> type[SettingsT]:
        """The settings model the class names (`FlowContext[Settings]`)."""
        for klass in cls.__mro__:
            for base in getattr(klass, "__orig_bases__", ()):
                if get_origin(base) is FlowContext:
                    model: type[SettingsT] = get_args(base)[0]
                    return model
        raise TypeError(f"{cls.__name__} names no settings model: FlowContext[Settings]")

    @classmethod
    def client_options(cls, settings: SettingsT) -> dict[str, dict[str, Any]]:
        """Per client field, options its `for_connection` takes from the settings."""
        return {}

    def clients(self) -> list[VendorClient]:
        """The flow's vendor clients: the fields holding one, in declaration order."""
        from fleetbridge.core.http import VendorClient  # loaded with the clients already

        values = (getattr(self, f.name) for f in fields(self))
        return [value for value in values if isinstance(value, VendorClient)]

    def state(self) -> ConnectionState:
        """The connection's state record (the flow names it in `STATE`)."""
        if self.STATE is None:
            raise TypeError(f"{type(self).__name__} keeps no state record")
        return ConnectionState(self.mappings, *self.STATE)

    def record(
        self,
        action: Action,
        entity: str,
        reason: str = "",
        *,
        source: str,
        ids: dict[str, Any] | None = None,
    ) -> None:
        """One activity record of this connection: `action` on `entity` and why, caused by
        `source` (the source event), naming the vendors' `ids`."""
        self.activity.record(
            self.connection,
            action=action,
            entity=entity,
            source_event=source,
            reason=reason,
            vendor_ids=ids,
        )

    def close(self) -> None:
        """Release the vendor clients (a process cache's stay open for the next message)."""
        if self.owned:
            for client in self.clients():
                client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def accept_webhook(
    connection: Connection, *, event_id: str, event: str, payload: dict[str, Any]
) -> WebhookReply:
    """202: a verified webhook delivery queues one `webhook` message for the connection's flow
    (`event_id` makes a repeated delivery a duplicate the worker skips)."""
    message = WorkMessage(
        flow=connection.flow,
        connection_id=connection.id,
        kind="webhook",
        event_id=event_id,
        event=event,
        payload=payload,
    )
    return WebhookReply(status=202, body={"accepted": 1}, messages=[message])


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


def dead_letter_notice(
    *, entity: str = "", what: str = "message"
) -> Callable[[Connection, WorkMessage, Exception], None]:
    """A flow's `on_dead_letter`: `tell_dead_letter` about the message's `payload["entity"]`
    (a message without one: its event in the email, `entity` in the activity log)."""

    def on_dead_letter(connection: Connection, message: WorkMessage, error: Exception) -> None:
        named = message.payload.get("entity")
        tell_dead_letter(
            connection,
            message,
            error,
            subject=str(message.event or message.kind if named is None else named),
            entity=str(entity if named is None else named),
            what=what,
        )

    return on_dead_letter
