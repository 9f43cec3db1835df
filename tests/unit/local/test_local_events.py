"""Event builders and the API Gateway response translation."""

from __future__ import annotations

import base64
import json
from typing import Any

from werkzeug.test import Client

from local.stack.apigw import ApiGateway
from local.stack.events import (
    HttpRequest,
    http_api_v2_event,
    http_response,
    rest_v1_event,
    sqs_record,
)
from local.stack.functions import ApiRoute, SqsSource
from local.stack.poller import failed_message_ids
from local.stack.routes import RouteTable
from local.stack.runtime import Invocation
from local.stack.schedules import ScheduleSpec, rate_seconds, schedule_event

REQUEST = HttpRequest(
    method="POST",
    path="/items/a%2Fb",
    query_string="x=1&x=2&y=&z=%20",
    headers=[
        ("Host", "127.0.0.1:3000"),
        ("Content-Type", "application/json"),
        ("User-Agent", "pytest"),
        ("Cookie", "a=1; b=2"),
        ("X-Multi", "one"),
        ("X-Multi", "two"),
    ],
    body=b'{"k": "v"}',
)


def test_http_api_v2_event_shape() -> None:
    event = http_api_v2_event(REQUEST, "POST /items/{id}", {"id": "a/b"})
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /items/{id}"
    assert event["rawPath"] == "/items/a%2Fb"
    assert event["rawQueryString"] == "x=1&x=2&y=&z=%20"
    assert event["queryStringParameters"] == {"x": "1,2", "y": "", "z": " "}
    assert event["pathParameters"] == {"id": "a/b"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "one,two"
    assert event["headers"]["content-type"] == "application/json"
    assert event["body"] == '{"k": "v"}'
    assert event["isBase64Encoded"] is False
    assert event["stageVariables"] is None
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/items/a%2Fb",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "pytest",
    }
    assert context["stage"] == "$default"
    assert context["accountId"] == "123456789012"
    assert context["domainName"] == "127.0.0.1:3000"
    assert isinstance(context["timeEpoch"], int)
    assert context["requestId"]


def test_binary_bodies_are_base64_and_empty_ones_absent() -> None:
    binary = HttpRequest("PUT", "/f", headers=[("Content-Type", "image/png")], body=b"\x89PNG\x00")
    event = http_api_v2_event(binary, "PUT /f", {})
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG\x00"
    empty = http_api_v2_event(HttpRequest("GET", "/f"), "GET /f", {})
    assert "body" not in empty
    assert "queryStringParameters" not in empty
    assert "pathParameters" not in empty


def test_rest_v1_event_shape() -> None:
    event = rest_v1_event(REQUEST, "/items/{id}", {"id": "a/b"})
    assert event["httpMethod"] == "POST"
    assert event["resource"] == "/items/{id}"
    assert event["multiValueQueryStringParameters"]["x"] == ["1", "2"]
    assert event["multiValueHeaders"]["X-Multi"] == ["one", "two"]
    assert event["pathParameters"] == {"id": "a/b"}


def test_http_response_translation() -> None:
    plain = http_response({"hello": "world"})
    assert (plain.status, json.loads(plain.body)) == (200, {"hello": "world"})
    assert ("Content-Type", "application/json") in plain.headers
    text = http_response("hi")
    assert text.body == b'"hi"'
    full = http_response(
        {
            "statusCode": 201,
            "headers": {"X-A": "1"},
            "multiValueHeaders": {"X-B": ["1", "2"]},
            "cookies": ["c=1"],
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert full.status == 201
    assert full.body == b"\x00\x01"
    assert ("X-B", "2") in full.headers
    assert ("Set-Cookie", "c=1") in full.headers


class FakeRuntime:
    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        self.events: list[Any] = []

    def invoke(self, logical_id: str, event: Any) -> Invocation:
        self.events.append(event)
        return self.invocation


def test_gateway_answers_api_gateway_errors() -> None:
    routes = RouteTable(
        [ApiRoute("Fn", "E", "GET", "/ok", "2.0"), ApiRoute("Fn", "E", "GET", "/v1", "1.0")]
    )
    ok = FakeRuntime(Invocation("r", True, result={"statusCode": 204}))
    client = Client(ApiGateway(routes, ok))  # type: ignore[arg-type]
    assert client.get("/missing").status_code == 404
    assert client.get("/missing").get_json() == {"message": "Not Found"}
    assert client.get("/ok").status_code == 204
    assert ok.events[-1]["version"] == "2.0"
    client.get("/v1?a=1")
    assert ok.events[-1]["httpMethod"] == "GET"
    failing = FakeRuntime(Invocation("r", False, error={"errorType": "ValueError"}))
    response = Client(ApiGateway(routes, failing)).get("/ok")  # type: ignore[arg-type]
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Internal Server Error"},
    )


def test_sqs_record_shape() -> None:
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "rh",
        "Body": "hello",
        "MD5OfBody": "5d41402abc4b2a76b9719d911017c592",
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1"},
        "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "x"}},
    }
    record = sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:q")
    assert record["messageId"] == "m1"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:q"
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "x",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }


def test_batch_item_failures_parsing() -> None:
    records = [{"messageId": "a"}, {"messageId": "b"}]
    reporting = SqsSource("Fn", "E", "Q", "arn", report_failures=True)
    plain = SqsSource("Fn", "E", "Q", "arn")
    assert (
        failed_message_ids(plain, records, {"batchItemFailures": [{"itemIdentifier": "a"}]})
        == set()
    )
    assert failed_message_ids(reporting, records, None) == set()
    assert failed_message_ids(reporting, records, {"batchItemFailures": []}) == set()
    assert failed_message_ids(
        reporting, records, {"batchItemFailures": [{"itemIdentifier": "a"}]}
    ) == {"a"}
    assert (
        failed_message_ids(reporting, records, {"batchItemFailures": [{"itemIdentifier": "zz"}]})
        is None
    )
    assert (
        failed_message_ids(reporting, records, {"batchItemFailures": [{"itemIdentifier": ""}]})
        is None
    )


def test_schedule_expressions_and_events() -> None:
    assert rate_seconds("rate(5 minutes)") == 300
    assert rate_seconds("rate(1 day)") == 86400
    assert rate_seconds("cron(0 2 * * ? *)") is None
    event = schedule_event(ScheduleSpec("Fn", "Daily", "rate(1 day)"))
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/Fn-Daily"]
    assert schedule_event(ScheduleSpec("Fn", "N", "cron(x)", input='{"a": 1}')) == {"a": 1}


def test_scheduler_fires_rate_schedules_on_their_clock(monkeypatch: Any) -> None:
    import time

    from local.stack import schedules

    monkeypatch.setattr(schedules, "rate_seconds", lambda e: 0.05 if e.startswith("rate") else None)
    runtime = FakeRuntime(Invocation("r", True))
    scheduler = schedules.Scheduler(
        [
            ScheduleSpec("Fn", "Every", "rate(1 minute)"),
            ScheduleSpec("Fn", "Nightly", "cron(0 2 * * ? *)"),
        ],
        runtime,  # type: ignore[arg-type]
    )
    scheduler.start()
    time.sleep(0.4)
    scheduler.stop()
    assert len(runtime.events) >= 2
    assert all(event["detail-type"] == "Scheduled Event" for event in runtime.events)
