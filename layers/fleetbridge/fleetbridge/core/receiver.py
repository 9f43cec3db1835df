"""The one webhook receiver: verify, enqueue, answer fast (DESIGN.md §2).

`POST /hooks/<vendor>/<connection id>` functions call `handle_webhook_event` and nothing else.
It reads the API Gateway proxy event itself (no Powertools event handler), and what a delivery
needs (pydantic models, repositories, the flow) is imported on the first delivery, not when the
function initialises: see README "Benchmarks" for what that moves and why.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from fleetbridge.core import aws  # noqa: F401  (boto3 at init: every request uses it)
from fleetbridge.core.errors import FleetbridgeError, NotFoundError, UnauthorizedError
from fleetbridge.core.observability import logger

if TYPE_CHECKING:
    from fleetbridge.core.registry import WebhookReply, WebhookRequest

MAX_BODY_BYTES = 1024 * 1024


def request_from_event(event: dict[str, Any], vendor: str) -> WebhookRequest:
    """The raw request out of an HTTP API v2 event (the body stays bytes for signatures)."""
    from fleetbridge.core.registry import WebhookRequest

    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    method = event.get("requestContext", {}).get("http", {}).get("method", "POST").upper()
    return WebhookRequest(
        vendor=vendor,
        connection_id=(event.get("pathParameters") or {}).get("connection_id", ""),
        method=method,
        headers={key.lower(): value for key, value in (event.get("headers") or {}).items()},
        query=event.get("queryStringParameters") or {},
        body=raw,
    )


def receive(request: WebhookRequest) -> WebhookReply:
    """Verify the delivery with the connection's secret, enqueue its work, say what to answer."""
    from fleetbridge.core.connections import ConnectionRepository
    from fleetbridge.core.queue import publish
    from fleetbridge.core.registry import WebhookReply, get_flow
    from fleetbridge.core.secrets import load_credentials

    connection = ConnectionRepository().get(request.connection_id)
    flow = get_flow(connection.flow)
    if flow.receive_webhook is None or request.vendor not in flow.webhook_vendors:
        raise NotFoundError(f"no {request.vendor} webhook on this connection")
    credentials = load_credentials(connection.secret_arn)
    reply = flow.receive_webhook(connection, credentials, request)
    if not connection.enabled:
        logger.info("webhook ignored: connection disabled", extra={"connection_id": connection.id})
        return WebhookReply(status=200, body={"ignored": "connection disabled"})
    for message in reply.messages:
        publish(message)
    return reply


def _response(status: int, body: Any, content_type: str = "application/json") -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": text}


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return _response(status, {"error": {"code": code, "message": message}})


def handle_webhook_event(event: dict[str, Any], vendor: str) -> dict[str, Any]:
    """Lambda-shaped answer for one webhook delivery (never a stack trace)."""
    request = request_from_event(event, vendor)
    if len(request.body) > MAX_BODY_BYTES:
        return _error(413, "payload_too_large", "request body exceeds 1 MB")
    try:
        reply = receive(request)
    except UnauthorizedError as exc:
        logger.warning("webhook rejected", extra={"vendor": vendor, "reason": exc.message})
        return _error(401, exc.code, exc.message)
    except NotFoundError as exc:
        return _error(404, exc.code, exc.message)
    except FleetbridgeError as exc:
        return _error(400, exc.code, exc.message)
    return _response(
        reply.status,
        reply.body if reply.body is not None else {"accepted": len(reply.messages)},
        reply.content_type,
    )
