"""Issue 13 item 1: the flow kit every flow is built on (settings base, context, `/test` check,
poll interval), without AWS. The kit's storage (claims, state) is tested on moto in
tests/integration/test_core_storage.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from fleetbridge.core.errors import AuthError
from fleetbridge.core.flow_context import FlowContext
from fleetbridge.core.flow_settings import FlowSettings, TimeZone, recipients
from fleetbridge.core.http import VendorClient
from fleetbridge.core.models import Connection
from fleetbridge.core.registry import Plan, PlanItem
from fleetbridge.core.scheduler import is_due
from fleetbridge.core.vendor_checks import check_vendors


def _connection() -> Connection:
    return Connection(
        id="con_kit",
        tenant_id="ten_kit",
        flow="kit",
        name="kit",
        secret_arn="arn:kit",
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
    )


class KitSettings(FlowSettings):
    time_zone: TimeZone = "UTC"


class FakeClient(VendorClient):
    vendor = "fake"

    def __init__(self, fail: Exception | None = None) -> None:
        super().__init__("https://fake.example")
        self.fail = fail
        self.closed = False

    def check(self) -> None:
        if self.fail:
            raise self.fail

    def close(self) -> None:
        super().close()
        self.closed = True


# ---------------------------------------------------------------------------- settings base
def test_one_recipients_name_and_the_deprecated_alias() -> None:
    assert KitSettings().admin_emails == []
    old = KitSettings.model_validate({"notify_recipients": ["ops@example.com"]})
    assert old.admin_emails == ["ops@example.com"]
    assert "notify_recipients" not in old.model_dump()  # stored under the one name
    # a PATCH merges the sent keys over the stored ones: the old name was just sent, it wins
    both = {"admin_emails": ["stored@example.com"], "notify_recipients": ["sent@example.com"]}
    assert KitSettings.model_validate(both).admin_emails == ["sent@example.com"]
    assert recipients({"notify_recipients": ["a@example.com"]}) == ["a@example.com"]
    assert recipients({"admin_emails": ["b@example.com"]}) == ["b@example.com"]
    assert recipients({}) == []


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"admin_emails": ["not-an-email"]}, "admin_emails"),
        ({"notify_recipients": ["not-an-email"]}, "admin_emails"),
        ({"time_zone": "Mars/Base"}, "time_zone"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_shared_validators_refuse(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        KitSettings.model_validate(settings)
    assert caught.value.errors()[0]["loc"] == (field,)


def test_every_flow_uses_the_settings_base() -> None:
    from fleetbridge.core.registry import get_flow
    from fleetbridge.flows import FLOW_MODULES

    for flow_id in FLOW_MODULES:
        assert issubclass(get_flow(flow_id).settings_model, FlowSettings), flow_id


# ---------------------------------------------------------------------------- context
@dataclass(kw_only=True)
class KitContext(FlowContext[KitSettings]):
    one: FakeClient
    two: FakeClient


@dataclass(kw_only=True)
class StatefulContext(KitContext, state=("kit_state", "connection")):
    """A flow that keeps a connection state record names it when subclassing."""


def test_the_context_closes_its_clients_whatever_happens() -> None:
    ctx = KitContext(
        connection=_connection(),
        settings=KitSettings(),
        mappings=None,  # type: ignore[arg-type]
        one=FakeClient(),
        two=FakeClient(),
    )
    with pytest.raises(RuntimeError), ctx:
        raise RuntimeError("the work failed")
    assert ctx.one.closed and ctx.two.closed
    cached = KitContext(
        connection=_connection(),
        settings=KitSettings(),
        mappings=None,  # type: ignore[arg-type]
        one=FakeClient(),
        two=FakeClient(),
        owned=False,
    )
    with cached:
        pass
    assert not cached.one.closed  # a process cache's clients outlive the message
    with pytest.raises(TypeError):
        cached.state()  # no state record declared
    assert (KitContext.STATE, StatefulContext.STATE) == (None, ("kit_state", "connection"))


# ---------------------------------------------------------------------------- /test check
def test_check_vendors_reports_each_vendor_and_closes_every_client() -> None:
    built: list[FakeClient] = []

    def build(fail: Exception | None = None) -> Any:
        def make(connection: Connection, credentials: dict[str, Any]) -> FakeClient:
            built.append(FakeClient(fail))
            return built[-1]

        return make

    def missing(connection: Connection, credentials: dict[str, Any]) -> FakeClient:
        return FakeClient(credentials["absent"])

    checks = check_vendors(
        _connection(),
        {},
        [
            ("good", build(), None),
            ("refused", build(AuthError("bad key", vendor="refused", status_code=401)), None),
            ("custom", build(), lambda client: client.check()),
            ("unconfigured", missing, None),
        ],
    )
    assert [(c.vendor, c.ok) for c in checks] == [
        ("good", True),
        ("refused", False),
        ("custom", True),
        ("unconfigured", False),
    ]
    assert checks[1].error == "refused 401: bad key"
    assert checks[3].error == "not configured: 'absent'"
    assert all(client.closed for client in built)


# ---------------------------------------------------------------------------- poll interval
def test_poll_is_due_on_multiples_of_the_interval() -> None:
    at = datetime(2026, 1, 1, 10, 15, tzinfo=UTC)
    assert is_due(5, at) and is_due(1, at) and not is_due(10, at)


def test_plans_of_several_passes_are_one_plan() -> None:
    plan = Plan(dry_run=True, items=[PlanItem(entity="a", action="created")])
    plan.extend(Plan(dry_run=True, items=[PlanItem(entity="b", action="skipped")]))
    assert plan.summary() == {"created": 1, "skipped": 1}


def test_core_knows_no_flow() -> None:
    """Issue 13 item 2: no core module imports a flow or names one (the catalogue is in flows/)."""
    import ast
    from pathlib import Path

    import fleetbridge.core
    from fleetbridge.flows import FLOW_MODULES

    for path in Path(fleetbridge.core.__file__).parent.glob("*.py"):
        text = path.read_text()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("fleetbridge.flows"), path.name
        for flow_id in FLOW_MODULES:
            assert f'"{flow_id}"' not in text, (path.name, flow_id)


class BuiltClient(FakeClient):
    """A client built from a connection: records what it was given."""

    @classmethod
    def for_connection(
        cls, connection: Connection, credentials: dict[str, Any], **options: Any
    ) -> BuiltClient:
        client = cls()
        client.built_with = (connection.id, dict(credentials), options)  # type: ignore[attr-defined]
        return client


@dataclass(kw_only=True)
class BuiltContext(FlowContext[KitSettings]):
    first: BuiltClient
    second: BuiltClient
    note: str = ""

    @classmethod
    def client_options(cls, settings: KitSettings) -> dict[str, dict[str, Any]]:
        return {"second": {"zone": settings.time_zone}}


def test_a_context_is_built_for_a_connection_from_its_declared_fields() -> None:
    connection = _connection().model_copy(update={"settings": {"time_zone": "Europe/Paris"}})
    credentials = {"fake_key": "k"}
    with BuiltContext.for_connection(connection, credentials, note="given") as ctx:
        assert ctx.settings == KitSettings(time_zone="Europe/Paris")
        assert ctx.first.built_with == ("con_kit", credentials, {})  # type: ignore[attr-defined]
        assert ctx.second.built_with == ("con_kit", credentials, {"zone": "Europe/Paris"})  # type: ignore[attr-defined]
        assert ctx.note == "given" and ctx.mappings.connection_id == "con_kit"
    assert ctx.first.closed and ctx.second.closed
    assert BuiltContext.settings_model() is KitSettings
