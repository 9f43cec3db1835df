"""Management API through the API function's handler, on moto (DESIGN.md §3, foundation issue)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3

from tests.integration.conftest import FLEETIO_KEYCAFE_CREDENTIALS, Api


def _data_items() -> list[dict[str, Any]]:
    return boto3.resource("dynamodb", region_name="us-east-1").Table("DataTable").scan()["Items"]


def _secret_count() -> int:
    return len(boto3.client("secretsmanager", region_name="us-east-1").list_secrets()["SecretList"])


def _no_trace(body: Any) -> None:
    text = str(body)
    assert "Traceback" not in text and 'File "' not in text


# ---------------------------------------------------------------- bad input: nothing written
def test_missing_or_invalid_api_key_is_401_and_writes_nothing(api: Api) -> None:
    before = (_data_items(), _secret_count())
    for key in (None, "fbk_wrong", "not-even-prefixed"):
        status, body = api("POST", "/connections", {"flow": "fleetio-keycafe"}, api_key=key)
        assert status == 401 and body["error"]["code"] == "unauthorized"
    assert (_data_items(), _secret_count()) == before


def test_another_tenants_connection_is_404(
    make_connection: Callable[..., dict[str, Any]], other_api: Api
) -> None:
    connection = make_connection()
    for method, path in (
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/disable"),
        ("GET", "/activity"),
        ("GET", "/dead-letters"),
    ):
        status, body = other_api(
            method, f"/connections/{connection['id']}{path}", {} if method == "PATCH" else None
        )
        assert status == 404, (method, path, body)
    assert len(other_api("GET", "/connections")[1]["items"]) == 0


def test_malformed_json_is_400(api: Api) -> None:
    before = _data_items()
    status, body = api("POST", "/connections", raw=b'{"flow": "fleetio-keycafe",')
    assert status == 400 and body["error"]["code"] == "malformed_json"
    assert _data_items() == before


def test_schema_violation_is_422_naming_the_field(api: Api) -> None:
    before = (_data_items(), _secret_count())
    status, body = api("POST", "/connections", {"flow": "fleetio-keycafe", "name": "x"})
    assert status == 422 and body["error"]["field"] == "credentials"
    status, body = api(
        "POST",
        "/connections",
        {
            "flow": "fleetio-keycafe",
            "name": "x",
            "credentials": FLEETIO_KEYCAFE_CREDENTIALS,
            "settings": {"time_zone": "Mars/Olympus"},
        },
    )
    assert status == 422 and body["error"]["field"] == "settings.time_zone"
    status, body = api(
        "POST",
        "/connections",
        {
            "flow": "fleetio-keycafe",
            "name": "x",
            "credentials": {**FLEETIO_KEYCAFE_CREDENTIALS, "keycafe_token": ""},
        },
    )
    assert status == 422 and body["error"]["field"] == "credentials.keycafe_token"
    status, body = api("POST", "/connections", {"flow": "nope", "name": "x", "credentials": {}})
    assert status == 422 and body["error"]["field"] == "flow"
    assert (_data_items(), _secret_count()) == before


def test_body_over_1_mb_is_413(api: Api) -> None:
    before = _data_items()
    status, body = api("POST", "/connections", raw=b"{" + b" " * (1024 * 1024) + b"}")
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    assert _data_items() == before


def test_unknown_route_is_404(api: Api) -> None:
    status, body = api("GET", "/no/such/thing")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_unexpected_error_is_a_generic_500_without_trace(api: Api, monkeypatch: Any) -> None:
    from fleetbridge.core import connection_service

    def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("secret-ish internal detail")

    monkeypatch.setattr(connection_service, "list_connections", boom)
    status, body = api("GET", "/connections")
    assert status == 500 and body["error"]["code"] == "internal"
    assert "secret-ish" not in str(body)
    _no_trace(body)


# ---------------------------------------------------------------- connections
def test_create_connection_masks_credentials_and_stores_them_in_secrets_manager(
    api: Api, tenant: tuple[str, str], sandbox: Any
) -> None:
    status, body = api(
        "POST",
        "/connections",
        {
            "flow": "fleetio-keycafe",
            "name": "Depot North",
            "credentials": FLEETIO_KEYCAFE_CREDENTIALS,
            "settings": {"time_zone": "Europe/Paris"},
        },
    )
    assert status == 201
    assert body["credentials"]["keycafe_token"] == "sa****************ken"
    for value in FLEETIO_KEYCAFE_CREDENTIALS.values():
        assert value not in str(body)
    assert body["settings"]["time_zone"] == "Europe/Paris"
    assert body["settings"]["default_booking_hours"] == 24  # defaults filled in
    assert body["webhook_urls"]["fleetio"].endswith(f"/hooks/fleetio/{body['id']}")
    secrets = boto3.client("secretsmanager", region_name="us-east-1").list_secrets()["SecretList"]
    assert [s["Name"] for s in secrets] == [f"fleetbridge/{tenant[0]}/{body['id']}"]
    stored = [i for i in _data_items() if i["sk"] == "CONNECTION"]
    assert len(stored) == 1 and "keycafe_token" not in str(stored)


def test_list_get_patch_enable_disable_delete(
    api: Api, make_connection: Callable[..., dict[str, Any]], sandbox: Any
) -> None:
    connection = make_connection()
    cid = connection["id"]
    rotate_keycafe_token(sandbox, "rotated-token-123")
    assert [c["id"] for c in api("GET", "/connections")[1]["items"]] == [cid]
    assert api("GET", f"/connections/{cid}")[1]["name"] == "Depot North"

    status, patched = api(
        "PATCH",
        f"/connections/{cid}",
        {
            "name": "Depot South",
            "settings": {"default_booking_hours": 8},
            "credentials": {"keycafe_token": "rotated-token-123"},
            "version": 1,
        },
    )
    assert status == 200
    assert patched["name"] == "Depot South" and patched["version"] == 2
    assert patched["settings"]["default_booking_hours"] == 8
    assert patched["settings"]["admin_emails"] == ["fleet-admin@example.com"]  # merged
    assert patched["credentials"]["keycafe_token"] == "ro************123"
    assert patched["credentials"]["fleetio_api_key"].startswith("sa")  # others kept

    status, body = api("PATCH", f"/connections/{cid}", {"name": "x", "version": 1})
    assert status == 409 and body["error"]["field"] == "version"

    assert api("POST", f"/connections/{cid}/disable")[1]["enabled"] is False
    assert api("POST", f"/connections/{cid}/enable")[1]["enabled"] is True

    assert api("DELETE", f"/connections/{cid}")[0] == 204
    assert api("GET", f"/connections/{cid}")[0] == 404
    assert _secret_count() == 0 or all(
        "DeletedDate" in s
        for s in boto3.client("secretsmanager", region_name="us-east-1").list_secrets(
            IncludePlannedDeletion=True
        )["SecretList"]
    )


def test_test_endpoint_reports_each_vendor(
    api: Api, make_connection: Callable[..., dict[str, Any]], sandbox: Any
) -> None:
    connection = make_connection()
    status, body = api("POST", f"/connections/{connection['id']}/test")
    assert status == 200 and body["ok"] is True
    assert [(v["vendor"], v["ok"]) for v in body["vendors"]] == [
        ("fleetio", True),
        ("keycafe", True),
    ]

    rotate_keycafe_token(sandbox, "rotated-token-123")  # our stored token no longer works
    status, body = api("POST", f"/connections/{connection['id']}/test")
    assert body["ok"] is False
    keycafe = next(v for v in body["vendors"] if v["vendor"] == "keycafe")
    assert keycafe["ok"] is False and "401" in keycafe["error"]
    assert "sandbox-keycafe-token" not in str(body)


def rotate_keycafe_token(sandbox: Any, token: str) -> None:
    """The Keycafe account's API token changes (Settings → API) to `token`."""
    sandbox.post(
        "/_sandbox/keycafe/seed",
        json={"credentials": {"email": "ops@sandbox.example", "token": token}},
    ).raise_for_status()


