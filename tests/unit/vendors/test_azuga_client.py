"""AzugaClient against the Azuga sandbox, in-process: login and a new token once on 401, drivers
and vehicles, bulk geofence creation in batches, deletes, TrackMe links, error mapping and the
per-endpoint minute limit's 429."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask
from pydantic import ValidationError

from fleetbridge.core.errors import (
    AuthError,
    RateLimited,
    VendorConflict,
    VendorNotFound,
    VendorUnavailable,
    VendorValidationError,
)
from fleetbridge.vendors import azuga as azuga_module
from fleetbridge.vendors.azuga import PER_ENDPOINT, AzugaClient
from fleetbridge.vendors.azuga_models import NewGeofence
from fleetbridge.vendors.catalogue import CLIENTS
from local.sandboxes.app import create_app

BASE = "http://sandbox/azuga"
KEY = "sandbox-azuga-key"


@pytest.fixture
def app() -> Flask:
    return create_app(time_factor=1.0, webhook_sender=lambda *_: None)


@pytest.fixture
def control(app: Flask) -> Iterator[httpx.Client]:
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://sandbox/_sandbox/azuga") as c:
        c.post("/rate-limit", json={"limit": 1000}).raise_for_status()
        yield c


def make(app: Flask, **overrides: Any) -> AzugaClient:
    options: dict[str, Any] = {
        "api_key": KEY,
        "transport": httpx.WSGITransport(app=app),
        "sleep": lambda _: None,
        "max_retries": 2,
    }
    return AzugaClient(BASE, **(options | overrides))


@pytest.fixture
def azuga(app: Flask, control: httpx.Client) -> Iterator[AzugaClient]:
    with make(app) as client:
        yield client


def seed(control: httpx.Client, **resources: Any) -> dict[str, Any]:
    response = control.post("/seed", json=resources)
    response.raise_for_status()
    return dict(response.json())


def paths(control: httpx.Client) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in control.get("/requests").json()["requests"]]


def fence(name: str, lat: float = 40.0, radius: float = 150.0) -> NewGeofence:
    return NewGeofence(name=name, latitude=lat, longitude=-75.0, radius_meters=radius)


def test_declared_for_connections() -> None:
    assert AzugaClient in CLIENTS
    assert AzugaClient.credential_args == {"api_key": "azuga_api_key"}
    assert AzugaClient.account_args == ("api_key",)
    assert AzugaClient.rate_limit is None  # no account-wide limit: one a minute per endpoint
    assert PER_ENDPOINT.requests == 1 and PER_ENDPOINT.per_seconds == 60
    assert set(AzugaClient.endpoint_limits.values()) == {PER_ENDPOINT}


@pytest.mark.parametrize(
    ("method", "path", "endpoint"),
    [
        ("POST", "/v3/auth/login", "POST /v3/auth/login"),
        ("GET", "/v3/users", "GET /v3/users"),
        ("GET", "/v3/trackees", "GET /v3/trackees"),
        ("GET", "/v3/geomarks", "GET /v3/geomarks"),
        ("POST", "/v3/geomarks/bulkUpload.json", "POST /v3/geomarks/bulkUpload.json"),
        ("DELETE", "/v3/geomarks/g-17", "DELETE /v3/geomarks/{id}"),
        ("POST", "/v1/trackme.json", "POST /v1/trackme.json"),
    ],
)
def test_every_call_falls_under_its_endpoint_limit(
    app: Flask, method: str, path: str, endpoint: str
) -> None:
    with make(app) as client:
        assert client.endpoint_of(method, path) == endpoint


def test_token_kept_then_fetched_again_once_on_401(
    app: Flask, azuga: AzugaClient, control: httpx.Client
) -> None:
    seed(control, users=[{"id": 7, "firstName": "Ann", "email": "ANN@x.io"}])
    assert [d.email for d in azuga.drivers()] == ["ANN@x.io"]
    assert azuga.vehicles() == []
    app.extensions["fleetbridge_sandboxes"]["azuga"].tokens.expire_all()
    assert azuga.drivers()[0].id == "7"
    assert paths(control) == [
        "POST /azuga/v3/auth/login",
        "GET /azuga/v3/users",
        "GET /azuga/v3/trackees",
        "GET /azuga/v3/users",  # 401: the token expired
        "POST /azuga/v3/auth/login",
        "GET /azuga/v3/users",
    ]


def test_wrong_key_is_an_auth_error(app: Flask, control: httpx.Client) -> None:
    with make(app, api_key="wrong") as client, pytest.raises(AuthError) as error:
        client.check()
    assert error.value.status_code == 401 and error.value.vendor_code == "UNAUTHORIZED"
    with make(app) as client:
        client.check()  # login only: no other endpoint's minute is spent
    assert paths(control)[-1] == "POST /azuga/v3/auth/login"


def test_vehicles_carry_their_driver_and_location(
    azuga: AzugaClient, control: httpx.Client
) -> None:
    seed(
        control,
        users=[{"id": 7, "firstName": "Ann"}],
        trackees=[{"id": 3, "name": "Van", "vin": "V1", "assignedUserId": 7}],
    )
    control.post("/positions", json={"vehicleId": 3, "lat": 40.0, "lon": -75.0, "at": 5_000})
    [van] = azuga.vehicles()
    assert (van.id, van.assigned_user_id, van.vin) == ("3", "7", "V1")
    assert van.last_location is not None and van.last_location.location_time == 5_000


def test_geofences_created_in_batches_listed_and_deleted(
    azuga: AzugaClient, control: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(azuga_module, "GEOFENCE_BATCH", 2)
    created = azuga.create_geofences([fence(f"Job {n}", 40 + n / 100) for n in range(5)])
    assert [g.name for g in created] == [f"Job {n}" for n in range(5)]
    assert created[0].radius == 150.0 and created[0].fence_type == "Circular"
    uploads = [p for p in paths(control) if p.endswith("bulkUpload.json")]
    assert len(uploads) == 3  # 2 + 2 + 1
    assert [g.name for g in azuga.geofences()] == [g.name for g in created]
    azuga.delete_geofence(created[0].id)
    with pytest.raises(VendorNotFound):
        azuga.delete_geofence(created[0].id)
    assert len(azuga.geofences()) == 4


def test_errors_are_typed_with_the_field(azuga: AzugaClient) -> None:
    azuga.create_geofences([fence("Job A")])
    with pytest.raises(VendorConflict) as conflict:
        azuga.create_geofences([fence("Job B"), fence("job a")])
    assert conflict.value.field == "create[1].name" and conflict.value.vendor_code == "CONFLICT"
    assert [g.name for g in azuga.geofences()] == ["Job A"]  # the batch was refused whole
    with pytest.raises(ValidationError):
        fence("Too big", radius=16_100)  # over 10 miles: refused before any call
    invalid = NewGeofence.model_construct(
        name="Bad", latitude=1.0, longitude=1.0, radius_meters=-1, address=None, alert_on_entry=True
    )
    with pytest.raises(VendorValidationError) as bad:
        azuga.create_geofences([invalid])
    assert bad.value.field == "create[0].geofenceRadius" and bad.value.status_code == 400


def test_tracking_link(azuga: AzugaClient, control: httpx.Client) -> None:
    seed(control, users=[{"id": 7}], trackees=[{"id": 3, "assignedUserId": 7}])
    link = azuga.tracking_link("3", "7", 120, "Your technician")
    assert link.token in link.url and link.expires_at
    [stored] = control.get("/state").json()["trackme_links"]
    assert (stored["vehicleId"], stored["userId"], stored["ttl"]) == ("3", "7", 120)
    with pytest.raises(VendorNotFound):
        azuga.tracking_link("99", None, 5)
    with pytest.raises(ValueError):
        azuga.tracking_link("3", "7", 0)


def test_tracking_link_repeated_after_a_lost_answer(
    azuga: AzugaClient, control: httpx.Client
) -> None:
    seed(control, users=[{"id": 7}], trackees=[{"id": 3, "assignedUserId": 7}])
    azuga.authenticate()
    control.post("/faults", json={"status_5xx": 1.0, "methods": ["POST"]}).raise_for_status()
    with pytest.raises(VendorUnavailable):  # every attempt fails: 5xx retried, then raised
        azuga.tracking_link("3", "7", 30)
    trackme = [p for p in paths(control) if p.endswith("trackme.json")]
    assert len(trackme) == 3  # POST, yet retried: a second link is harmless


def test_per_endpoint_minute_limit_is_a_429(app: Flask, control: httpx.Client) -> None:
    control.post("/rate-limit", json={}).raise_for_status()  # back to 1 a minute per endpoint
    with make(app, max_retries=0) as client:
        client.drivers()
        client.vehicles()  # another endpoint: allowed
        with pytest.raises(RateLimited) as error:
            client.drivers()
    assert error.value.status_code == 429
