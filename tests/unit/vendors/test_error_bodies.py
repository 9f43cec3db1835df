"""Every vendor client's error parsing survives any body (issue #11, finding 4), and what it
keeps is short, single-line plain text (finding 1: no vendor page reaches an API answer)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetbridge.core.errors import VendorError
from fleetbridge.core.http import MAX_ERROR_MESSAGE, VendorClient
from fleetbridge.vendors.azuga import AzugaClient
from fleetbridge.vendors.driveri import DriveriClient
from fleetbridge.vendors.fleetio import FleetioClient
from fleetbridge.vendors.gpsinsight import GpsInsightClient
from fleetbridge.vendors.keycafe import KeycafeClient
from fleetbridge.vendors.onfleet import OnfleetClient
from fleetbridge.vendors.servicetrade import ServiceTradeClient
from fleetbridge.vendors.striven import StrivenClient

CLIENTS = [
    VendorClient,
    AzugaClient,
    DriveriClient,
    FleetioClient,
    GpsInsightClient,
    KeycafeClient,
    OnfleetClient,
    ServiceTradeClient,
    StrivenClient,
]
HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>Request Header Fields Too Large</title></head>"
    "<body><h1>431</h1><p>" + "secret-echo " * 5_000 + "</p></body></html>"
)
BODIES: dict[str, tuple[bytes, str]] = {
    "keycafe error as a string": (b'{"error": "Invalid token"}', "application/json"),
    "error as a list": (b'{"error": ["a", "b"]}', "application/json"),
    "message as an object": (b'{"message": {"x": 1}, "code": {"y": 2}}', "application/json"),
    "a JSON string": (b'"nope"', "application/json"),
    "a JSON list": (b"[1, 2, 3]", "application/json"),
    "a number": (b"42", "application/json"),
    "null": (b"null", "application/json"),
    "empty": (b"", "application/json"),
    "truncated JSON": (b'{"error": {"errorMessage": "x', "application/json"),
    "HTML page": (HTML_PAGE.encode(), "text/html"),
    "HTML without a type": (HTML_PAGE.encode(), ""),
    "deep nesting": (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    "invalid UTF-8": (b"\xff\xfe\xfd", "text/plain"),
    "fieldErrors of strings": (b'{"fieldErrors": ["x"], "error": {}}', "application/json"),
    "errors with a list": (b'{"errors": ["x"]}', "application/json"),
    "head of a string": (b'{"head": "ERROR"}', "application/json"),
    "long message": (b'{"message": "' + b"m" * 100_000 + b'"}', "application/json"),
    "control characters": (b'{"message": "line1\\nline2\\u0000\\u001b[31m"}', "application/json"),
}


def _client(cls: type[VendorClient]) -> VendorClient:
    # parse_error reads only the response: no connection, credentials or transport needed
    return cls.__new__(cls)


def _response(status: int, body: bytes, content_type: str) -> httpx.Response:
    headers = {"content-type": content_type} if content_type else {}
    request = httpx.Request("GET", "https://vendor.example/x")
    return httpx.Response(status, content=body, headers=headers, request=request)


def _check(message: str, code: str | None, field: str | None) -> None:
    assert isinstance(message, str) and message
    assert len(message) <= MAX_ERROR_MESSAGE
    assert "\n" not in message and "\x00" not in message and "\x1b" not in message
    assert not re.search(r"<[^>]*>", message)  # no markup
    assert "secret-echo" not in message  # no page content
    assert code is None or (isinstance(code, str) and len(code) <= 64)
    assert field is None or isinstance(field, str)


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("label", list(BODIES))
def test_error_parsing_survives_any_body(cls: type[VendorClient], label: str) -> None:
    body, content_type = BODIES[label]
    for status in (400, 401, 404, 422, 431, 500, 503):
        code, message, field = _client(cls).parse_error(_response(status, body, content_type))
        _check(message, code, field)
        error = _client(cls)._error(_response(status, body, content_type))
        assert isinstance(error, VendorError)
        assert len(str(error)) <= MAX_ERROR_MESSAGE + 100


def test_keycafe_string_error_keeps_its_message() -> None:
    response = _response(401, b'{"error": "Invalid token"}', "application/json")
    assert _client(KeycafeClient).parse_error(response) == (None, "Invalid token", None)


def test_documented_shapes_still_parse() -> None:
    keycafe = b'{"error": {"errorId": "E1", "errorMessage": "bad"}, "fieldErrors": [{"field": "name", "message": "required"}]}'
    assert _client(KeycafeClient).parse_error(_response(422, keycafe, "application/json")) == (
        "E1",
        "bad: name required",
        "name",
    )
    fleetio = b'{"errors": {"name": ["can\'t be blank"]}}'
    assert _client(FleetioClient).parse_error(_response(422, fleetio, "application/json")) == (
        "validation",
        "name can't be blank",
        "name",
    )
    servicetrade = b'{"messages": {"error": ["Session expired"], "info": []}, "data": null}'
    parsed = _client(ServiceTradeClient).parse_error(
        _response(401, servicetrade, "application/json")
    )
    assert parsed == (None, "Session expired", None)
    html = _client(FleetioClient).parse_error(_response(502, HTML_PAGE.encode(), "text/html"))
    assert html == (None, "Bad Gateway", None)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "error",
        "errors",
        "message",
        "Message",
        "code",
        "Code",
        "head",
        "fieldErrors",
        "cause",
        "messages",
    ]
)
SHAPED = st.dictionaries(KEYS, JSON, max_size=4) | st.dictionaries(
    KEYS, st.dictionaries(KEYS | st.text(max_size=8), JSON, max_size=4), max_size=3
)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(body=SHAPED | JSON, status=st.sampled_from([400, 401, 403, 404, 409, 422, 429, 500, 503]))
def test_any_json_body_parses_for_every_client(body: Any, status: int) -> None:
    import json

    raw = json.dumps(body).encode()
    for cls in CLIENTS:
        _check(*_reorder(_client(cls).parse_error(_response(status, raw, "application/json"))))


@settings(max_examples=100, deadline=None, database=None)
@given(raw=st.binary(max_size=2_000))
def test_any_bytes_parse_for_every_client(raw: bytes) -> None:
    for cls in CLIENTS:
        _check(*_reorder(_client(cls).parse_error(_response(500, raw, "application/json"))))


def _reorder(parsed: tuple[str | None, str, str | None]) -> tuple[str, str | None, str | None]:
    code, message, field = parsed
    return message, code, field