def test_fleetio_keycafe_credentials_are_checked_on_save(
    api: Api, make_connection: Callable[..., dict[str, Any]], sandbox: Any
) -> None:
    """Issue 15 item 11: like every flow, bad credentials are refused on create and on a
    credential change (422 naming the vendor), and nothing is stored."""

    def connections() -> list[dict[str, Any]]:
        return [i for i in _data_items() if not str(i["pk"]).startswith("RATE#")]

    before = (connections(), _secret_count())
    status, body = api(
        "POST",
        "/connections",
        {
            "flow": "fleetio-keycafe",
            "name": "x",
            "credentials": {**FLEETIO_KEYCAFE_CREDENTIALS, "keycafe_token": "wrong-token-x"},
        },
    )
    assert status == 422 and body["error"]["field"] == "credentials.keycafe", body
    assert "wrong-token-x" not in str(body)
    assert (connections(), _secret_count()) == before

    connection = make_connection()
    status, body = api(
        "PATCH",
        f"/connections/{connection['id']}",
        {"credentials": {"fleetio_api_key": "wrong-fleetio-key"}},
    )
    assert status == 422 and body["error"]["field"] == "credentials.fleetio", body
    status, body = api("POST", f"/connections/{connection['id']}/test")
    assert body["ok"] is True  # the working credentials were kept


