"""Onfleet sandbox: auth, tasks, workers, teams, containers, webhooks, rate limit, faults."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time

import httpx
import pytest

ADDRESS = {"destination": {"address": {"unparsed": "1 Market St, San Francisco, CA"}}}


@pytest.fixture
def team(onfleet: httpx.Client) -> dict:
    """One team."""
    return onfleet.post("/teams", json={"name": "North"}).json()


@pytest.fixture
def worker(onfleet: httpx.Client, team: dict) -> dict:
    """One worker in ``team``."""
    body = {"name": "Ada", "phone": "(415) 555-0100", "teams": [team["id"]]}
    return onfleet.post("/workers", json=body).json()


def assert_onfleet_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert set(body["message"]) == {"error", "message", "cause", "request"}
    assert isinstance(body["message"]["error"], int)
    return body


# ----- auth ---------------------------------------------------------------------------------------
def test_auth_accepts_key_with_and_without_colon(onfleet: httpx.Client) -> None:
    assert onfleet.get("/auth/test").status_code == 200
    bare = base64.b64encode(b"sandbox-onfleet-key").decode()
    response = onfleet.get("/auth/test", auth=None, headers={"Authorization": f"Basic {bare}"})
    assert response.status_code == 200
    assert "successfully authenticated" in response.json()["message"]


@pytest.mark.parametrize("auth", [("wrong-key", ""), None])
def test_wrong_or_missing_key_is_401_invalid_credentials(app, make_client, auth) -> None:
    with make_client(app, "/onfleet/api/v2", auth=auth) as anonymous:
        response = anonymous.get("/auth/test")
    body = assert_onfleet_error(response, 401, "InvalidCredentials")
    assert body["message"]["error"] == 1102
    assert response.headers["X-RateLimit-Limit"] == "20"


def test_seeded_credentials_replace_the_default(onfleet: httpx.Client, control) -> None:
    control.post("/onfleet/seed", json={"credentials": {"api_keys": ["k2"]}})
    assert onfleet.get("/auth/test").status_code == 401
    assert onfleet.get("/auth/test", auth=("k2", "")).status_code == 200


# ----- tasks --------------------------------------------------------------------------------------
def test_create_task_fills_onfleet_fields(onfleet: httpx.Client) -> None:
    task = onfleet.post("/tasks", json=ADDRESS | {"notes": "gate 4"}).json()
    assert len(task["id"]) == 24
    assert re.fullmatch(r"[0-9a-f]{8}", task["shortId"])
    assert task["trackingURL"] == f"https://onf.lt/{task['shortId']}"
    assert task["state"] == 0 and task["worker"] is None
    assert task["container"]["type"] == "ORGANIZATION"
    assert len(task["destination"]["location"]) == 2
    assert onfleet.get(f"/tasks/{task['id']}").json()["notes"] == "gate 4"
    assert onfleet.get(f"/tasks/shortId/{task['shortId']}").json()["id"] == task["id"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"destination": {"address": {"street": "Market St", "number": "1"}}},
        {"destination": {"location": [200, 10]}},
        ADDRESS | {"container": {"type": "WORKER", "worker": "nope"}},
        ADDRESS | {"completeAfter": 2000, "completeBefore": 1000},
    ],
)
def test_invalid_task_is_400_invalid_argument(onfleet: httpx.Client, body: dict) -> None:
    assert_onfleet_error(onfleet.post("/tasks", json=body), 400, "InvalidArgument")


def test_task_in_worker_container_is_assigned(onfleet: httpx.Client, worker: dict) -> None:
    body = {"destination": {"location": [-122.4, 37.78]}}
    body["container"] = {"type": "WORKER", "worker": worker["id"]}
    task = onfleet.post("/tasks", json=body).json()
    assert task["state"] == 1 and task["worker"] == worker["id"]
    assert onfleet.get(f"/workers/{worker['id']}").json()["tasks"] == [task["id"]]


def test_update_delete_and_complete(onfleet: httpx.Client, worker: dict) -> None:
    task = onfleet.post("/tasks", json=ADDRESS).json()
    updated = onfleet.put(f"/tasks/{task['id']}", json={"notes": "new", "quantity": 2}).json()
    assert (updated["notes"], updated["quantity"]) == ("new", 2)
    assert updated["shortId"] == task["shortId"]

    container = {"type": "WORKER", "worker": worker["id"]}
    assert onfleet.put(f"/tasks/{task['id']}", json={"container": container}).json()["state"] == 1
    response = onfleet.post(
        f"/tasks/{task['id']}/complete", json={"completionDetails": {"success": True}}
    )
    assert response.status_code == 200
    done = onfleet.get(f"/tasks/{task['id']}").json()
    assert done["state"] == 3 and done["completionDetails"]["success"] is True
    assert onfleet.get(f"/workers/{worker['id']}").json()["tasks"] == []

    assert_onfleet_error(
        onfleet.put(f"/tasks/{task['id']}", json={"notes": "x"}), 400, "InvalidArgument"
    )
    assert_onfleet_error(onfleet.delete(f"/tasks/{task['id']}"), 400, "InvalidArgument")

    other = onfleet.post("/tasks", json=ADDRESS).json()
    assert onfleet.delete(f"/tasks/{other['id']}").status_code == 200
    assert_onfleet_error(onfleet.get(f"/tasks/{other['id']}"), 404, "ResourceNotFound")


def test_active_task_allows_only_some_fields(onfleet: httpx.Client, control, worker) -> None:
    seeded = control.post(
        "/onfleet/seed", json={"tasks": [ADDRESS | {"worker": worker["id"], "state": 2}]}
    ).json()["tasks"][0]
    assert onfleet.get(f"/workers/{worker['id']}").json()["activeTask"] == seeded["id"]
    assert onfleet.put(f"/tasks/{seeded['id']}", json={"notes": "ok"}).status_code == 200
    response = onfleet.put(f"/tasks/{seeded['id']}", json=ADDRESS)
    assert_onfleet_error(response, 400, "InvalidArgument")


def test_list_all_tasks_pages_by_64_with_last_id(onfleet: httpx.Client, control) -> None:
    tasks = [ADDRESS | {"timeCreated": 1_000 + i} for i in range(130)]
    control.post("/onfleet/seed", json={"tasks": tasks})
    seen, pages, params = [], [], {"from": 0}
    while True:
        page = onfleet.get("/tasks/all", params=params).json()
        pages.append(len(page["tasks"]))
        seen += [t["id"] for t in page["tasks"]]
        if "lastId" not in page:
            break
        params["lastId"] = page["lastId"]
    assert pages == [64, 64, 2]
    assert len(set(seen)) == 130
    later = onfleet.get("/tasks/all", params={"from": 1_100}).json()["tasks"]
    assert len(later) == 30


def test_list_all_tasks_needs_from_and_filters_state(onfleet: httpx.Client, worker) -> None:
    assert_onfleet_error(onfleet.get("/tasks/all"), 400, "InvalidArgument")
    onfleet.post("/tasks", json=ADDRESS)
    assigned = ADDRESS | {"container": {"type": "WORKER", "worker": worker["id"]}}
    onfleet.post("/tasks", json=assigned)
    assert len(onfleet.get("/tasks/all", params={"from": 0, "state": "1"}).json()["tasks"]) == 1
    assert len(onfleet.get("/tasks/all", params={"from": 0, "state": "0,1"}).json()["tasks"]) == 2


def test_batch_creates_valid_tasks_and_reports_errors(onfleet: httpx.Client) -> None:
    body = onfleet.post("/tasks/batch", json={"tasks": [ADDRESS, {}, ADDRESS]}).json()
    assert len(body["tasks"]) == 2
    assert [e["index"] for e in body["errors"]] == [1]


# ----- workers, teams, containers -----------------------------------------------------------------
def test_worker_phone_is_e164_and_unique(onfleet: httpx.Client, worker: dict, team) -> None:
    assert worker["phone"] == "+14155550100"
    assert onfleet.get(f"/teams/{team['id']}").json()["workers"] == [worker["id"]]
    duplicate = {"name": "Bob", "phone": "+1 415 555 0100", "teams": [team["id"]]}
    body = assert_onfleet_error(onfleet.post("/workers", json=duplicate), 409, "Conflict")
    assert "+14155550100" in body["message"]["message"]
    missing = onfleet.post("/workers", json={"name": "Bob", "phone": "4155550101"})
    assert_onfleet_error(missing, 400, "InvalidArgument")


def test_list_workers_filters(onfleet: httpx.Client, worker: dict, team: dict) -> None:
    other = onfleet.post("/teams", json={"name": "South"}).json()
    body = {"name": "Bob", "phone": "4155550199", "teams": [other["id"]]}
    onfleet.post("/workers", json=body)
    everyone = onfleet.get("/workers").json()
    assert isinstance(everyone, list) and len(everyone) == 2
    assert [w["name"] for w in onfleet.get("/workers", params={"teams": team["id"]}).json()] == [
        "Ada"
    ]
    by_phone = onfleet.get("/workers", params={"phones": "+14155550199"}).json()
    assert [w["name"] for w in by_phone] == ["Bob"]
    onfleet.put(f"/workers/{worker['id']}", json={"onDuty": True})
    assert [w["name"] for w in onfleet.get("/workers", params={"states": "1"}).json()] == ["Ada"]
    assert onfleet.get("/workers", params={"filter": "name"}).json()[0] == {"name": "Ada"}


def test_delete_worker_unassigns_its_tasks(onfleet: httpx.Client, worker: dict, team) -> None:
    body = ADDRESS | {"container": {"type": "WORKER", "worker": worker["id"]}}
    task = onfleet.post("/tasks", json=body).json()
    assert onfleet.delete(f"/workers/{worker['id']}").status_code == 200
    assert onfleet.get(f"/tasks/{task['id']}").json()["state"] == 0
    assert onfleet.get(f"/teams/{team['id']}").json()["workers"] == []
    assert_onfleet_error(onfleet.get(f"/workers/{worker['id']}"), 404, "ResourceNotFound")


def test_team_names_are_unique(onfleet: httpx.Client, team: dict) -> None:
    assert_onfleet_error(onfleet.post("/teams", json={"name": "north"}), 409, "Conflict")
    renamed = onfleet.put(f"/teams/{team['id']}", json={"name": "Central"}).json()
    assert renamed["name"] == "Central"
    assert len(onfleet.get("/teams").json()) == 1
    assert onfleet.delete(f"/teams/{team['id']}").status_code == 200
    assert onfleet.get("/teams").json() == []


def test_worker_container_replace_and_insert(onfleet: httpx.Client, worker: dict) -> None:
    ids = [onfleet.post("/tasks", json=ADDRESS).json()["id"] for _ in range(4)]
    path = f"/containers/workers/{worker['id']}"
    assert onfleet.put(path, json={"tasks": ids[:2]}).json()["tasks"] == ids[:2]
    assert onfleet.put(path, json={"tasks": [-1, ids[2]]}).json()["tasks"] == ids[:3]
    assert onfleet.put(path, json={"tasks": [0, ids[3]]}).json()["tasks"] == [ids[3], *ids[:3]]
    assert onfleet.get(f"/tasks/{ids[3]}").json()["worker"] == worker["id"]
    assert onfleet.put(path, json={"tasks": [ids[1]]}).json()["tasks"] == [ids[1]]
    assert onfleet.get(f"/tasks/{ids[0]}").json()["state"] == 0
    assert onfleet.get(path).json()["tasks"] == [ids[1]]
    assert_onfleet_error(onfleet.put(path, json={"tasks": ["nope"]}), 400, "InvalidArgument")


# ----- webhooks -----------------------------------------------------------------------------------
def test_webhook_registration_validates_the_url(onfleet: httpx.Client, checked_urls) -> None:
    hook = onfleet.post("/webhooks", json={"url": "http://hooks/ok", "trigger": 6}).json()
    assert hook["trigger"] == 6 and hook["isEnabled"] is True
    assert checked_urls[0][0] == "http://hooks/ok" and checked_urls[0][1]
    rejected = onfleet.post("/webhooks", json={"url": "http://hooks/reject", "trigger": 6})
    assert_onfleet_error(rejected, 400, "InvalidArgument")
    assert [h["id"] for h in onfleet.get("/webhooks").json()] == [hook["id"]]
    assert onfleet.delete(f"/webhooks/{hook['id']}").status_code == 200
    assert onfleet.get("/webhooks").json() == []


def test_task_changes_send_signed_webhooks(onfleet: httpx.Client, control, sent, worker) -> None:
    for trigger in (6, 7, 8, 9, 3):
        onfleet.post("/webhooks", json={"url": f"http://hooks/{trigger}", "trigger": trigger})
    secret = control.get("/onfleet/state").json()["credentials"]["webhook_secret"]
    body = ADDRESS | {"container": {"type": "WORKER", "worker": worker["id"]}}
    task = onfleet.post("/tasks", json=body).json()
    onfleet.put(f"/tasks/{task['id']}", json={"notes": "n"})
    onfleet.post(f"/tasks/{task['id']}/complete", json={"completionDetails": {"success": True}})

    assert [s.json["triggerName"] for s in sent] == [
        "taskCreated",
        "taskAssigned",
        "taskUpdated",
        "taskCompleted",
    ]
    first = sent[0]
    expected = hmac.new(bytes.fromhex(secret), first.body, hashlib.sha512).hexdigest()
    assert first.headers["X-Onfleet-Signature"] == expected
    assert first.url == "http://hooks/6"
    payload = first.json
    assert payload["triggerId"] == 6 and payload["taskId"] == task["id"]
    assert payload["workerId"] == worker["id"] and payload["data"]["task"]["id"] == task["id"]
    assert {"actionContext", "adminId", "time"} <= set(payload)
    deliveries = control.get("/onfleet/webhook-deliveries").json()["deliveries"]
    assert [d["status"] for d in deliveries] == ["delivered"] * 4


def test_worker_webhooks_and_seeded_secret(onfleet: httpx.Client, control, sent, team) -> None:
    control.post(
        "/onfleet/seed",
        json={
            "credentials": {"api_keys": ["sandbox-onfleet-key"], "webhook_secret": "ab" * 16},
            "webhooks": [{"url": "http://hooks/w", "events": ["workerCreated", 16]}],
        },
    )
    created = onfleet.post(
        "/workers", json={"name": "C", "phone": "4155550123", "teams": [team["id"]]}
    )
    onfleet.delete(f"/workers/{created.json()['id']}")
    assert [(s.json["triggerId"], s.json["workerId"]) for s in sent] == [
        (15, created.json()["id"]),
        (16, created.json()["id"]),
    ]
    key = bytes.fromhex("ab" * 16)
    assert (
        sent[0].headers["X-Onfleet-Signature"] == hmac.new(key, sent[0].body, "sha512").hexdigest()
    )
    assert control.get("/onfleet/state").json()["webhooks"][0]["secret"] == "ab" * 16


def test_seeding_does_not_fire_webhooks(onfleet: httpx.Client, control, sent) -> None:
    control.post("/onfleet/seed", json={"webhooks": [{"url": "http://h", "trigger": 6}]})
    control.post("/onfleet/seed", json={"tasks": [ADDRESS]})
    assert sent == []


# ----- rate limit and faults ----------------------------------------------------------------------
def test_rate_limit_is_20_per_second_without_retry_after(onfleet: httpx.Client, control) -> None:
    statuses = [onfleet.get("/auth/test") for _ in range(21)]
    assert [r.status_code for r in statuses[:20]] == [200] * 20
    assert statuses[0].headers["X-RateLimit-Remaining"] == "19"
    limited = statuses[20]
    assert_onfleet_error(limited, 429, "TooManyRequests")
    assert limited.headers["X-RateLimit-Limit"] == "20"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in limited.headers
    assert control.get("/onfleet/state").status_code == 200  # control is never limited


def test_rate_limit_window_recovers(onfleet: httpx.Client, control) -> None:
    control.post("/onfleet/rate-limit", json={"limit": 2, "window_seconds": 0.2})
    assert [onfleet.get("/auth/test").status_code for _ in range(3)] == [200, 200, 429]
    time.sleep(0.25)
    assert onfleet.get("/auth/test").status_code == 200


def test_faults_answer_in_onfleet_shape(onfleet: httpx.Client, control) -> None:
    control.post("/onfleet/faults", json={"status_429": 1.0})
    limited = onfleet.get("/auth/test")
    assert_onfleet_error(limited, 429, "TooManyRequests")
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    control.post("/onfleet/faults", json={"status_5xx": 1.0})
    assert onfleet.get("/auth/test").status_code == 503
    control.post("/onfleet/faults", json={})
    assert onfleet.get("/auth/test").status_code == 200


def test_seeded_webhook_may_carry_its_own_secret(onfleet: httpx.Client, control, sent) -> None:
    hook = {"url": "http://h", "events": ["taskCreated"], "secret": "cd" * 16}
    control.post("/onfleet/seed", json={"webhooks": [hook]})
    onfleet.post("/tasks", json=ADDRESS)
    expected = hmac.new(bytes.fromhex("cd" * 16), sent[0].body, hashlib.sha512).hexdigest()
    assert sent[0].headers["X-Onfleet-Signature"] == expected
    bad = control.post("/onfleet/seed", json={"webhooks": [hook | {"secret": "not hex"}]})
    assert bad.status_code == 400


def test_seeded_links_between_teams_workers_and_tasks(onfleet: httpx.Client, control) -> None:
    team_id, worker_id = "t" * 24, "w" * 24
    control.post(
        "/onfleet/seed",
        json={
            "teams": [{"id": team_id, "name": "A", "workers": [worker_id]}],
            "workers": [{"id": worker_id, "name": "W", "phone": "415 555 0111"}],
            "tasks": [ADDRESS | {"container": {"type": "WORKER", "worker": worker_id}}],
        },
    )
    worker = onfleet.get(f"/workers/{worker_id}").json()
    assert worker["teams"] == [team_id] and worker["phone"] == "+14155550111"
    assert onfleet.get(f"/teams/{team_id}").json()["workers"] == [worker_id]
    task_id = worker["tasks"][0]
    assert onfleet.get(f"/tasks/{task_id}").json()["state"] == 1
