"""Every function answers every sample event in `events/` as declared, and the files are exactly
what the builders produce (foundation issue, item 7)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.lambdas import invoke
from tests.support.samples import (
    SAMPLE_API_KEY,
    SAMPLE_CONNECTION_ID,
    SAMPLE_GPS_CONNECTION_ID,
    SAMPLE_ONFLEET_WEBHOOK_SECRET,
    SAMPLE_PUSH_SECRET,
    SAMPLE_ROUTER_INPUT,
    SAMPLE_RUN_ID,
    SAMPLE_STRIVEN_CONNECTION_ID,
    SAMPLE_STRIVEN_SETTINGS,
    SAMPLE_WEBHOOK_SECRET,
    Sample,
    build_samples,
)
from tests.support.samples_servicetrade import SAMPLE_ST_CONNECTION_ID, SAMPLE_ST_CREDENTIALS

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = build_samples()


def test_sample_files_are_exactly_what_the_builders_produce() -> None:
    on_disk = {p.relative_to(ROOT / "events") for p in (ROOT / "events").rglob("*.json")}
    built = {s.path.relative_to(ROOT / "events") for s in SAMPLES}
    assert on_disk == built, "run: python -m tests.support.samples"
    for sample in SAMPLES:
        assert json.loads(sample.path.read_text()) == sample.event, sample.path


def test_every_function_has_valid_and_invalid_samples() -> None:
    functions = {p.parent.name for p in (ROOT / "functions").glob("*/app.py")}
    for function in functions:
        cases = [s.case for s in SAMPLES if s.function == function]
        assert any(not c.startswith("invalid") for c in cases), function
        assert any(c.startswith("invalid") for c in cases), function


@pytest.fixture
def sample_world(aws: dict[str, Any], sandbox: httpx.Client) -> None:
    """The tenant, key and connection the samples refer to."""
    from fleetbridge.core.connections import ConnectionRepository
    from fleetbridge.core.models import Connection, iso, utcnow
    from fleetbridge.core.secrets import secret_name, store_credentials
    from fleetbridge.core.tenants import TenantRepository

    tenants = TenantRepository()
    tenant, _ = tenants.create("Sample Fleet")
    tenants.register_api_key(tenant.id, SAMPLE_API_KEY)
    credentials = {
        "fleetio_api_key": "sandbox-fleetio-key",
        "fleetio_account_token": "sandbox-fleetio-account",
        "fleetio_webhook_secret": SAMPLE_WEBHOOK_SECRET,
        "keycafe_email": "ops@sandbox.example",
        "keycafe_token": "sandbox-keycafe-token",
    }
    arn = store_credentials(secret_name(tenant.id, SAMPLE_CONNECTION_ID), credentials)
    now = iso(utcnow())
    ConnectionRepository().create(
        Connection(
            id=SAMPLE_CONNECTION_ID,
            tenant_id=tenant.id,
            flow="fleetio-keycafe",
            name="Sample",
            settings={},
            secret_arn=arn,
            created_at=now,
            updated_at=now,
        )
    )
    gps_credentials = {
        "gpsinsight_username": "sandbox-gps-user",
        "gpsinsight_password": "sandbox-gps-pass",
        "gpsinsight_push_secret": SAMPLE_PUSH_SECRET,
        "driveri_client_id": "sandbox-driveri-client",
        "driveri_client_secret": "sandbox-driveri-secret",
        "driveri_tenant": "sandbox-tenant",
    }
    gps_arn = store_credentials(secret_name(tenant.id, SAMPLE_GPS_CONNECTION_ID), gps_credentials)
    ConnectionRepository().create(
        Connection(
            id=SAMPLE_GPS_CONNECTION_ID,
            tenant_id=tenant.id,
            flow="gpsinsight-driveri",
            name="Sample driver sync",
            settings={"driver_sync_enabled": True, "master_user": "sandbox-gps-user"},
            secret_arn=gps_arn,
            created_at=now,
            updated_at=now,
        )
    )
    striven_credentials = {
        "striven_client_id": "sandbox-striven-client",
        "striven_client_secret": "sandbox-striven-secret",
        "onfleet_api_key": "sandbox-onfleet-key",
        "onfleet_webhook_secret": SAMPLE_ONFLEET_WEBHOOK_SECRET,
    }
    striven_arn = store_credentials(
        secret_name(tenant.id, SAMPLE_STRIVEN_CONNECTION_ID), striven_credentials
    )
    ConnectionRepository().create(
        Connection(
            id=SAMPLE_STRIVEN_CONNECTION_ID,
            tenant_id=tenant.id,
            flow="striven-onfleet",
            name="Sample dispatch",
            settings=SAMPLE_STRIVEN_SETTINGS,
            secret_arn=striven_arn,
            created_at=now,
            updated_at=now,
        )
    )
    st_arn = store_credentials(
        secret_name(tenant.id, SAMPLE_ST_CONNECTION_ID), SAMPLE_ST_CREDENTIALS
    )
    ConnectionRepository().create(
        Connection(
            id=SAMPLE_ST_CONNECTION_ID,
            tenant_id=tenant.id,
            flow="servicetrade-azuga",
            name="Sample field service",
            settings={},
            secret_arn=st_arn,
            created_at=now,
            updated_at=now,
        )
    )
    _sample_routing_run(tenant.id, now)


def _sample_routing_run(tenant_id: str, now: str) -> None:
    """The queued router run the routing samples name (its input in the results bucket)."""
    from fleetbridge.core.config import get_settings
    from fleetbridge.core.dynamo import table, to_item
    from fleetbridge.core.models import Run
    from fleetbridge.core.results import put_result

    key = put_result(f"routing/{tenant_id}/inputs/sample.json", json.dumps(SAMPLE_ROUTER_INPUT))
    run = Run(
        id=SAMPLE_RUN_ID,
        tenant_id=tenant_id,
        kind="router",
        input_key=key,
        created_at=now,
        updated_at=now,
    )
    table(get_settings().runs_table).put_item(Item=to_item(run.model_dump()))


@pytest.mark.parametrize("sample", SAMPLES, ids=[f"{s.function}/{s.case}" for s in SAMPLES])
def test_function_answers_sample(sample: Sample, sample_world: None) -> None:
    result = invoke(sample.function, json.loads(sample.path.read_text()))
    if isinstance(sample.expect, int):
        assert result["statusCode"] == sample.expect, result.get("body")
        assert "Traceback" not in (result.get("body") or "")
    else:
        assert result == sample.expect
