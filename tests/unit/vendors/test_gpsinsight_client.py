"""GpsInsightClient against the GPS Insight sandbox, in-process: login, re-login, envelope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask

from fleetbridge.core.errors import AuthError, RateLimited, VendorValidationError
from fleetbridge.vendors.gpsinsight import GpsInsightClient, PortalDriver, PortalUser
from local.sandboxes.app import create_app

BASE = "http://sandbox/gpsinsight/v2"
USER, PASSWORD, APP_TOKEN = "sandbox-gps-user", "sandbox-gps-pass", "sandbox-gps-app-token"


@pytest.fixture
def app() -> Flask:
    return create_app(time_factor=1.0, webhook_sender=lambda *_: None)


@pytest.fixture
def control(app: Flask) -> Iterator[httpx.Client]:
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://sandbox/_sandbox/gpsinsight") as c:
        yield c


def make(app: Flask, **overrides: Any) -> GpsInsightClient:
    options: dict[str, Any] = {
        "username": USER,
        "password": PASSWORD,
        "transport": httpx.WSGITransport(app=app),
        "sleep": lambda _: None,
        "max_retries": 1,
    }
    return GpsInsightClient(BASE, **(options | overrides))


@pytest.fixture
def gps(app: Flask) -> Iterator[GpsInsightClient]:
    with make(app) as client:
        yield client


def seed(control: httpx.Client, **resources: list[dict[str, Any]]) -> None:
    control.post("/seed", json=resources).raise_for_status()


def logins(control: httpx.Client) -> int:
    entries = control.get("/requests").json()
    entries = entries.get("requests", entries) if isinstance(entries, dict) else entries
    return sum(1 for e in entries if str(e["path"]).endswith("/userauth/login"))


DRIVER = {
    "driver_id": 7,
    "ref_id": "R-7",
    "firstname": "Dana",
    "lastname": "Driver",
    "email": "dana@example.com",
    "phone": "555",
    "license_number": "L-1",
    "group": "North",
    "driveri_driver_id": "DRV-7",
}


def test_list_drivers_logs_in_once_and_maps_the_fields(
    gps: GpsInsightClient, control: httpx.Client
) -> None:
    seed(control, drivers=[DRIVER, {"driver_id": 8, "firstname": "No", "driveri_driver_id": " "}])
    first, second = gps.list_drivers()
    assert first == PortalDriver(**{**DRIVER, "driver_id": "7"}, updated_at=first.updated_at)
    assert first.updated_at
    assert (second.driver_id, second.driveri_driver_id, second.lastname) == ("8", None, None)
    gps.list_drivers()
    assert logins(control) == 1


def test_driver_id_field_is_configurable(app: Flask, control: httpx.Client) -> None:
    seed(control, drivers=[DRIVER])
    with make(app, driver_id_field="ref_id") as client:
        (driver,) = client.list_drivers()
    assert driver.driveri_driver_id == "R-7" and driver.ref_id == "R-7"


def test_expired_session_logs_in_again_once(
    app: Flask, gps: GpsInsightClient, control: httpx.Client
) -> None:
    seed(control, drivers=[DRIVER])
    assert len(gps.list_drivers()) == 1
    app.extensions["fleetbridge_sandboxes"]["gpsinsight"].tokens.expire_all()
    assert len(gps.list_drivers()) == 1
    assert logins(control) == 2


def test_sessions_that_never_last_raise_auth_error(app: Flask, control: httpx.Client) -> None:
    creds = {"username": USER, "password": PASSWORD, "token_ttl_seconds": 1e-6}
    seed(control, credentials=creds)  # type: ignore[arg-type]
    with make(app) as client, pytest.raises(AuthError) as error:
        client.list_users()
    assert error.value.status_code == 401 and "expired" in error.value.message
    assert logins(control) == 2


def test_wrong_password_is_an_auth_error_with_the_portal_message(app: Flask) -> None:
    with make(app, password="nope") as client, pytest.raises(AuthError) as error:
        client.check()
    assert error.value.message == "Invalid username, password or app token"
    assert error.value.vendor_code == "401"


def test_app_token_login(app: Flask, control: httpx.Client) -> None:
    with make(app, username=None, password=None, app_token=APP_TOKEN) as client:
        client.check()


def test_credentials_are_required(app: Flask) -> None:
    with pytest.raises(ValueError, match="username and password"):
        make(app, password=None)


def test_users_and_master_user(gps: GpsInsightClient, control: httpx.Client) -> None:
    seed(control, users=[{"username": "clerk", "is_master": False}])
    users = gps.list_users()
    assert PortalUser(username="clerk", is_master=False) in users
    assert gps.is_master_user(USER) is True
    assert gps.is_master_user("clerk") is False
    assert gps.is_master_user("nobody") is False


def test_error_envelope_maps_to_typed_errors(gps: GpsInsightClient) -> None:
    with pytest.raises(VendorValidationError) as error:
        gps.call("GET", "/driver/update", {"firstname": "X"})
    assert error.value.message == "driver_id is required" and error.value.status_code == 400


def test_ok_http_status_with_an_error_head_still_raises(app: Flask) -> None:
    body = {"head": {"status": "ERROR", "code": 400, "error_string": "bad"}, "data": None}

    def portal(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/userauth/login"):
            return httpx.Response(200, json={"head": {"status": "OK"}, "data": {"token": "t"}})
        return httpx.Response(200, json=body)  # an HTTP 200 whose head says ERROR

    with (
        make(app, transport=httpx.MockTransport(portal)) as client,
        pytest.raises(VendorValidationError, match="bad"),
    ):
        client.list_drivers()


def test_429_is_retried_then_raised(gps: GpsInsightClient, control: httpx.Client) -> None:
    gps.check()
    control.post("/faults", json={"status_429": 1.0}).raise_for_status()
    with pytest.raises(RateLimited) as error:
        gps.list_drivers()
    assert error.value.message == "Rate limit exceeded"


# ---------------------------------------------------------------- issue 15 item 15
def test_item15_every_call_is_the_documented_get_with_query_parameters(
    gps: GpsInsightClient, control: httpx.Client
) -> None:
    gps.list_drivers()
    gps.list_users()
    entries = control.get("/requests").json()
    entries = entries.get("requests", entries) if isinstance(entries, dict) else entries
    assert [(e["method"], e["path"].rsplit("/v2", 1)[1]) for e in entries] == [
        ("GET", "/userauth/login"),
        ("GET", "/driver/list"),
        ("GET", "/user/list"),
    ]
    assert entries[0]["query"]["username"] == USER and entries[0]["query"]["password"]
    assert all(e["body"] is None for e in entries)
    assert all(e["query"].get("session_token") for e in entries[1:])


def test_item15_no_credential_or_session_token_in_logs_errors_or_traces(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """Query strings carry the password and the session token: none may leave the process."""
    import logging
    import traceback

    caplog.set_level(logging.DEBUG)  # even with every logger (httpx, httpcore) at DEBUG
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    try:
        with make(app) as client:
            token = client.login()  # the session every later call of this client carries
            client.list_drivers()
        with make(app, password="wrong-secret-pass") as client, pytest.raises(AuthError) as error:
            client.list_drivers()
    finally:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    assert token and "HTTP Request: GET" in caplog.text  # httpx did log the requests...
    text = "\n".join(
        [
            caplog.text,
            str(error.value),
            repr(error.value),
            str(error.value.body),
            *traceback.format_exception(error.value),
        ]
    )
    for secret in (PASSWORD, "wrong-secret-pass", token):
        assert secret not in text  # ...without their query strings

    # X-Ray: the httpx patch records each call's URL without its query string.
    from aws_xray_sdk.core import xray_recorder
    from aws_xray_sdk.ext.httpx.patch import SyncInstrumentedTransport
    from aws_xray_sdk.sdk_config import SDKConfig

    transport = SyncInstrumentedTransport(httpx.WSGITransport(app=app))
    enabled = SDKConfig.sdk_enabled()
    SDKConfig.set_sdk_enabled(True)  # the tests turn tracing off (POWERTOOLS_TRACE_DISABLED)
    try:
        segment = xray_recorder.begin_segment("test", sampling=1)
        with make(app, transport=transport) as client:
            client.list_drivers()
        urls = [sub.http["request"]["url"] for sub in segment.subsegments]
    finally:
        xray_recorder.clear_trace_entities()  # nothing is sent
        SDKConfig.set_sdk_enabled(enabled)
    assert urls and all("?" not in url and PASSWORD not in url for url in urls)
