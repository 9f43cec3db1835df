"""Event builders: the tests and the sample files in `events/` come from these, so they never
drift. `python -m tests.support.samples` rewrites `events/` from `build_samples()`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"


def http_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    route_key: str | None = None,
    path_parameters: dict[str, str] | None = None,
    raw_body: bytes | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event."""
    if raw_body is None and body is not None:
        raw_body = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    lowered = {
        "content-type": "application/json",
        "host": "api.fleetbridge.local",
        "user-agent": "fleetbridge-tests",
    }
    lowered.update({key.lower(): value for key, value in (headers or {}).items()})
    query_string = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": route_key or "$default",
        "rawPath": path,
        "rawQueryString": query_string,
        "headers": lowered,
        "queryStringParameters": query or None,
        "pathParameters": path_parameters or None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": "api.fleetbridge.local",
            "domainPrefix": "api",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "fleetbridge-tests",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key or "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": base64.b64encode(raw_body).decode() if raw_body is not None else None,
        "isBase64Encoded": raw_body is not None,
        "stageVariables": None,
    }


def fleetio_delivery(
    assignment: dict[str, Any],
    *,
    event: str = "vehicle_assignment_created",
    delivery_id: str | None = None,
) -> bytes:
    """A Fleetio webhook body, byte for byte as signed."""
    return json.dumps(
        {
            "id": delivery_id or str(uuid.uuid4()),
            "event": event,
            "timestamp": "2026-11-23T12:00:00Z",
            "triggered_by": "sandbox",
            "payload": assignment,
        }
    ).encode()


def fleetio_hook_event(connection_id: str, body: bytes, secret: str | None) -> dict[str, Any]:
    """`POST /hooks/fleetio/<id>` signed with `secret` (None: no signature header)."""
    headers = {}
    if secret is not None:
        headers["X-Fleetio-Webhook-Signature"] = hmac.new(
            secret.encode(), body, hashlib.sha256
        ).hexdigest()
    return http_event(
        "POST",
        f"/hooks/fleetio/{connection_id}",
        raw_body=body,
        headers=headers,
        route_key="POST /hooks/fleetio/{connection_id}",
        path_parameters={"connection_id": connection_id},
    )


def onfleet_hook_event(
    connection_id: str,
    body: bytes,
    signature: str | None,
    *,
    method: str = "POST",
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`POST /hooks/onfleet/<id>` with `X-Onfleet-Signature` (or Onfleet's `GET ?check=`)."""
    headers = {"X-Onfleet-Signature": signature} if signature is not None else {}
    return http_event(
        method,
        f"/hooks/onfleet/{connection_id}",
        raw_body=body if method == "POST" else None,
        headers=headers,
        query=query,
        route_key=f"{method} /hooks/onfleet/{{connection_id}}",
        path_parameters={"connection_id": connection_id},
    )


def gpsinsight_push_event(connection_id: str, body: bytes, secret: str | None) -> dict[str, Any]:
    """`POST /hooks/gpsinsight/<id>` signed like the portal push (hex HMAC-SHA256)."""
    headers = {}
    if secret is not None:
        headers["X-GPSInsight-Signature"] = hmac.new(
            secret.encode(), body, hashlib.sha256
        ).hexdigest()
    return http_event(
        "POST",
        f"/hooks/gpsinsight/{connection_id}",
        raw_body=body,
        headers=headers,
        route_key="POST /hooks/gpsinsight/{connection_id}",
        path_parameters={"connection_id": connection_id},
    )


def gpsinsight_push(event: str, driver: dict[str, Any], timestamp: str) -> bytes:
    """The body the portal (sandbox) pushes for a driver change."""
    return json.dumps({"event": event, "driver": driver, "timestamp": timestamp}).encode()


def sqs_event(
    bodies: list[dict[str, Any]], *, queue: str = "FleetioKeycafeQueue", receive_count: int = 1
) -> dict[str, Any]:
    """An SQS event source batch."""
    records = []
    for body in bodies:
        text = json.dumps(body)
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": str(uuid.uuid4()),
                "body": text,
                "attributes": {
                    "ApproximateReceiveCount": str(receive_count),
                    "SentTimestamp": str(int(time.time() * 1000)),
                    "SenderId": ACCOUNT,
                    "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def schedule_event(rule: str) -> dict[str, Any]:
    """An EventBridge scheduled event."""
    return {
        "version": "0",
        "id": "sample-schedule-event",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": "2026-11-23T06:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"],
        "detail": {},
    }


def servicetrade_hook_event(connection_id: str, body: bytes, secret: str | None) -> dict[str, Any]:
    """`POST /hooks/servicetrade/<id>?secret=` (ServiceTrade signs nothing: the secret is ours,
    in the URL we register)."""
    return http_event(
        "POST",
        f"/hooks/servicetrade/{connection_id}",
        raw_body=body,
        query={"secret": secret} if secret is not None else None,
        route_key="POST /hooks/servicetrade/{connection_id}",
        path_parameters={"connection_id": connection_id},
    )


def azuga_hook_event(connection_id: str, body: bytes, secret: str | None) -> dict[str, Any]:
    """`POST /hooks/azuga/<id>` with the secret in `x-api-key` (Azuga's KEY authorization)."""
    return http_event(
        "POST",
        f"/hooks/azuga/{connection_id}",
        raw_body=body,
        headers={"x-api-key": secret} if secret is not None else None,
        route_key="POST /hooks/azuga/{connection_id}",
        path_parameters={"connection_id": connection_id},
    )
