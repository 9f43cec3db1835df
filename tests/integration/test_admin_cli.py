"""The operator CLI (`python -m fleetbridge.admin`) on moto: tenants, key rotation with a grace
period, disable, and no key ever printed twice."""

from __future__ import annotations

import io
import json
import time
from datetime import datetime
from typing import Any

import pytest

from fleetbridge.admin import run
from fleetbridge.core.models import utcnow
from tests.integration.conftest import Api

GRACE_HOURS = 0.0008  # about 3 s: the old key works now and not a few seconds later


@pytest.fixture
def api_call(aws: dict[str, Any]) -> Any:
    """Is `api_key` accepted? 200 when the API lets it in, else the API's status (401)."""

    def call(api_key: str) -> tuple[int, Any]:
        status, body = Api(api_key=api_key)("GET", "/connections/con_unknown")
        return (200 if status == 404 else status), body

    return call


def admin(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = run(list(argv), out=out)
    return status, out.getvalue()


def admin_json(*argv: str) -> dict[str, Any]:
    status, text = admin("--json", *argv)
    assert status == 0, text
    return dict(json.loads(text))


def test_create_prints_the_key_once_and_list_never_shows_it(
    aws: dict[str, Any], api_call: Any
) -> None:
    status, text = admin("tenant", "create", "Acme Fleet")
    assert status == 0, text
    api_key = next(line.split(": ", 1)[1] for line in text.splitlines() if "API key" in line)
    assert api_key.startswith("fbk_") and "not shown again" in text
    assert api_call(api_key)[0] == 200

    status, listed = admin("tenant", "list")
    assert status == 0 and "Acme Fleet" in listed
    assert api_key not in listed
    assert api_key not in json.dumps(admin_json("tenant", "list"))
    tenants = admin_json("tenant", "list")["tenants"]
    assert [len(t["api_keys"]) for t in tenants] == [1]


def test_rotation_keeps_the_old_key_valid_for_the_grace_period(
    aws: dict[str, Any], api_call: Any
) -> None:
    created = admin_json("tenant", "create", "Rotating Co")
    tenant_id, old_key = created["tenant"]["id"], created["api_key"]

    rotated = admin_json("tenant", "rotate-key", tenant_id, "--grace-hours", str(GRACE_HOURS))
    new_key = rotated["api_key"]
    (expiring,) = rotated["expiring"]
    assert new_key != old_key and expiring["expires_at"] is not None
    assert api_call(old_key)[0] == 200  # still inside the grace period
    assert api_call(new_key)[0] == 200

    expiry = datetime.fromisoformat(expiring["expires_at"].replace("Z", "+00:00"))
    time.sleep(max(0.0, (expiry - utcnow()).total_seconds()) + 0.1)
    assert api_call(old_key)[0] == 401
    assert api_call(new_key)[0] == 200
    keys = admin_json("tenant", "list")["tenants"][0]["api_keys"]
    assert [k["expires_at"] for k in keys] == [None]  # only the new key is listed

    printed = json.dumps(rotated) + json.dumps(admin_json("tenant", "list"))
    assert printed.count(new_key) == 1 and old_key not in printed


def test_rotation_with_no_grace_revokes_at_once(aws: dict[str, Any], api_call: Any) -> None:
    created = admin_json("tenant", "create", "Leaked Key Co")
    rotated = admin_json("tenant", "rotate-key", created["tenant"]["id"], "--grace-hours", "0")
    assert api_call(created["api_key"])[0] == 401
    assert api_call(rotated["api_key"])[0] == 200


def test_disable_refuses_the_keys_and_stops_the_connections(
    aws: dict[str, Any], api_call: Any
) -> None:
    created = admin_json("tenant", "create", "Leaving Co")
    tenant_id, api_key = created["tenant"]["id"], created["api_key"]
    from fleetbridge.core.connections import ConnectionRepository
    from fleetbridge.core.models import Connection, iso

    now = iso(utcnow())
    ConnectionRepository().create(
        Connection(
            id="con_leaving0001",
            tenant_id=tenant_id,
            flow="fleetio-keycafe",
            name="Depot",
            secret_arn="arn:none",
            created_at=now,
            updated_at=now,
        )
    )
    disabled = admin_json("tenant", "disable", tenant_id)
    assert disabled["connections_disabled"] == ["con_leaving0001"]
    assert api_call(api_key)[0] == 401
    assert not ConnectionRepository().get("con_leaving0001").enabled
    assert admin_json("tenant", "list")["tenants"][0]["enabled"] is False

    admin_json("tenant", "enable", tenant_id)
    assert api_call(api_key)[0] == 200
    assert not ConnectionRepository().get("con_leaving0001").enabled  # the tenant decides


def test_the_table_comes_from_the_stack_and_errors_are_clear(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    table = aws["env"]["DATA_TABLE"]
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"DataTableName": {"Value": table}},
    }
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="fleetbridge-test", TemplateBody=json.dumps(template)
    )
    status, text = admin("--stack", "fleetbridge-test", "tenant", "create", "Stacked")
    assert status == 0, text
    assert "Stacked" in admin("--table", table, "tenant", "list")[1]

    status, text = admin("tenant", "rotate-key", "ten_nope")
    assert status == 1 and "ten_nope not found" in text
    status, text = admin("tenant", "disable", "ten_nope")
    assert status == 1 and "not found" in text
    monkeypatch.delenv("DATA_TABLE")
    status, text = admin("tenant", "list")
    assert status == 2 and "--table" in text
