"""ServiceTrade sandbox: envelope, session auth, paging, filters, clock events, Service Link,
webhooks on every change (seeded or through the API) and injected faults."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from flask import Flask

from tests.unit.sandboxes.conftest import Sent

BASE = "/servicetrade/api"
LOGIN = {"username": "sandbox-st-user", "password": "sandbox-st-pass"}
HOOK = "https://hooks.example/hooks/servicetrade/con_1?token=s3cret"
WORLD: dict[str, Any] = {
    "users": [
        {"id": 7, "firstName": "Tess", "lastName": "Tech", "email": "tess@st.example"},
        {"id": 8, "firstName": "Otto", "lastName": "Office", "isTech": False},
    ],
    "locations": [
        {
            "id": 30,
            "name": "Acme HQ",
            "address": {"street": "1 Main", "city": "Austin", "state": "TX", "postalCode": "78701"},
            "lat": 30.27,
            "lon": -97.74,
            "email": "front@acme.example",
            "primaryContact": {"id": 40, "name": "Pat", "email": "pat@acme.example"},
        }
    ],
    "jobs": [{"id": 20, "number": "J-20", "location": 30}],
}


def envelope_data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"messages", "data"}
    return body["data"]


def error_text(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["data"] is None
    return str(body["messages"]["error"][0])


def seed(control: httpx.Client, **payload: Any) -> dict[str, Any]:
    response = control.post("/servicetrade/seed", json=payload)
    assert response.status_code == 200, response.text
    return dict(response.json())


def appointment(i: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": i,
        "status": "scheduled",
        "windowStart": 1_800_000_000 + i * 3600,
        "windowEnd": 1_800_000_000 + i * 3600 + 1800,
        "job": 20,
        "location": 30,
        "techs": [7],
    } | fields


@pytest.fixture
def st(app: Flask, make_client: Callable[..., httpx.Client], control) -> Iterator[httpx.Client]:
    """A logged-in client (the session cookie kept by httpx) over the seeded world."""
    seed(control, **WORLD)
    with make_client(app, BASE) as c:
        envelope_data(c.post("/auth", json=LOGIN))
        yield c


def test_auth_sets_a_session_cookie_and_401s_without_one(app, make_client, control) -> None:
    with make_client(app, BASE) as c:
        assert "no session" in error_text(c.get("/appointment"), 401)
        assert "Invalid" in error_text(c.post("/auth", json=LOGIN | {"password": "x"}), 401)
        response = c.post("/auth", json=LOGIN)
        assert envelope_data(response)["authenticated"] is True
        assert "PHPSESSID" in response.cookies
        assert envelope_data(c.get("/appointment"))["appointments"] == []
        app.extensions["fleetbridge_sandboxes"]["servicetrade"].tokens.expire_all()
        assert "expired" in error_text(c.get("/appointment"), 401)
    logged = control.get("/servicetrade/requests").json()["requests"]
    assert logged[1]["body"]["password"] == "[redacted]"


def test_appointments_render_the_documented_fields(st: httpx.Client, control) -> None:
    seed(control, appointments=[appointment(1)])
    data = envelope_data(st.get("/appointment/1"))
    assert data["status"] == "scheduled" and data["released"] is True
    assert data["job"] == {"id": 20, "number": "J-20", "uri": f"http://sandbox{BASE}/job/20"}
    assert data["location"]["address"]["postalCode"] == "78701"
    assert data["location"]["primaryContact"]["email"] == "pat@acme.example"
    assert data["techs"] == [{"id": 7, "name": "Tess Tech", "email": "tess@st.example"}]
    assert isinstance(data["updated"], int)
    assert "not found" in error_text(st.get("/appointment/99"), 404)


def test_paging_and_filters(st: httpx.Client, control) -> None:
    seed(control, appointments=[appointment(i, updated=1000 + i) for i in range(1, 8)])
    seed(control, appointments=[{"id": 3, "status": "canceled_by_customer", "updated": 2000}])
    first = envelope_data(st.get("/appointment", params={"limit": 3}))
    assert (first["totalPages"], first["page"]) == (3, 1)
    last = envelope_data(st.get("/appointment", params={"limit": 3, "page": 3}))
    assert [a["id"] for a in last["appointments"]] == [7]
    since = envelope_data(st.get("/appointment", params={"updatedAfter": 1006}))
    assert [a["id"] for a in since["appointments"]] == [3, 6, 7]
    canceled = envelope_data(st.get("/appointment", params={"status": "canceled_by_customer"}))
    assert [a["id"] for a in canceled["appointments"]] == [3]
    window = {"windowBeginsAfter": 1_800_000_000 + 2 * 3600, "windowEndsBefore": 1_800_018_000}
    windowed = envelope_data(st.get("/appointment", params=window))["appointments"]
    assert [a["id"] for a in windowed] == [2, 3, 4]
    assert error_text(st.get("/appointment", params={"status": "nope"}), 400)
    assert error_text(st.get("/appointment", params={"limit": 0}), 400)
    techs = envelope_data(st.get("/user", params={"isTech": "true"}))["users"]
    assert [(u["id"], u["firstName"], u["status"]) for u in techs] == [(7, "Tess", "active")]


def test_seeded_changes_fire_webhooks(st: httpx.Client, control, sent: list[Sent]) -> None:
    seed(control, webhooks=[{"url": HOOK}])
    seed(control, appointments=[appointment(1), appointment(2)])
    assert len(sent) == 1 and sent[0].url == HOOK
    assert "Signature" not in str(sent[0].headers)  # the secret is in the URL
    created = sent[0].json
    assert set(created) == {"messageId", "timestamp", "data"}
    item = created["data"][0]
    assert item["action"] == "created" and item["userId"] == 1
    assert item["entity"] == {
        "type": "appointment",
        "id": 1,
        "uri": f"http://sandbox{BASE}/appointment/1",
    }
    seed(control, appointments=[{"id": 1, "status": "canceled_by_vendor"}])
    assert sent[1].json["data"][0]["changeset"] == {"status": "canceled_by_vendor"}
    seed(control, appointments=[{"id": 1, "status": "canceled_by_vendor"}])  # no change
    seed(control, deleted_appointments=[2], silent=False)
    assert [d["action"] for s in sent[2:] for d in s.json["data"]] == ["deleted"]
    seed(control, appointments=[appointment(5)], silent=True)
    assert len(sent) == 3


def test_clock_in_and_out_change_state_and_fire_clock_webhooks(
    st: httpx.Client, control, sent: list[Sent]
) -> None:
    seed(control, appointments=[appointment(1)], webhooks=[{"url": HOOK, "events": ["clock"]}])
    body = {"userId": 7, "activity": "enroute", "appointmentId": 1, "time": 1_700_000_100}
    event = envelope_data(st.post("/job/20/clockin", json=body))
    assert event["clockIn"] == 1_700_000_100 and event["clockOut"] is None
    assert "already" in error_text(st.post("/job/20/clockin", json=body), 400)
    open_now = envelope_data(st.get("/clock", params={"userId": 7, "clockedIn": "true"}))
    assert [e["id"] for e in open_now["clockEvents"]] == [event["id"]]
    closed = envelope_data(st.post("/job/20/clockout", json={"userId": 7, "activity": "enroute"}))
    assert closed["clockOut"] >= closed["clockIn"]
    assert envelope_data(st.get("/clock", params={"clockedIn": "true"}))["clockEvents"] == []
    assert "not clocked in" in error_text(
        st.post("/job/20/clockout", json={"userId": 7, "activity": "onsite"}), 400
    )
    assert error_text(st.post("/job/20/clockin", json={"userId": 7, "activity": "lunch"}), 400)
    assert error_text(st.post("/job/99/clockin", json={"userId": 7, "activity": "onsite"}), 404)
    actions = [
        (d["entity"]["type"], d["action"], d["userId"]) for s in sent for d in s.json["data"]
    ]
    assert actions == [("clock", "created", 7), ("clock", "updated", 7)]
    seed(control, settings={"clock_webhooks": False})
    st.post("/job/20/clockin", json={"userId": 7, "activity": "onsite"})
    assert len(sent) == 2  # polled through /clock only


def test_service_link_message_is_recorded(st: httpx.Client, control) -> None:
    body = {
        "emails": ["pat@acme.example"],
        "mode": "email",
        "template": "ServiceLink",
        "send": True,
        "params": {"jobId": 20, "appointmentId": 1, "trackingUrl": "https://t.example/x"},
    }
    sent = envelope_data(st.post("/message", json=body))
    assert sent == {"id": 1, "sent": True}
    stored = control.get("/servicetrade/state").json()["messages"]
    assert stored[0]["emails"] == ["pat@acme.example"]
    assert stored[0]["params"]["trackingUrl"] == "https://t.example/x"
    both = body | {"contactIds": [40]}
    assert "exactly one" in error_text(st.post("/message", json=both), 400)


def test_faults_answer_in_the_envelope(st: httpx.Client, control) -> None:
    control.post("/servicetrade/faults", json={"status_429": 1.0, "retry_after_s": 7})
    response = st.get("/appointment")
    assert error_text(response, 429) and response.headers["Retry-After"] == "7"
    control.post("/servicetrade/faults", json={"lost_response": 1.0, "seed": 1})
    st.post("/job/20/clockin", json={"userId": 7, "activity": "onsite"})
    control.post("/servicetrade/faults", json={})
    events = envelope_data(st.get("/clock", params={"clockedIn": "true"}))["clockEvents"]
    assert len(events) == 1  # the write was applied, its answer lost


def test_a_clock_in_made_in_the_app_is_seeded_and_fires_a_webhook(
    st: httpx.Client, control, sent: list[Sent]
) -> None:
    seed(control, webhooks=[{"url": HOOK, "events": ["clock"]}])
    seed(control, clock_events=[{"userId": 7, "jobId": 20, "activity": "enroute", "clockIn": 1}])
    item = sent[0].json["data"][0]
    assert (item["action"], item["entity"]["type"], item["userId"]) == ("created", "clock", 7)
    assert item["changeset"]["activity"] == "enroute"
    unknown_user = control.post("/servicetrade/seed", json={"clock_events": [{"userId": 99}]})
    assert unknown_user.status_code == 400 and "unknown userId" in unknown_user.text
    bad_hook = control.post(
        "/servicetrade/seed", json={"webhooks": [{"url": HOOK, "events": ["x"]}]}
    )
    assert bad_hook.status_code == 400


def test_a_failing_receiver_is_tried_three_times(make_client) -> None:
    from local.sandboxes.app import create_app

    def refuse(url: str, body: bytes, headers: dict[str, str]) -> None:
        raise ConnectionError("receiver down")

    app = create_app(time_factor=1.0, webhook_sender=refuse)
    with make_client(app, "/_sandbox/servicetrade") as control:
        control.post("/seed", json=WORLD).raise_for_status()
        control.post("/seed", json={"webhooks": [{"url": HOOK}]}).raise_for_status()
        control.post("/seed", json={"appointments": [appointment(1)]}).raise_for_status()
        deliveries = control.get("/webhook-deliveries").json()["deliveries"]
    assert [(d["status"], d["attempts"]) for d in deliveries] == [("failed", 3)]
