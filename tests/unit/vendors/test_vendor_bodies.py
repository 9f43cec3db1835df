"""Each vendor client, through its real calls, survives a string, HTML or non-JSON body on an
error answer (and, where the vendor wraps answers or issues tokens, on a 200): a typed
`VendorError` with a short plain-text message, never an AttributeError or a decoding error
(issue 13 item 3: one error-body parser on the client base, one token exchange)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from fleetbridge.core.errors import VendorError
from fleetbridge.core.http import MAX_ERROR_MESSAGE, VendorClient
from fleetbridge.vendors.azuga import AzugaClient
from fleetbridge.vendors.driveri import DriveriClient
from fleetbridge.vendors.fleetio import FleetioClient
from fleetbridge.vendors.gpsinsight import GpsInsightClient
from fleetbridge.vendors.keycafe import KeycafeClient
from fleetbridge.vendors.onfleet import OnfleetClient
from fleetbridge.vendors.striven import StrivenClient

BASE = "https://vendor.example/api"
BODIES: dict[str, tuple[bytes, str]] = {
    "a JSON string": (b'"upstream said no"', "application/json"),
    "an HTML page": (
        b"<html><body><h1>Bad gateway</h1><p>" + b"secret-echo " * 50 + b"</p></body></html>",
        "text/html",
    ),
    "plain text": (b"upstream said no", "text/plain"),
    "truncated JSON": (b'{"error": {"message": "x', "application/json"),
}

Build = Callable[[httpx.BaseTransport], VendorClient]
Call = Callable[[Any], Any]
CLIENTS: dict[str, tuple[Build, Call]] = {
    "azuga": (
        lambda t: AzugaClient(BASE, api_key="k", transport=t, max_retries=0),
        lambda c: c.drivers(),
    ),
    "driveri": (
        lambda t: DriveriClient(
            BASE, client_id="id", client_secret="s", tenant="t", transport=t, max_retries=0
        ),
        lambda c: c.iter_drivers().__next__(),
    ),
    "fleetio": (
        lambda t: FleetioClient(BASE, api_key="k", account_token="a", transport=t, max_retries=0),
        lambda c: c.get_vehicle(1),
    ),
    "gpsinsight": (
        lambda t: GpsInsightClient(BASE, username="u", password="p", transport=t, max_retries=0),
        lambda c: c.list_drivers(),
    ),
    "keycafe": (
        lambda t: KeycafeClient(BASE, email="e@x.example", token="k", transport=t, max_retries=0),
        lambda c: c.get_key(1),
    ),
    "onfleet": (
        lambda t: OnfleetClient(BASE, api_key="k", transport=t, max_retries=0),
        lambda c: c.list_teams(),
    ),
    "striven": (
        lambda t: StrivenClient(
            BASE, client_id="id", client_secret="s", transport=t, max_retries=0
        ),
        lambda c: c.task_types(),
    ),
}
#: Vendors whose 200 answers are parsed before any model: an envelope or a token answer.
ENVELOPED = ("azuga", "driveri", "gpsinsight", "striven")


def _answer(status: int, body: bytes, content_type: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": content_type})

    return httpx.MockTransport(handler)


def _check(error: VendorError) -> None:
    assert isinstance(error.message, str) and error.message
    assert len(error.message) <= MAX_ERROR_MESSAGE
    assert "<" not in error.message and "secret-echo" not in error.message
    assert "\n" not in error.message


@pytest.mark.parametrize("vendor", list(CLIENTS))
@pytest.mark.parametrize("label", list(BODIES))
@pytest.mark.parametrize("status", [400, 401, 404, 500])
def test_error_answers_with_any_body_are_typed_errors(vendor: str, label: str, status: int) -> None:
    build, call = CLIENTS[vendor]
    with build(_answer(status, *BODIES[label])) as client, pytest.raises(VendorError) as error:
        call(client)
    assert error.value.status_code == status
    _check(error.value)


@pytest.mark.parametrize("vendor", ENVELOPED)
@pytest.mark.parametrize("label", list(BODIES))
def test_ok_answers_without_the_documented_json_are_typed_errors(vendor: str, label: str) -> None:
    build, call = CLIENTS[vendor]
    with build(_answer(200, *BODIES[label])) as client, pytest.raises(VendorError) as error:
        call(client)
    _check(error.value)


def test_a_refused_token_is_fetched_again_once_then_raised() -> None:
    """The one client-credentials exchange: a 401 on a call fetches a new token once."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("/accesstoken"):
            assert request.headers["authorization"].startswith("Basic ")
            return httpx.Response(200, json={"access_token": f"t{len(seen)}", "expires_in": 900})
        return httpx.Response(401, json={"code": "Unauthorized", "message": "expired"})

    client = StrivenClient(BASE, client_id="id", client_secret="s", transport=_mock(handler))
    with client, pytest.raises(VendorError) as error:
        client.get_task(1)
    assert error.value.status_code == 401 and error.value.message == "expired"
    assert seen == [
        "POST /api/accesstoken",
        "GET /api/v2/tasks/1",
        "POST /api/accesstoken",
        "GET /api/v2/tasks/1",
    ]


def _mock(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("vendor", "body", "expected"),
    [
        (
            "driveri",
            {"data": None, "error": {"code": "CONFLICT", "message": "taken", "field": "driverId"}},
            ("CONFLICT", "taken", "driverId"),
        ),
        ("driveri", {"error": "plain"}, (None, "plain", None)),
        (
            "azuga",
            {"error": {"code": "CONFLICT", "message": "taken", "field": "create[0].name"}},
            ("CONFLICT", "taken", "create[0].name"),
        ),
        (
            "gpsinsight",
            {"head": {"status": "ERROR", "code": 400, "error_string": "bad"}},
            ("400", "bad", None),
        ),
        ("gpsinsight", {"head": "ERROR", "message": "m"}, (None, "m", None)),
    ],
)
def test_documented_nested_shapes_parse(vendor: str, body: Any, expected: tuple[Any, ...]) -> None:
    build, _ = CLIENTS[vendor]
    request = httpx.Request("GET", BASE)
    with build(_answer(500, b"", "")) as client:
        assert client.parse_error(httpx.Response(409, json=body, request=request)) == expected


def test_large_successful_answers_are_read_whole() -> None:
    """The error-body cap (`MAX_ERROR_BODY_BYTES`) is for error answers only: a page of 1,250
    portal drivers or 500 Striven tasks is far larger and must still be read."""
    from fleetbridge.core.http import MAX_ERROR_BODY_BYTES

    drivers = [
        {"driver_id": n, "firstname": f"First{n}", "lastname": "L" * 60, "email": f"d{n}@x.example"}
        for n in range(1, 1251)
    ]

    def portal(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/userauth/login"):
            return httpx.Response(200, json={"head": {"status": "OK"}, "data": {"token": "s"}})
        return httpx.Response(200, json={"head": {"status": "OK"}, "data": drivers})

    assert len(httpx.Response(200, json={"data": drivers}).content) > MAX_ERROR_BODY_BYTES
    client = GpsInsightClient(BASE, username="u", password="p", transport=_mock(portal))
    with client:
        assert len(client.list_drivers()) == 1250

    types = [{"id": n, "name": "T" * 100} for n in range(1000)]

    def striven(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/accesstoken"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 900})
        return httpx.Response(200, json=types)

    with StrivenClient(BASE, client_id="id", client_secret="s", transport=_mock(striven)) as c:
        assert len(c.task_types()) == 1000
