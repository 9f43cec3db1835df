"""Lambda event documents as AWS builds them: API Gateway (HTTP API v2.0 and REST v1.0
payloads), SQS batches and EventBridge scheduled events; plus the API Gateway translation of
a function's result back into an HTTP response."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from local.stack.template import ACCOUNT_ID, REGION

TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "application/graphql",
)


@dataclass
class HttpRequest:
    """The parts of an incoming HTTP request the event builders need."""

    method: str
    path: str
    query_string: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"


def is_text(content_type: str) -> bool:
    """Whether API Gateway passes a body of this content type as text (else base64)."""
    kind = content_type.split(";")[0].strip().lower()
    return kind.startswith(TEXT_TYPES) or kind.endswith(("+json", "+xml"))


def _now() -> tuple[str, int]:
    moment = datetime.now(UTC)
    return moment.strftime("%d/%b/%Y:%H:%M:%S +0000"), int(moment.timestamp() * 1000)


def _body(request: HttpRequest, headers: dict[str, str]) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if is_text(headers.get("content-type", "")):
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode(), True


def _joined_headers(request: HttpRequest) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in request.headers:
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    return headers


def http_api_v2_event(
    request: HttpRequest, route_key: str, path_parameters: dict[str, str]
) -> dict[str, Any]:
    """An HTTP API payload format 2.0 event."""
    headers = _joined_headers(request)
    cookie_header = headers.pop("cookie", "")
    host = headers.get("host", "localhost")
    when, epoch = _now()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string,
        "headers": headers,
    }
    if cookie_header:
        event["cookies"] = [c.strip() for c in cookie_header.split(";") if c.strip()]
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.query_string, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": "local",
        "domainName": host,
        "domainPrefix": host.split(".")[0].split(":")[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": route_key,
        "stage": "$default",
        "time": when,
        "timeEpoch": epoch,
    }
    body, encoded = _body(request, headers)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = encoded
    event["stageVariables"] = None
    return event


def rest_v1_event(
    request: HttpRequest, resource: str, path_parameters: dict[str, str]
) -> dict[str, Any]:
    """A REST API / payload format 1.0 proxy event."""
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.query_string, keep_blank_values=True):
        multi_query.setdefault(name, []).append(value)
    headers = {name: values[-1] for name, values in multi_headers.items()}
    when, epoch = _now()
    body, encoded = _body(request, {k.lower(): v for k, v in headers.items()})
    return {
        "version": "1.0",
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "httpMethod": request.method,
            "path": request.path,
            "protocol": request.protocol,
            "identity": {"sourceIp": request.source_ip, "userAgent": headers.get("User-Agent")},
            "requestId": str(uuid.uuid4()),
            "resourcePath": resource,
            "stage": "$default",
            "requestTime": when,
            "requestTimeEpoch": epoch,
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


@dataclass
class HttpResponse:
    """What API Gateway answers, derived from the function's result."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_response(result: Any) -> HttpResponse:
    """Translate a Lambda result the way API Gateway does (v2 inference for plain values)."""
    if not (isinstance(result, dict) and "statusCode" in result):
        body = json.dumps(result).encode()
        return HttpResponse(200, [("Content-Type", "application/json")], body)
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values or [])
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = (raw if isinstance(raw, str) else json.dumps(raw)).encode()
    if not any(name.lower() == "content-type" for name, _ in headers) and body:
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(int(result["statusCode"]), headers, body)


def _attribute_value(value: dict[str, Any]) -> dict[str, Any]:
    def b64(data: Any) -> str:
        return base64.b64encode(data).decode() if isinstance(data, bytes) else str(data)

    converted: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues") or []),
        "binaryListValues": [b64(v) for v in value.get("BinaryListValues") or []],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = b64(value["BinaryValue"])
    return converted


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One `Records[]` entry of an SQS event, from a ReceiveMessage result entry."""
    body = message.get("Body", "")
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _attribute_value(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def scheduled_event(rule_arn: str) -> dict[str, Any]:
    """The EventBridge `Scheduled Event` a rate/cron rule sends to its target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    }
