"""DriveriClient against the Driveri sandbox, in-process: token refresh, paging, writes, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask

from fleetbridge.core.errors import (
    AuthError,
    RateLimited,
    VendorConflict,
    VendorValidationError,
)
from fleetbridge.vendors.driveri import DriveriClient, DriveriDriver
from local.sandboxes.app import create_app

BASE = "http://sandbox/driveri"
CLIENT_ID, SECRET, TENANT = "sandbox-driveri-client", "sandbox-driveri-secret", "sandbox-tenant"


@pytest.fixture
def app() -> Flask:
    return create_app(time_factor=1.0, webhook_sender=lambda *_: None)


@pytest.fixture
def control(app: Flask) -> Iterator[httpx.Client]:
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://sandbox/_sandbox/driveri") as c:
        c.post("/rate-limit", json={"limit": 100_000, "window_seconds": 1}).raise_for_status()
        yield c


def make(app: Flask, **overrides: Any) -> DriveriClient:
    options: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "tenant": TENANT,
        "transport": httpx.WSGITransport(app=app),
        "sleep": lambda _: None,
        "max_retries": 1,
    }
    return DriveriClient(BASE, **(options | overrides))


@pytest.fixture
def driveri(app: Flask, control: httpx.Client) -> Iterator[DriveriClient]:
    with make(app) as client:
        yield client


def seed(control: httpx.Client, *drivers: dict[str, Any]) -> None:
    control.post("/seed", json={"drivers": list(drivers)}).raise_for_status()


def paths(control: httpx.Client) -> list[str]:
    entries = control.get("/requests").json()
    entries = entries.get("requests", entries) if isinstance(entries, dict) else entries
    return [f"{e['method']} {e['path']}" for e in entries]


def test_token_is_fetched_once_and_refreshed_once_on_401(
    app: Flask, driveri: DriveriClient, control: httpx.Client
) -> None:
    seed(control, {"driverId": "D1", "firstName": "Ada"})
    assert driveri.get_driver("D1") == DriveriDriver(driver_id="D1", first_name="Ada", status=1)
    assert driveri.get_driver("D1") is not None
    app.extensions["fleetbridge_sandboxes"]["driveri"].tokens.expire_all()
    assert driveri.get_driver("D1") is not None
    assert [p for p in paths(control) if p.endswith("/auth/token")] == [
        "POST /driveri/v1/auth/token"
    ] * 2


def test_wrong_client_secret_raises_auth_error(app: Flask, control: httpx.Client) -> None:
    with make(app, client_secret="nope") as client, pytest.raises(AuthError) as error:
        client.check()
    assert error.value.status_code == 401 and error.value.vendor_code == "UNAUTHORIZED"


def test_other_tenant_is_forbidden(app: Flask, control: httpx.Client) -> None:
    with make(app, tenant="other") as client, pytest.raises(AuthError) as error:
        client.check()
    assert error.value.status_code == 403 and "tenant other" in error.value.message


def test_iter_drivers_walks_every_page_including_inactive(
    driveri: DriveriClient, control: httpx.Client
) -> None:
    drivers = [{"driverId": f"D{i:03d}", "firstName": f"N{i}"} for i in range(230)]
    drivers.append({"driverId": "OFF", "firstName": "Old", "status": 0})
    seed(control, *drivers)
    seen = driveri.iter_drivers()
    assert not isinstance(seen, list)
    listed = list(seen)
    assert [d.driver_id for d in listed] == [d["driverId"] for d in drivers]
    assert listed[-1].status == 0
    pages = [p for p in paths(control) if p.endswith("/drivers")]
    assert len(pages) == 3  # 231 drivers at 100 a page


def test_iter_drivers_on_an_empty_tenant(driveri: DriveriClient) -> None:
    assert list(driveri.iter_drivers()) == []


def test_create_get_rename_and_conflicts(driveri: DriveriClient) -> None:
    created = driveri.create_driver(
        {"driverId": "D1", "firstName": "Ada", "lastName": "L", "email": "ada@x.io"}
    )
    assert (created.driver_id, created.last_name, created.status) == ("D1", "L", 1)
    with pytest.raises(VendorConflict) as conflict:
        driveri.create_driver({"driverId": "D1", "firstName": "Dup"})
    assert conflict.value.status_code == 409 and conflict.value.vendor_code == "CONFLICT"
    assert "already exists" in conflict.value.message and conflict.value.field == "driverId"

    renamed = driveri.update_driver("D1", {"driverId": "D2", "phone": "555"})
    assert (renamed.driver_id, renamed.phone, renamed.first_name) == ("D2", "555", "Ada")
    assert driveri.get_driver("D1") is None
    assert driveri.get_driver("D2") == renamed

    driveri.create_driver({"driverId": "D3", "firstName": "Bo"})
    with pytest.raises(VendorConflict):
        driveri.update_driver("D3", {"driverId": "D2"})


def test_validation_errors_carry_the_field(driveri: DriveriClient) -> None:
    with pytest.raises(VendorValidationError) as error:
        driveri.create_driver({"driverId": "D1"})
    assert error.value.field == "firstName" and error.value.message == "firstName is required"
    assert error.value.vendor_code == "BAD_REQUEST"


def test_deactivate_and_delete(driveri: DriveriClient) -> None:
    driveri.create_driver({"driverId": "D1", "firstName": "Ada"})
    driveri.create_driver({"driverId": "D2", "firstName": "Bo"})
    assert driveri.deactivate_driver("D1").status == 0
    driver = driveri.get_driver("D1")
    assert driver is not None and driver.status == 0
    driveri.delete_driver("D2")
    assert driveri.get_driver("D2") is None


def test_driver_ids_are_escaped_in_paths(driveri: DriveriClient) -> None:
    driveri.create_driver({"driverId": "A B+1", "firstName": "Odd"})
    assert driveri.update_driver("A B+1", {"phone": "1"}).phone == "1"
    assert driveri.get_driver("A B+1") is not None


def test_429_is_retried_then_raised_as_rate_limited(
    driveri: DriveriClient, control: httpx.Client
) -> None:
    driveri.check()
    control.post("/faults", json={"status_429": 1.0}).raise_for_status()
    with pytest.raises(RateLimited) as error:
        driveri.get_driver("D1")
    assert error.value.vendor_code == "TOO_MANY_REQUESTS"


def test_check_passes_with_the_default_credentials(driveri: DriveriClient) -> None:
    driveri.check()
