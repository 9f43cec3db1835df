"""Plans of a real size (issue 16, item 6): bodies up to Lambda's payload limit directly,
larger inputs through a presigned upload URL and an `upload_id`, large results through a
presigned result URL; matrices keyed by ids."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests  # noqa: TID251 -- moto in-process intercepts only `requests`: the client PUT/GET

from tests.integration.conftest import Api
from tests.integration.test_routing_runs import _queued, _start, solve_queued
from tests.support.routing import router_input


def _with_matrices(stops: int) -> dict[str, Any]:
    """A router input with its own distance and duration matrices (the body grows with n²)."""
    body = router_input(
        stops=[
            {"id": f"s{i}", "position": {"lon": -122.40 - 0.001 * i, "lat": 37.78}}
            for i in range(stops)
        ]
    )
    size = stops + 2 * len(body["vehicles"])
    cells = [[round(12.3456 * abs(a - b), 4) for b in range(size)] for a in range(size)]
    return body | {"distance_matrix": cells, "duration_matrix": cells}


def test_a_run_over_1_mb_is_accepted_directly(api: Api, aws: dict[str, Any]) -> None:
    body = _with_matrices(250)
    assert len(json.dumps(body)) > 1024 * 1024
    _start(api, "/v0/run", body)
    assert len(_queued(aws)) == 1


def test_a_run_over_the_payload_limit_is_told_to_upload(api: Api, aws: dict[str, Any]) -> None:
    raw = json.dumps(router_input(padding="x" * (6 * 1024 * 1024))).encode()
    status, answer = api("POST", "/v0/run", raw=raw)
    assert status == 413, answer
    assert "POST /v0/run/uploadurl" in answer["error"]["message"]
    assert _queued(aws) == []


def test_upload_then_run_then_result_by_url(api: Api, aws: dict[str, Any]) -> None:
    status, upload = api("POST", "/v0/run/uploadurl")
    assert status == 201, upload
    assert upload["upload_id"].startswith("upload_") and upload["expires_in"] == 3600
    body = _with_matrices(8)
    put = requests.put(upload["upload_url"], data=json.dumps(body).encode(), timeout=10)
    assert put.status_code == 200, put.text

    run_id = _start(api, "/v0/run", {"upload_id": upload["upload_id"]})
    assert solve_queued(aws) == [{"batchItemFailures": []}]
    assert api("GET", f"/v0/run/{run_id}/status")[1]["status"] == "succeeded"

    status, inline = api("GET", f"/v0/run/{run_id}/result")
    assert status == 200 and "state" in inline
    status, by_url = api("GET", f"/v0/run/{run_id}/result", query={"format": "url"})
    assert status == 200, by_url
    assert by_url["run_id"] == run_id and by_url["size_bytes"] > 0
    fetched = requests.get(by_url["result_url"], timeout=10)
    assert fetched.status_code == 200 and fetched.json()["state"] == inline["state"]


def test_a_large_result_comes_back_as_a_url(
    api: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fleetbridge.routing import run_requests as runs

    run_id = _start(api, "/v0/run", router_input())
    assert solve_queued(aws) == [{"batchItemFailures": []}]
    monkeypatch.setattr(runs, "MAX_DIRECT_RESULT_BYTES", 100)
    status, answer = api("GET", f"/v0/run/{run_id}/result")
    assert status == 200 and "result_url" in answer and "state" not in answer, answer


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"upload_id": "upload_0123456789abcdef"}, "nothing was uploaded under"),
        ({"upload_id": "../inputs/x"}, "not an id POST /v0/run/uploadurl gave"),
        ({"upload_id": "upload_0123456789abcdef", "stops": []}, "stops: with upload_id"),
    ],
)
def test_bad_upload_ids_are_422(
    api: Api, aws: dict[str, Any], body: dict[str, Any], words: str
) -> None:
    status, answer = api("POST", "/v0/run", body)
    assert status == 422 and words in answer["error"]["message"], answer
    assert _queued(aws) == []


def test_an_uploaded_input_is_checked_at_post_and_is_the_tenants_own(
    api: Api, other_api: Api, aws: dict[str, Any]
) -> None:
    upload = api("POST", "/v0/run/uploadurl")[1]
    bad = router_input(vehicles=[])
    requests.put(upload["upload_url"], data=json.dumps(bad).encode(), timeout=10)
    status, answer = api("POST", "/v0/run", {"upload_id": upload["upload_id"]})
    assert status == 422 and answer["error"]["field"] == "vehicles", answer
    status, answer = other_api("POST", "/v0/run", {"upload_id": upload["upload_id"]})
    assert status == 422 and "nothing was uploaded" in answer["error"]["message"]


def test_matrices_keyed_by_ids(api: Api, aws: dict[str, Any]) -> None:
    body = router_input(stops=[{"id": f"s{i}"} for i in range(3)])
    body["vehicles"] = [{"id": "van", "start": {"lon": 0, "lat": 0}}]
    body.pop("defaults")
    places = ["van-start", "s0", "s1", "s2"]
    keyed = {a: {b: 100.0 * abs(i - j) for j, b in enumerate(places)} for i, a in enumerate(places)}
    run_id = _start(api, "/v0/run", body | {"distance_matrix": keyed, "duration_matrix": keyed})
    assert solve_queued(aws) == [{"batchItemFailures": []}]
    result = api("GET", f"/v0/run/{run_id}/result")[1]
    route = [step["id"] for step in result["state"]["vehicles"][0]["route"]]
    assert route == ["van-start", "s0", "s1", "s2"]
    assert result["state"]["vehicles"][0]["route_distance"] == 300

    del keyed["s1"]["s2"]
    status, answer = api("POST", "/v0/run", body | {"distance_matrix": keyed})
    assert status == 422 and answer["error"]["field"] == "distance_matrix.s1.s2", answer
