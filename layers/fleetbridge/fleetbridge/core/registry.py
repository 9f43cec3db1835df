"""The flow registry: every flow plugs into the platform the same way.

A flow package builds one `Flow` and the registry imports it on first use, so a function
that never touches a flow never pays for importing it (cold start).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fleetbridge.core.errors import InvalidInputError
from fleetbridge.core.models import Action, Connection
from fleetbridge.core.queue import WorkMessage
from fleetbridge.core.vendor_checks import VendorCheck, vendor_credentials, vendor_test

#: The package whose `FLOW_MODULES` (flow id → module defining `FLOW`) lists the flows.
CATALOGUE = "fleetbridge.flows"


def flow_modules() -> dict[str, str]:
    """The catalogue: flow id → the module that defines it (imported by name: core knows no
    flow)."""
    modules: dict[str, str] = importlib.import_module(CATALOGUE).FLOW_MODULES
    return modules


class PlanItem(BaseModel):
    """One decision of a reconciliation: what would be (or was) done, and why."""

    entity: str
    action: Action
    reason: str = ""
    vendor_ids: dict[str, Any] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)


class Plan(BaseModel):
    """A reconciliation's decisions; with `dry_run` nothing was written."""

    dry_run: bool
    items: list[PlanItem] = Field(default_factory=list)

    def extend(self, other: Plan) -> Plan:
        """Add another pass's items (a reconciliation made of several passes); returns self."""
        self.items.extend(other.items)
        return self

    def summary(self) -> dict[str, int]:
        """Count of items per action."""
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.action] = counts.get(item.action, 0) + 1
        return counts


class WebhookRequest(BaseModel):
    """The parts of an HTTP request a webhook parser needs (raw body for signatures)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    vendor: str
    connection_id: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body: bytes = b""


class WebhookReply(BaseModel):
    """What the receiver answers; `messages` are enqueued before answering."""

    status: int = 202
    body: Any = None
    content_type: str = "application/json"
    messages: list[WorkMessage] = Field(default_factory=list)


@dataclass(frozen=True)
class Flow:
    """Everything the platform needs to know about a flow.

    - `vendors`: its vendors; their clients' credentials are the connection's (`credentials()`),
      with `extra_credential_fields` (required) and `optional_credential_fields` of its own
      (e.g. a webhook secret).
    - `settings_model`: validates `settings` (pydantic; unknown keys rejected).
    - `test_connection(connection, credentials)` → one VendorCheck per vendor (default: each
      vendor client's `check()`).
    - `receive_webhook(connection, credentials, request)` → verified reply (raises
      UnauthorizedError on a bad signature, before anything else).
    - `handle_message(connection, message)` → does the work of one queued message.
    - `reconcile(connection, dry_run)` → the Plan (applied unless dry run).
    - `validate_on_save`: test the credentials with the vendors before saving them (default).
    - `on_dead_letter(connection, message, error)`: the last retry failed (notify people once).
    - `webhook_vendors`: vendors that call `/hooks/<vendor>/<connection id>`.
    - `protected_settings`: settings the generic API refuses to change (the flow's own endpoint
      changes them after its checks, e.g. an opt-in by the vendor account's owner).

    Who is emailed is the settings' `admin_emails` in every flow (`core.flow_settings`).
    """

    id: str
    title: str
    vendors: tuple[str, ...]
    settings_model: type[BaseModel]
    handle_message: Callable[[Connection, WorkMessage], None]
    test_connection: Callable[[Connection, dict[str, Any]], list[VendorCheck]] | None = None
    receive_webhook: Callable[[Connection, dict[str, Any], WebhookRequest], WebhookReply] | None = (
        None
    )
    reconcile: Callable[[Connection, bool], Plan] | None = None
    extra_credential_fields: tuple[str, ...] = field(default=())
    optional_credential_fields: tuple[str, ...] = field(default=())
    validate_on_save: bool = True
    on_dead_letter: Callable[[Connection, WorkMessage, Exception], None] | None = None
    webhook_vendors: tuple[str, ...] = field(default=())
    protected_settings: tuple[str, ...] = field(default=())

    def credentials(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(required, optional) keys of a connection's `credentials`: its vendors' clients'
        (imported now, not with the flow), then the flow's own."""
        required, optional = vendor_credentials(self.vendors)
        return (
            (*required, *self.extra_credential_fields),
            (*optional, *self.optional_credential_fields),
        )

    def test(self, connection: Connection, credentials: dict[str, Any]) -> list[VendorCheck]:
        """One authenticated call per vendor (`test_connection`, else each client's `check()`)."""
        check = self.test_connection or vendor_test(*self.vendors)
        return check(connection, credentials)


_flows: dict[str, Flow] = {}


def register(flow: Flow) -> Flow:
    """Add a flow (flow modules call this at import; tests may register their own)."""
    _flows[flow.id] = flow
    return flow


def get_flow(flow_id: str) -> Flow:
    """The flow with this id, importing its module on first use."""
    modules = flow_modules()
    if flow_id not in _flows and flow_id in modules:
        importlib.import_module(modules[flow_id])
    try:
        return _flows[flow_id]
    except KeyError:
        known = ", ".join(sorted(set(modules) | set(_flows))) or "none yet"
        raise InvalidInputError(
            f"unknown flow {flow_id!r} (known: {known})", field="flow"
        ) from None
