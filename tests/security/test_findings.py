"""One test per finding of the security review (issue #11), each failing on the code before it.

They drive the API and webhook handlers in-process (moto + sandboxes), as a reviewer over HTTP.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.security import CREDENTIALS, World, error_shape_problem


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _connection(world: World, flow: str = "fleetio-keycafe") -> dict[str, Any]:
    answer = world.api("GET", f"/connections/{world.ids[flow]}")
    assert answer.status == 200, answer.text
    return dict(answer.json())


# ------------------------------------------------------------------ 1. credentials sent anywhere
@pytest.mark.parametrize(
    "url",
    [
        "http://attacker.example/x",
        "http://127.0.0.1:5000",
        "file:///etc/passwd",
        "https://attacker.example/api",
        "https://secure.fleetio.com@attacker.example/api",
        "https://secure.fleetio.com.attacker.example/api",
        "https://secure.fleetio.com:8443/api",
        "//secure.fleetio.com/api",
    ],
)
def test_a_connection_cannot_point_a_vendor_client_elsewhere(world: World, url: str) -> None:
    connection = _connection(world)
    before = world.snapshot()
    body = {"settings": {"base_urls": {"fleetio": url}}, "version": connection["version"]}
    answer = world.api("PATCH", f"/connections/{connection['id']}", body=_json(body))
    assert answer.status == 422, answer.text
    assert answer.json()["error"]["field"] == "settings.base_urls.fleetio"
    assert world.snapshot() == before


def test_an_https_host_the_deployment_lists_may_be_chosen(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fleetbridge.core.config import get_settings

    monkeypatch.setenv("FLEETBRIDGE_VENDOR_HOSTS", '{"fleetio": ["eu.fleetio.example"]}')
    get_settings.cache_clear()
    try:
        connection = _connection(world)
        url = "https://eu.fleetio.example/api"
        body = {"settings": {"base_urls": {"fleetio": url}}, "version": connection["version"]}
        answer = world.api("PATCH", f"/connections/{connection['id']}", body=_json(body))
        assert answer.status == 200, answer.text
        assert answer.json()["settings"]["base_urls"] == {"fleetio": url}
        http = {"settings": {"base_urls": {"fleetio": "http://eu.fleetio.example/api"}}}
        refused = world.api("PATCH", f"/connections/{connection['id']}", body=_json(http))
        assert refused.status == 422 and refused.json()["error"]["field"].endswith("fleetio")
        # back to the deployment's own URL (the default needs no listing)
        back = {"settings": {"base_urls": {}}}
        restored = world.api("PATCH", f"/connections/{connection['id']}", body=_json(back))
        assert restored.status == 200, restored.text
    finally:
        monkeypatch.delenv("FLEETBRIDGE_VENDOR_HOSTS")
        get_settings.cache_clear()


def test_a_stored_url_no_longer_allowed_is_refused_before_credentials_are_sent() -> None:
    from fleetbridge.core.errors import InvalidInputError
    from fleetbridge.core.models import Connection
    from fleetbridge.vendors.base import base_url

    stored = Connection(
        id="con_1",
        tenant_id="ten_1",
        flow="fleetio-keycafe",
        name="n",
        settings={"base_urls": {"fleetio": "http://attacker.example"}},
        secret_arn="arn",
        created_at="x",
        updated_at="x",
    )
    with pytest.raises(InvalidInputError) as refused:
        base_url("fleetio", stored)
    assert refused.value.field == "settings.base_urls.fleetio"


# ------------------------------------------------------------------ 2. a refused update's secret
def test_only_the_winning_update_s_credentials_are_stored(world: World) -> None:
    from fleetbridge.core import connection_service
    from fleetbridge.core.aws import client
    from fleetbridge.core.connections import ConnectionRepository
    from fleetbridge.core.errors import ConflictError

    connection = _connection(world)
    version = connection["version"]

    def patch(n: int) -> tuple[int, str]:
        # The race is the service's (PATCH calls exactly this). Threads call it, not the API
        # handler: Lambda runs one request per environment, and the handler's resolver keeps
        # its request (event, route) on one shared object that threads would trample.
        secret = f"whsec-race-{n:02d}-{'x' * 12}"
        try:
            connection_service.update_connection(
                world.tenant_id,
                connection["id"],
                credentials={"fleetio_webhook_secret": secret},
                expected_version=version,
            )
        except ConflictError:
            return 409, secret
        return 200, secret

    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(patch, range(20)))
        statuses = sorted(status for status, _ in results)
        assert statuses == [200] + [409] * 19, statuses
        winner = next(secret for status, secret in results if status == 200)
        stored = ConnectionRepository().get(connection["id"])
        current = client("secretsmanager").get_secret_value(
            SecretId=stored.secret_arn, VersionStage="AWSCURRENT"
        )
        assert json.loads(current["SecretString"])["fleetio_webhook_secret"] == winner
        assert current["VersionId"] == stored.secret_version
        # and the webhook receiver now checks signatures with the winner's secret
        from fleetbridge.core.webhook_auth import sign_hmac_hex

        body = b'{"id": "d1", "event": "other", "payload": {"id": 1}, "timestamp": "t"}'
        signature = sign_hmac_hex(body, winner)
        answer = world.webhook(
            "fleetio", connection["id"], body, {"X-Fleetio-Webhook-Signature": signature}
        )
        assert answer.status == 200, answer.text
    finally:  # a failure here must not leave later webhook tests a foreign secret
        restore = {
            "credentials": {
                "fleetio_webhook_secret": CREDENTIALS["fleetio-keycafe"]["fleetio_webhook_secret"]
            }
        }
        restored = world.api("PATCH", f"/connections/{connection['id']}", body=_json(restore))
        assert restored.status == 200, restored.text


# ------------------------------------------------------------------ 3. malformed input, no 5xx
def _body_routes(world: World) -> list[tuple[str, str]]:
    from tests.support.security import openapi, real_path_parameters

    routes = []
    for path, item in openapi(world)["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "requestBody" in operation:
                real = real_path_parameters(world, path)
                routes.append((method.upper(), path.format(**real)))
    return routes


MALFORMED: dict[str, tuple[bytes, dict[str, str]]] = {
    "json as text/plain": (b'{"name": 1}', {"content-type": "text/plain"}),
    "100k nested arrays": (b"[" * 100_000 + b"]" * 100_000, {}),
    "5k nested objects": (b'{"a":' * 5_000 + b"1" + b"}" * 5_000, {}),
    "invalid utf-8": (b'{"name": "\xff\xfe"}', {}),
    "5000-digit integer": (b'{"version": ' + b"9" * 5_000 + b"}", {}),
    "lone surrogate": (b'{"name": "\\ud800", "description": "\\udfff"}', {}),
    "NaN": (b'{"version": NaN}', {}),
    "truncated": (b'{"name": "x', {}),
    "form encoded": (b"name=x&flow=y", {"content-type": "application/x-www-form-urlencoded"}),
}


def test_malformed_bodies_never_reach_a_5xx_and_write_nothing(world: World) -> None:
    routes = _body_routes(world)
    assert len(routes) >= 13, routes
    problems = []
    for method, path in routes:
        for label, (body, headers) in MALFORMED.items():
            before = world.snapshot()
            answer = world.api(method, path, body=body, headers=headers)
            found = world.problems(answer, before)
            if answer.status < 400:
                found.append(f"accepted ({answer.status})")
            if found:
                problems.append(f"{method} {path} [{label}]: {found}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("body", [b"null", b"[]", b"[1, 2]", b"42", b'"text"', b""])
def test_a_whole_body_error_names_the_body(world: World, body: bytes) -> None:
    answer = world.api("POST", "/connections", body=body or None)
    assert answer.status in (400, 422), answer.text
    assert error_shape_problem(answer) is None
    assert answer.json()["error"]["field"] == "body"


def test_a_lone_surrogate_in_a_profile_description_or_portal_user_is_422(world: World) -> None:
    profile = b'{"id": "surrogate", "name": "S", "description": "\\ud800", "configuration": {"api_key": "k"}}'
    answer = world.api("POST", "/v1/routing/profiles/integration/onfleet", body=profile)
    assert answer.status == 422 and answer.json()["error"]["field"] == "description"
    gps = world.ids["gpsinsight-driveri"]
    optin = b'{"enabled": true, "portal_user": "\\udfff"}'
    answer = world.api("POST", f"/connections/{gps}/driver-sync", body=optin)
    assert answer.status == 422 and answer.json()["error"]["field"] == "portal_user", answer.text


def test_a_bad_vehicles_cursor_is_400_naming_it(world: World) -> None:
    fleetio = world.ids["fleetio-keycafe"]
    answer = world.api("GET", f"/connections/{fleetio}/vehicles", query={"cursor": "zzz"})
    assert answer.status == 400, answer.text
    assert answer.json()["error"]["field"] == "cursor"


@pytest.mark.parametrize("cursor", ["zzz", "e30=", "eyJwayI6IDF9", "W10="])
def test_a_cursor_we_did_not_issue_is_400(world: World, cursor: str) -> None:
    fleetio = world.ids["fleetio-keycafe"]
    answer = world.api("GET", f"/connections/{fleetio}/activity", query={"cursor": cursor})
    assert answer.status == 400 and answer.json()["error"]["field"] == "cursor", answer.text


def test_oversize_fields_are_422_naming_them_and_limits_are_documented(world: World) -> None:
    fleetio = world.ids["fleetio-keycafe"]
    huge = {"credentials": {"fleetio_api_key": "k" * 200_000}}
    answer = world.api("PATCH", f"/connections/{fleetio}", body=_json(huge))
    assert answer.status == 422, answer.text
    assert answer.json()["error"]["field"].startswith("credentials.fleetio_api_key")
    settings = {"settings": {"admin_emails": ["a@example.com"] * 5_000}}
    answer = world.api("PATCH", f"/connections/{fleetio}", body=_json(settings))
    assert answer.status == 422 and answer.json()["error"]["field"].startswith("settings")
    from tests.support.security import openapi

    schemas = openapi(world)["components"]["schemas"]
    credentials = schemas["ConnectionPatch"]["properties"]["credentials"]["anyOf"][0]
    assert credentials["additionalProperties"]["maxLength"] == 4096
    assert credentials["maxProperties"] == 12
    assert schemas["IntegrationProfileIn"]["properties"]["description"]["anyOf"][0]["maxLength"]


# ------------------------------------------------------------------ webhooks
def _hook_cases(world: World) -> list[tuple[str, str, str]]:
    return [
        ("fleetio", world.ids["fleetio-keycafe"], "X-Fleetio-Webhook-Signature"),
        ("gpsinsight", world.ids["gpsinsight-driveri"], "X-GPSInsight-Signature"),
    ]


SIGNATURES = [
    "é" * 64,
    "\u2603",
    "sha256=" + "0" * 64,
    "0" * 64,
    "Z" * 10_000,
    "",
    " ",
    "\x00",
    "\ud800",
]


def test_webhook_signature_headers_of_every_shape_are_401(world: World) -> None:
    body = b'{"event": "x"}'
    problems = []
    for vendor, connection_id, header in _hook_cases(world):
        for signature in SIGNATURES:
            before = world.snapshot()
            answer = world.webhook(vendor, connection_id, body, {header: signature})
            found = world.problems(answer, before)
            if answer.status != 401:
                found.append(f"status {answer.status}")
            if found:
                problems.append(f"{vendor} {signature[:10]!r}: {found}")
    assert problems == [], problems


def _signed(vendor: str, body: bytes) -> str:
    from fleetbridge.core.webhook_auth import sign_hmac_hex

    flow = "fleetio-keycafe" if vendor == "fleetio" else "gpsinsight-driveri"
    key = "fleetio_webhook_secret" if vendor == "fleetio" else "gpsinsight_push_secret"
    return sign_hmac_hex(body, CREDENTIALS[flow][key])


WEBHOOK_BODIES = {
    "50k nested arrays": b"[" * 50_000 + b"]" * 50_000,
    "5k nested objects": b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    "invalid utf-8": b"\xff\xfe\xfd",
    "5000-digit id": b'{"event": "vehicle_assignment_created", "payload": {"id": '
    + b"9" * 5_000
    + b'}, "timestamp": "t"}',
    "infinite id": b'{"event": "vehicle_assignment_created", "payload": {"id": 1e999}, "timestamp": "t"}',
    "lone surrogate": b'{"event": "driver_updated", "driver": {"driver_id": "\\ud800"}}',
    "empty": b"",
    "a string": b'"x"',
    "a list": b"[1, 2]",
    "null": b"null",
    "truncated": b'{"event": "driver_upd',
    "html": b"<html><body>hi</body></html>",
}


def test_signed_webhook_bodies_of_every_shape_are_4xx_not_5xx(world: World) -> None:
    problems = []
    for vendor, connection_id, header in _hook_cases(world):
        for label, body in WEBHOOK_BODIES.items():
            before = world.snapshot()
            answer = world.webhook(vendor, connection_id, body, {header: _signed(vendor, body)})
            found = world.problems(answer, before)
            if answer.status != 400:
                found.append(f"status {answer.status}: {answer.text[:120]}")
            if found:
                problems.append(f"{vendor} [{label}]: {found}")
    assert problems == [], "\n".join(problems)


def test_webhook_sizes_at_and_over_the_limit(world: World) -> None:
    from fleetbridge.core.receiver import MAX_BODY_BYTES

    for vendor, connection_id, header in _hook_cases(world):
        prefix = b'{"event": "ignored-event", "pad": "'
        at_limit = prefix + b"x" * (MAX_BODY_BYTES - len(prefix) - 2) + b'"}'
        assert len(at_limit) == MAX_BODY_BYTES
        answer = world.webhook(vendor, connection_id, at_limit, {header: _signed(vendor, at_limit)})
        assert answer.status in (200, 400), answer.text  # read and judged, not refused for size
        over = at_limit + b" "
        before = world.snapshot()
        answer = world.webhook(vendor, connection_id, over, {header: _signed(vendor, over)})
        assert answer.status == 413 and world.problems(answer, before) == []


# ------------------------------------------------------------------ 5. smaller ones
def test_routing_profiles_reject_unknown_fields_like_connections(world: World) -> None:
    integration = {"id": "typo", "name": "T", "configuration": {"api_key": "k"}, "nmae": "x"}
    answer = world.api("POST", "/v1/routing/profiles/integration/onfleet", body=_json(integration))
    assert answer.status == 422 and answer.json()["error"]["field"] == "nmae", answer.text
    run = {"id": "typo", "name": "T", "defualts": {}}
    answer = world.api("POST", "/v1/routing/profiles/run", body=_json(run))
    assert answer.status == 422 and answer.json()["error"]["field"] == "defualts", answer.text
    connection = {"flow": "fleetio-keycafe", "name": "x", "credentials": {}, "extra": 1}
    answer = world.api("POST", "/connections", body=_json(connection))
    assert answer.status == 422 and answer.json()["error"]["field"] == "extra", answer.text
    # what GET answers can still be sent back with PUT (read-only fields accepted, ignored)
    path = f"/v1/routing/profiles/run/{world.ids['run_profile']}"
    current = world.api("GET", path).json()
    assert world.api("PUT", path, body=_json(current)).status == 200


@pytest.mark.parametrize("since", ["notadate", "2026-13-01", "yesterday", "1e9"])
def test_activity_since_must_be_a_timestamp(world: World, since: str) -> None:
    fleetio = world.ids["fleetio-keycafe"]
    answer = world.api("GET", f"/connections/{fleetio}/activity", query={"since": since})
    assert answer.status == 422 and answer.json()["error"]["field"] == "since", answer.text
    ok = world.api("GET", f"/connections/{fleetio}/activity", query={"since": "2026-01-01"})
    assert ok.status == 200, ok.text


def test_webhooks_answer_unknown_and_known_ids_alike(world: World) -> None:
    body = b'{"event": "x"}'
    for vendor, connection_id, header in _hook_cases(world):
        answers = {
            (answer.status, answer.text)
            for target in (connection_id, "con_doesnotexist00", "x" * 5_000, "../../etc")
            for answer in [world.webhook(vendor, target, body, {header: "0" * 64})]
        }
        assert len(answers) == 1, answers
        assert next(iter(answers))[0] == 401
    # a connection of another flow has no such webhook: same answer again
    striven = world.ids["striven-onfleet"]
    other = world.webhook("fleetio", striven, body, {"X-Fleetio-Webhook-Signature": "0" * 64})
    assert (other.status, other.text) == next(iter(answers))


def test_stored_objects_refuse_empty_keys(world: World) -> None:
    """An empty key in a stored free-form object (here a run profile's defaults) is refused
    with 422 naming the object, instead of being stored where it cannot be read back (the
    151 5xx answers of the full fuzzing bench)."""
    path = f"/v1/routing/profiles/run/{world.ids['run_profile']}"
    current = world.api("GET", path).json()
    for defaults in ({"": 1}, {"vehicles": {"": {"capacity": 1}}}):
        before = world.snapshot()
        answer = world.api("PUT", path, body=_json({**current, "defaults": defaults}))
        assert answer.status == 422, answer.text
        assert answer.json()["error"]["field"].startswith("defaults"), answer.text
        assert world.problems(answer, before) == []
    assert world.api("GET", path).status == 200
