"""Fleetio sandbox: auth, cursor and page paging, assignments, webhooks, rate limit, faults."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import httpx
import pytest

VEHICLES = [{"name": f"Van {i:03d}" if i % 2 else f"Truck {i:03d}"} for i in range(120)]
CONTACTS = [
    {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
    {"first_name": "Bob", "last_name": "Byte", "email": "bob@example.com"},
]


@pytest.fixture
def seeded(control: httpx.Client) -> dict:
    """120 vehicles and 2 contacts."""
    return control.post("/fleetio/seed", json={"vehicles": VEHICLES, "contacts": CONTACTS}).json()


def iso(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def new_assignment(fleetio: httpx.Client, seeded: dict, **extra) -> dict:
    body = {
        "vehicle_id": seeded["vehicles"][0]["id"],
        "contact_id": seeded["contacts"][0]["id"],
        "started_at": iso(-timedelta(hours=1)),
    } | extra
    response = fleetio.post("/v1/vehicle_assignments", json=body)
    assert response.status_code == 201, response.text
    return response.json()


# ----- auth ---------------------------------------------------------------------------------------
def test_auth_needs_token_and_account_token(fleetio: httpx.Client, seeded) -> None:
    assert fleetio.get("/v1/vehicles").status_code == 200
    wrong = fleetio.get("/v1/vehicles", headers={"Authorization": "Token nope"})
    assert wrong.status_code == 401 and set(wrong.json()) == {"error"}
    no_account = fleetio.get("/v1/vehicles", headers={"Account-Token": ""})
    assert no_account.status_code == 401


# ----- paging -------------------------------------------------------------------------------------
def test_cursor_paging_walks_every_record(fleetio: httpx.Client, seeded) -> None:
    ids, sizes, params = [], [], {"per_page": 50}
    while True:
        page = fleetio.get("/v1/vehicles", params=params).json()
        assert set(page) >= {"start_cursor", "next_cursor", "per_page", "records"}
        assert page["filtered_by"] == [] and isinstance(page["sorted_by"], list)
        sizes.append(len(page["records"]))
        ids += [r["id"] for r in page["records"]]
        assert page["estimated_remaining_count"] == 120 - len(ids)
        if page["next_cursor"] is None:
            break
        params["start_cursor"] = page["next_cursor"]
    assert sizes == [50, 50, 20]
    assert ids == sorted(ids) and len(set(ids)) == 120
    assert all(isinstance(i, int) for i in ids)


@pytest.mark.parametrize("params", [{"per_page": 1}, {"per_page": 101}, {"start_cursor": "%%"}])
def test_bad_paging_arguments_are_422(fleetio: httpx.Client, seeded, params) -> None:
    response = fleetio.get("/v1/vehicles", params=params)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert len(errors) == 1 and all(isinstance(m, str) for m in next(iter(errors.values())))


def test_old_api_versions_page_with_headers(fleetio: httpx.Client, seeded) -> None:
    headers = {"X-Api-Version": "2023-06-01"}
    seen, page = [], 1
    while True:
        response = fleetio.get(
            "/v1/vehicles", params={"page": page, "per_page": 50}, headers=headers
        )
        assert isinstance(response.json(), list)
        assert response.headers["X-Pagination-Total-Count"] == "120"
        assert response.headers["X-Pagination-Total-Pages"] == "3"
        assert response.headers["X-Pagination-Per-Page"] == "50"
        assert response.headers["X-Pagination-Current-Page"] == str(page)
        seen += response.json()
        if page == int(response.headers["X-Pagination-Total-Pages"]):
            break
        page += 1
    assert len({v["id"] for v in seen}) == 120


def test_vehicle_name_like_filter_and_get(fleetio: httpx.Client, seeded) -> None:
    page = fleetio.get("/v1/vehicles", params={"filter[name][like]": "van 00", "per_page": 100})
    names = [v["name"] for v in page.json()["records"]]
    assert names == ["Van 001", "Van 003", "Van 005", "Van 007", "Van 009"]
    assert page.json()["filtered_by"] == [{"name": {"like": "van 00"}}]
    vehicle = seeded["vehicles"][3]
    assert fleetio.get(f"/v1/vehicles/{vehicle['id']}").json()["name"] == vehicle["name"]
    missing = fleetio.get("/v1/vehicles/999999")
    assert missing.status_code == 404 and "error" in missing.json()


def test_contacts(fleetio: httpx.Client, seeded) -> None:
    contact = seeded["contacts"][0]
    assert contact["name"] == "Ada Lovelace"
    assert fleetio.get(f"/v2/contacts/{contact['id']}").json()["email"] == "ada@example.com"
    assert len(fleetio.get("/v2/contacts").json()["records"]) == 2


# ----- vehicle assignments ------------------------------------------------------------------------
def test_create_assignment_embeds_summaries(fleetio: httpx.Client, seeded) -> None:
    record = new_assignment(fleetio, seeded, comments="keys at desk")
    assert record["contact"] == {
        "id": seeded["contacts"][0]["id"],
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "mobile_phone_number": None,
    }
    assert record["vehicle"] == {"id": seeded["vehicles"][0]["id"], "name": "Truck 000"}
    assert record["current"] is True and record["future"] is False
    assert record["ended_at"] is None and record["custom_fields"] == {}
    assert record["created_at"].endswith("Z") and record["updated_at"] == record["created_at"]
    future = new_assignment(fleetio, seeded, started_at=iso(timedelta(days=1)))
    assert (future["current"], future["future"]) == (False, True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contact_id": 1}, "vehicle_id"),
        ({"vehicle_id": 424242, "contact_id": 1}, "vehicle_id"),
        ({"vehicle_id": 1, "contact_id": 1, "started_at": "soon"}, "started_at"),
        (
            {
                "vehicle_id": 1,
                "contact_id": 1,
                "started_at": "2024-05-02T00:00:00Z",
                "ended_at": "2024-05-01T00:00:00Z",
            },
            "ended_at",
        ),
    ],
)
def test_invalid_assignment_is_422(fleetio: httpx.Client, seeded, body, field) -> None:
    response = fleetio.post("/v1/vehicle_assignments", json=body)
    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_patch_merges_custom_fields_and_advances_updated_at(fleetio: httpx.Client, seeded) -> None:
    record = new_assignment(fleetio, seeded, custom_fields={"keycafe_access_code": "111"})
    path = f"/v1/vehicle_assignments/{record['id']}"
    stamps = [record["updated_at"]]
    for value in ("https://keycafe.com/c/x", "https://keycafe.com/c/y"):
        patched = fleetio.patch(path, json={"custom_fields": {"keycafe_access_link": value}})
        stamps.append(patched.json()["updated_at"])
    assert patched.json()["custom_fields"] == {
        "keycafe_access_code": "111",
        "keycafe_access_link": "https://keycafe.com/c/y",
    }
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    assert fleetio.get(path).json()["custom_fields"]["keycafe_access_code"] == "111"


def test_unassign_delete_and_filter(fleetio: httpx.Client, seeded) -> None:
    first = new_assignment(fleetio, seeded)
    other_vehicle = seeded["vehicles"][1]["id"]
    new_assignment(fleetio, seeded, vehicle_id=other_vehicle)
    listed = fleetio.get(
        "/v1/vehicle_assignments", params={"filter[vehicle_id][eq]": other_vehicle}
    )
    assert [r["vehicle_id"] for r in listed.json()["records"]] == [other_vehicle]

    path = f"/v1/vehicle_assignments/{first['id']}"
    ended = fleetio.patch(f"{path}/unassign").json()
    assert ended["ended_at"] is not None and ended["current"] is False
    assert fleetio.patch(f"{path}/unassign").status_code == 422
    assert fleetio.delete(path).status_code == 204
    assert fleetio.get(path).status_code == 404
    assert fleetio.delete(path).status_code == 404


# ----- webhooks -----------------------------------------------------------------------------------
def test_assignment_changes_send_signed_webhooks(fleetio: httpx.Client, control, seeded, sent):
    control.post(
        "/fleetio/seed", json={"webhooks": [{"url": "http://hooks/fleetio", "secret": "s3cret"}]}
    )
    record = new_assignment(fleetio, seeded)
    path = f"/v1/vehicle_assignments/{record['id']}"
    fleetio.patch(path, json={"comments": "c"})
    fleetio.patch(f"{path}/unassign")
    fleetio.delete(path)

    assert [s.json["event"] for s in sent] == [
        "vehicle_assignment_created",
        "vehicle_assignment_updated",
        "vehicle_assignment_updated",
        "vehicle_assignment_deleted",
    ]
    for delivery in sent:
        expected = hmac.new(b"s3cret", delivery.body, hashlib.sha256).hexdigest()
        assert delivery.headers["X-Fleetio-Webhook-Signature"] == expected
        assert delivery.json["payload"]["id"] == record["id"]
        assert {"id", "event", "timestamp", "triggered_by", "payload"} == set(delivery.json)
    assert len({s.json["id"] for s in sent}) == 4


def test_webhook_events_filter_and_redelivery(fleetio: httpx.Client, control, seeded, sent):
    hook = {"url": "http://h", "secret": "k", "events": ["vehicle_assignment_deleted"]}
    control.post("/fleetio/seed", json={"webhooks": [hook]})
    record = new_assignment(fleetio, seeded)
    assert sent == []
    fleetio.delete(f"/v1/vehicle_assignments/{record['id']}")
    delivery = control.get("/fleetio/webhook-deliveries").json()["deliveries"][0]
    again = control.post(f"/fleetio/webhook-deliveries/{delivery['id']}/redeliver").json()
    assert again["redelivery_of"] == delivery["id"]
    assert len(sent) == 2 and sent[0].body == sent[1].body and sent[0].headers == sent[1].headers
    assert control.post("/fleetio/webhook-deliveries/nope/redeliver").status_code == 404


# ----- rate limit and faults ----------------------------------------------------------------------
def test_rate_limit_answers_429_with_retry_after(make_app, make_client) -> None:
    app = make_app(time_factor=60)
    headers = {
        "Authorization": "Token sandbox-fleetio-key",
        "Account-Token": "sandbox-fleetio-account",
    }
    with (
        make_client(app, "/_sandbox") as control,
        make_client(app, "/fleetio/api", headers=headers) as c,
    ):
        limits = control.post("/fleetio/rate-limit", json={"limit": 3}).json()
        assert limits == {
            "limit": 3,
            "window_seconds": 300.0,
            "block_seconds": 0.0,
            "time_factor": 60,
        }
        statuses = [c.get("/v1/vehicles") for _ in range(4)]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429]
        assert 1 <= int(statuses[3].headers["Retry-After"]) <= 5  # 300 s / 60
        assert "error" in statuses[3].json()
        assert control.post("/fleetio/rate-limit", json={}).json()["limit"] == 3000


def test_5xx_fault_uses_fleetio_error_body(fleetio: httpx.Client, control) -> None:
    control.post("/fleetio/faults", json={"status_5xx": 1.0})
    response = fleetio.get("/v1/vehicles")
    assert response.status_code == 503 and set(response.json()) == {"error"}


def test_seeded_assignment_is_current_and_updates_advance(fleetio: httpx.Client, control, seeded):
    body = {"vehicle_assignments": [{"vehicle_id": 1, "contact_id": 1}]}
    record = control.post("/fleetio/seed", json=body).json()["vehicle_assignments"][0]
    assert (record["current"], record["future"]) == (True, False)
    assert record["vehicle"]["name"] == "Truck 000"
    patched = fleetio.patch(f"/v1/vehicle_assignments/{record['id']}", json={"comments": "x"})
    assert patched.json()["updated_at"] > record["updated_at"]


def test_assignments_filter_on_current_and_future(fleetio: httpx.Client, seeded) -> None:
    """Issue 15 item 12: the daily run lists only current and future assignments."""
    now = new_assignment(fleetio, seeded)
    later = new_assignment(fleetio, seeded, started_at=iso(timedelta(hours=5)))
    past = new_assignment(
        fleetio, seeded, started_at=iso(-timedelta(hours=9)), ended_at=iso(-timedelta(hours=8))
    )

    def ids(field: str) -> list[int]:
        page = fleetio.get("/v1/vehicle_assignments", params={f"filter[{field}][eq]": "true"})
        assert page.json()["filtered_by"] == [{field: {"eq": "true"}}]
        return [r["id"] for r in page.json()["records"]]

    assert ids("current") == [now["id"]] and ids("future") == [later["id"]]
    assert past["id"] not in ids("current") + ids("future")