# ---------------------------------------------------------------- activity, dead letters, sync
def test_activity_lists_newest_first_with_filters_and_paging(
    api: Api, make_connection: Callable[..., dict[str, Any]]
) -> None:
    from fleetbridge.core.activity import ActivityLog
    from fleetbridge.core.connections import ConnectionRepository

    connection = ConnectionRepository().get(make_connection()["id"])
    log = ActivityLog()
    for index in range(5):
        log.record(
            connection,
            action="created" if index % 2 else "skipped",
            entity=f"assignment {index}",
            source_event="test",
            reason=f"r{index}",
        )
    path = f"/connections/{connection.id}/activity"
    status, page = api("GET", path, query={"limit": "2"})
    assert status == 200
    assert [i["entity"] for i in page["items"]] == ["assignment 4", "assignment 3"]
    _, page2 = api("GET", path, query={"limit": "2", "cursor": page["next_cursor"]})
    assert [i["entity"] for i in page2["items"]] == ["assignment 2", "assignment 1"]
    _, created = api("GET", path, query={"action": "created"})
    assert {i["entity"] for i in created["items"]} == {"assignment 1", "assignment 3"}
    _, one = api("GET", path, query={"entity": "assignment 0"})
    assert [i["reason"] for i in one["items"]] == ["r0"]
    status, body = api("GET", path, query={"action": "exploded"})
    assert status == 422 and body["error"]["field"] == "action"


def test_dead_letters_are_listed_per_connection_and_replayed(
    api: Api, make_connection: Callable[..., dict[str, Any]], aws: dict[str, Any]
) -> None:
    from fleetbridge.core.queue import WorkMessage

    sqs = boto3.client("sqs", region_name="us-east-1")
    mine, theirs = make_connection()["id"], "con_someone_else"
    for connection_id in (mine, mine, theirs):
        sqs.send_message(
            QueueUrl=aws["queues"]["FleetioKeycafeDeadLetterQueue"],
            MessageBody=WorkMessage(
                flow="fleetio-keycafe", connection_id=connection_id, kind="webhook", event_id="e1"
            ).model_dump_json(),
        )
    status, letters = api("GET", f"/connections/{mine}/dead-letters")
    assert status == 200 and len(letters["items"]) == 2
    status, replayed = api("POST", f"/connections/{mine}/dead-letters/replay")
    assert status == 200 and len(replayed["replayed"]) == 2
    assert api("GET", f"/connections/{mine}/dead-letters")[1]["items"] == []
    moved = sqs.receive_message(
        QueueUrl=aws["queues"]["FleetioKeycafeQueue"], MaxNumberOfMessages=10
    )["Messages"]
    assert len(moved) == 2 and all('"kind":"replay"' in m["Body"] for m in moved)
    remaining = sqs.receive_message(
        QueueUrl=aws["queues"]["FleetioKeycafeDeadLetterQueue"], MaxNumberOfMessages=10
    )["Messages"]
    assert len(remaining) == 1 and theirs in remaining[0]["Body"]


def test_sync_dry_run_returns_plan_and_real_sync_is_queued(
    api: Api, make_connection: Callable[..., dict[str, Any]], sandbox: Any, aws: dict[str, Any]
) -> None:
    cid = make_connection()["id"]
    status, body = api("POST", f"/connections/{cid}/sync", query={"dry_run": "true"})
    assert status == 200 and body["plan"]["dry_run"] is True and body["plan"]["items"] == []
    status, body = api("POST", f"/connections/{cid}/sync", query={"dry_run": "false"})
    assert status == 202 and body["queued"] is True, body


def test_openapi_and_docs_are_public(api: Api) -> None:
    status, schema = api("GET", "/openapi.json", api_key=None)
    assert status == 200 and schema["openapi"].startswith("3.1")
    assert "/connections" in schema["paths"]
    assert "/connections/{connection_id}/vehicles/{vehicle_id}/link" in schema["paths"]
    status, html = api("GET", "/docs", api_key=None)
    assert status == 200 and "swagger" in str(html).lower()
