"""ServiceTradeClient against the ServiceTrade sandbox, in-process: session cookie and re-login on
401, every page of appointments with the filters, techs, clock in/out, Service Link recorded,
envelope errors mapped to typed errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from flask import Flask

from fleetbridge.core.config import get_settings
from fleetbridge.core.errors import (
    AuthError,
    RateLimited,
    VendorUnavailable,
    VendorValidationError,
)
from fleetbridge.core.models import Connection
from fleetbridge.vendors.servicetrade import ServiceTradeClient, unix_seconds
from fleetbridge.vendors.servicetrade_models import WebhookPayload
from local.sandboxes.app import create_app

BASE = "http://sandbox/servicetrade/api"
USER, PASSWORD = "sandbox-st-user", "sandbox-st-pass"
WORLD: dict[str, Any] = {
    "users": [
        {"id": 7, "firstName": "Tess", "lastName": "Tech", "email": "tess@st.example"},
        {"id": 8, "firstName": "Otto", "lastName": "Office", "isTech": False},
        {"id": 9, "firstName": "Tim", "lastName": "Tech"},
    ],
    "locations": [
        {
            "id": 30,
            "name": " Acme HQ ",
            "address": {"street": "1 Main", "city": "Austin", "state": "TX", "postalCode": "78701"},
            "lat": 30.27,
            "lon": -97.74,
            "primaryContact": {"id": 40, "name": "Pat", "email": "pat@acme.example"},
        }
    ],
    "jobs": [{"id": 20, "number": 1020, "location": 30}],
}


@pytest.fixture
def sent() -> list[bytes]:
    return []


@pytest.fixture
def app(sent: list[bytes]) -> Flask:
    return create_app(time_factor=1.0, webhook_sender=lambda _url, body, _h: sent.append(body))


@pytest.fixture
def control(app: Flask) -> Iterator[httpx.Client]:
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://sandbox/_sandbox/servicetrade") as c:
        seed(c, **WORLD)
        yield c


def seed(control: httpx.Client, **payload: Any) -> dict[str, Any]:
    response = control.post("/seed", json=payload)
    response.raise_for_status()
    return dict(response.json())


def make(app: Flask, **overrides: Any) -> ServiceTradeClient:
    options: dict[str, Any] = {
        "username": USER,
        "password": PASSWORD,
        "transport": httpx.WSGITransport(app=app),
        "sleep": lambda _: None,
        "max_retries": 2,
    }
    return ServiceTradeClient(BASE, **(options | overrides))


@pytest.fixture
def st(app: Flask, control: httpx.Client) -> Iterator[ServiceTradeClient]:
    with make(app) as client:
        yield client


def requests(control: httpx.Client) -> list[dict[str, Any]]:
    return list(control.get("/requests").json()["requests"])


def paths(control: httpx.Client) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in requests(control)]


def appointment(i: int, **fields: Any) -> dict[str, Any]:
    start = 1_800_000_000 + i * 3600
    return {
        "id": i,
        "windowStart": start,
        "windowEnd": start + 1800,
        "job": 20,
        "location": 30,
        "techs": [7, 9],
    } | fields


def test_session_cookie_is_kept_and_renewed_once_on_401(
    app: Flask, st: ServiceTradeClient, control: httpx.Client
) -> None:
    st.check()
    assert [t.name for t in st.techs()] == ["Tess Tech", "Tim Tech"]
    app.extensions["fleetbridge_sandboxes"]["servicetrade"].tokens.expire_all()
    assert st.appointment(1) is None
    assert paths(control).count("POST /servicetrade/api/auth") == 2
    logged = requests(control)
    assert logged[0]["body"]["password"] == "[redacted]"
    calls = [e for e in logged if not e["path"].endswith("/auth")]
    assert all(e["headers"].get("Cookie") == "[redacted]" for e in calls)
    assert [e["status"] for e in logged] == [200, 200, 200, 401, 200, 404]


def test_refused_credentials_raise_auth_error(app: Flask, control: httpx.Client) -> None:
    with make(app, password="nope") as client, pytest.raises(AuthError) as error:
        client.check()
    assert error.value.status_code == 401
    assert str(error.value.message) == "Invalid username or password"
    assert paths(control) == ["POST /servicetrade/api/auth"]


def test_appointments_read_every_page_with_the_filters(app: Flask, control: httpx.Client) -> None:
    seed(control, appointments=[appointment(i, updated=1000 + i) for i in range(1, 6)])
    seed(control, appointments=[appointment(6, status="completed", updated=2000)])
    with make(app, page_size=2) as client:
        listed = client.appointments()
        assert not isinstance(listed, list)
        assert [a.id for a in listed] == [1, 2, 3, 4, 5, 6]
        pages = [
            e["query"]["page"] for e in requests(control) if e["path"].endswith("/appointment")
        ]
        assert pages == ["1", "2", "3"]
        since = datetime.fromtimestamp(1004, UTC)
        recent = client.appointments(updated_after=since, status=["scheduled", "completed"])
        assert [a.id for a in recent] == [4, 5, 6]
        query = requests(control)[-1]["query"]
        assert query["updatedAfter"] == "1004" and query["status"] == "scheduled,completed"
        window = client.appointments(
            window_begins_after=1_800_007_200, window_ends_before=1_800_012_600, status="scheduled"
        )
        assert [a.id for a in window] == [2, 3]


def test_appointment_parses_into_models(st: ServiceTradeClient, control: httpx.Client) -> None:
    seed(control, appointments=[appointment(1, released=False)])
    found = st.appointment(1)
    assert found is not None
    assert found.window_start == datetime.fromtimestamp(1_800_003_600, UTC)
    assert found.job is not None and found.job.number == "1020" and found.job.uri
    assert found.location is not None and found.location.name == "Acme HQ"
    assert found.location.address is not None and found.location.address.postal_code == "78701"
    assert found.location.primary_contact is not None
    assert found.location.primary_contact.email == "pat@acme.example"
    assert [t.id for t in found.techs] == [7, 9] and found.released is False


def test_clock_in_out_and_open_events(st: ServiceTradeClient, control: httpx.Client) -> None:
    seed(control, appointments=[appointment(1)])
    at = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    event = st.clock_in(20, 7, "enroute", appointment_id=1, at=at)
    assert event.open and event.clock_in == at and event.appointment_id == 1
    assert [e.id for e in st.clock_events(user_id=7, clocked_in=True)] == [event.id]
    with pytest.raises(VendorValidationError, match="already clocked in"):
        st.clock_in(20, 7, "enroute")
    closed = st.clock_out(20, 7, "enroute")
    assert closed.id == event.id and not closed.open
    assert st.clock_events(clocked_in=True) == []
    assert [e.id for e in st.clock_events(job_id=20, activity="enroute")] == [event.id]
    assert requests(control)[-1]["query"] == {
        "jobId": "20", "activity": "enroute", "page": "1", "limit": "100"
    }  # fmt: skip


def test_service_link_is_recorded(st: ServiceTradeClient, control: httpx.Client) -> None:
    message_id = st.send_service_link(
        emails=["pat@acme.example"], job_id=20, appointment_id=1, tracking_url="https://t.example/1"
    )
    assert message_id == "1"
    stored = control.get("/state").json()["messages"]
    assert stored[0]["emails"] == ["pat@acme.example"] and stored[0]["template"] == "ServiceLink"
    assert stored[0]["params"] == {
        "jobId": 20, "appointmentId": 1, "trackingUrl": "https://t.example/1"
    }  # fmt: skip
    assert st.send_service_link(contact_ids=[40], job_id=20, appointment_id=1, tracking_url="u")
    with pytest.raises(ValueError, match="exactly one"):
        st.send_service_link(
            emails=["a@b"], contact_ids=[1], job_id=1, appointment_id=1, tracking_url="u"
        )


def test_errors_are_mapped_and_writes_not_repeated(
    st: ServiceTradeClient, control: httpx.Client
) -> None:
    st.check()
    control.post("/faults", json={"status_429": 1.0, "retry_after_s": 0})
    with pytest.raises(RateLimited) as limited:
        st.techs()
    assert limited.value.message == "Too many requests"
    assert paths(control).count("GET /servicetrade/api/user") == 1 + 3  # check, then 3 tries
    control.post("/faults", json={"status_5xx": 1.0})
    with pytest.raises(VendorUnavailable):
        st.clock_in(20, 7, "onsite")  # a POST that may have been applied is not repeated
    assert paths(control).count("POST /servicetrade/api/job/20/clockin") == 1
    control.post("/faults", json={})
    with pytest.raises(VendorValidationError, match="activity"):
        st.clock_in(20, 7, "lunch")  # type: ignore[arg-type]


def test_webhook_payload_parses(st: ServiceTradeClient, control: httpx.Client, sent) -> None:
    seed(control, webhooks=[{"url": "https://hooks.example/st?token=x"}])
    seed(control, appointments=[appointment(1)])
    st.clock_in(20, 7, "onsite")
    payloads = [WebhookPayload.model_validate_json(body) for body in sent]
    changes = [(c.entity.type, c.action, c.entity.id) for p in payloads for c in p.data]
    assert changes == [("appointment", "created", 1), ("clock", "created", 1)]
    assert payloads[1].data[0].user_id == 7 and payloads[1].message_id


def test_for_connection_reads_the_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETBRIDGE_VENDOR_URLS", '{"servicetrade": "http://st.test/api"}')
    get_settings.cache_clear()
    connection = Connection(
        id="con_1",
        tenant_id="ten_1",
        flow="servicetrade-azuga",
        name="S",
        settings={},
        secret_arn="arn",
        created_at="x",
        updated_at="x",
    )
    credentials = {"servicetrade_username": "u", "servicetrade_password": "p"}
    with ServiceTradeClient.for_connection(connection, credentials) as client:
        assert str(client._http.base_url).rstrip("/") == "http://st.test/api"
    get_settings.cache_clear()
    with pytest.raises(KeyError):
        ServiceTradeClient.for_connection(connection, {"servicetrade_username": "u"})
    with pytest.raises(ValueError, match="timezone"):
        unix_seconds(datetime(2026, 1, 1))
