"""The API emulator on the toy template: routing, events, isolation, errors, timeouts."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from local.stack.stack import LocalStack


def test_routes_reach_their_functions_with_v2_events(toy_api: httpx.Client) -> None:
    response = toy_api.get("/items/42", params=[("a", "1"), ("a", "2")], headers={"Cookie": "s=1"})
    assert response.status_code == 200
    assert response.headers["x-echo"] == "yes"
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2"]
    body = response.json()
    event = body["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{id}"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["cookies"] == ["s=1"]
    assert event["requestContext"]["http"]["method"] == "GET"
    assert body["function_name"] == "EchoFunction"
    assert body["memory"] == "256"
    assert 0 < body["remaining_ms"] <= 10_000

    static = toy_api.post(
        "/echo/static", content=b"\x00\x01", headers={"Content-Type": "application/octet-stream"}
    )
    static_event = static.json()["event"]
    assert static_event["routeKey"] == "POST /echo/static"
    assert static_event["isBase64Encoded"] is True

    greedy = toy_api.delete("/echo/x/y").json()["event"]
    assert (greedy["routeKey"], greedy["pathParameters"]) == (
        "ANY /echo/{proxy+}",
        {"proxy": "x/y"},
    )


def test_default_route_and_plain_dict_results(toy_api: httpx.Client) -> None:
    response = toy_api.put("/anything/else")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["route"] == "$default"
    assert toy_api.delete("/items/42").json()["route"] == "$default"


def test_functions_are_isolated_modules_with_their_own_env(
    toy_api: httpx.Client, toy_stack: LocalStack
) -> None:
    echo = toy_api.get("/items/1").json()
    other = toy_api.get("/other").json()
    assert (echo["flavor"], other["flavor"]) == ("echo-a", "echo-b")
    assert echo["module_file"].endswith("functions/echo/app.py")
    assert other["module_file"].endswith("functions/other/app.py")
    assert echo["layer"] == other["layer"] == "toylib"
    env = echo["env"]
    assert env["GREETING"] == "hello"
    assert env["TABLE"] == "ToyTable"
    assert env["WORK_QUEUE"] == f"{toy_stack.aws_url}/123456789012/WorkQueue"
    assert json.loads(env["QUEUES"])["dlq"] == "WorkDeadLetterQueue"
    assert env["AWS_ENDPOINT_URL"] == env["FLEETBRIDGE_AWS_ENDPOINT"] == toy_stack.aws_url
    assert env["FLEETBRIDGE_PUBLIC_URL"] == toy_stack.api_url
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "EchoFunction"
    assert env["FLEETBRIDGE_LOCAL"] == "true"
    assert json.loads(env["FLEETBRIDGE_VENDOR_URLS"])["fleetio"].endswith("/fleetio/api")
    assert echo["sys_path"][0].endswith("functions/echo")
    assert "FLAVOR" not in {k for k in env if env[k] == "echo-b"}


def test_unhandled_errors_are_api_gateway_500s(
    toy_api: httpx.Client, toy_stack: LocalStack
) -> None:
    response = toy_api.post("/echo/raise")
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})
    log = (toy_stack.log_dir / "EchoFunction.log").read_text()
    assert "RuntimeError: asked to fail" in log


def test_timeouts_kill_and_restart_the_worker(toy_api: httpx.Client, toy_stack: LocalStack) -> None:
    first = toy_api.get("/slow").json()["pid"]
    timed_out = toy_api.get("/slow", params={"seconds": "3"})
    assert timed_out.status_code == 500
    log = Path(toy_stack.log_dir / "SlowFunction.log").read_text()
    assert "Task timed out after 1.00 seconds" in log
    assert first not in toy_stack.runtime.pool("SlowFunction").worker_pids
    again = toy_api.get("/slow")
    assert again.status_code == 200
    assert again.json()["pid"] != first


def test_a_function_runs_concurrently(toy_stack: LocalStack) -> None:
    def call(_: int) -> int:
        with httpx.Client(base_url=toy_stack.api_url, timeout=30) as client:
            return client.get("/slow", params={"seconds": "0.4"}).json()["pid"]

    with ThreadPoolExecutor(3) as pool:
        pids = set(pool.map(call, range(3)))
    assert len(pids) > 1


def test_emails_sent_through_ses_are_listed(toy_api: httpx.Client) -> None:
    assert toy_api.post("/echo/email").status_code == 200
    emails = toy_api.get("/_local/emails").json()
    sent = [e for e in emails if e["subject"] == "Toy report"]
    assert sent[-1]["source"] == "sender@toy.example"
    assert sent[-1]["to"] == ["ops@toy.example"]
    assert sent[-1]["text"] == "plain words"
    assert sent[-1]["html"] == "<p>html words</p>"
    assert sent[-1]["at"]
    assert toy_api.get("/_local/emails", params={"to": "nobody@x.example"}).json() == []


def test_local_endpoints(toy_api: httpx.Client) -> None:
    health = toy_api.get("/_local/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    functions = {f["function"]: f for f in toy_api.get("/_local/functions").json()}
    assert functions["WorkerFunction"]["queues"] == ["WorkQueue"]
    assert "GET /items/{id}" in functions["EchoFunction"]["routes"]
    assert toy_api.get("/_local/nope").status_code == 404
    missing = toy_api.post("/_local/tenants", json={})
    assert missing.status_code == 400


def test_rest_api_events_get_the_1_0_payload(toy_api: httpx.Client) -> None:
    event = toy_api.get("/v1/echo", params={"q": "1"}).json()["event"]
    assert event["version"] == "1.0"
    assert event["httpMethod"] == "GET"
    assert event["resource"] == "/v1/echo"
    assert event["multiValueQueryStringParameters"] == {"q": ["1"]}


def test_import_errors_are_500s_with_the_reason_in_the_log(
    toy_api: httpx.Client, toy_stack: LocalStack
) -> None:
    response = toy_api.get("/broken")
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})
    invocation = toy_stack.invoke("BrokenFunction", {})
    assert invocation.error is not None
    assert invocation.error["errorType"] == "Runtime.ImportModuleError"
    assert "a_module_that_does_not_exist" in invocation.error["errorMessage"]
    assert "Unable to import module 'app'" in (toy_stack.log_dir / "BrokenFunction.log").read_text()
