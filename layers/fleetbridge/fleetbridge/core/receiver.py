"""The one webhook receiver: verify, enqueue, answer fast (DESIGN.md §2).

`POST /hooks/<vendor>/<connection id>` functions call `handle_webhook_event` and nothing else.
It reads the API Gateway proxy event itself (no Powertools event handler), and what a delivery
needs (pydantic models, repositories, the flow) is imported on the first delivery, not when the
function initialises: see README "Benchmarks" for what that moves and why.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import TYPE_CHECKING, Any

from fleetbridge.core import aws  # noqa: F401  (boto3 at init: every request uses it)
from fleetbridge.core.errors import FleetbridgeError, NotFoundError, UnauthorizedError
from fleetbridge.core.observability import logger

if TYPE_CHECKING:
    from fleetbridge.core.registry import WebhookReply, WebhookRequest

#: Vendors' deliveries are a few KB; the work message must also fit an SQS message (256 KB).
MAX_BODY_BYTES = 128 * 1024
#: What anyone without a valid signature hears, whether or not the connection exists: the
#: answer must not tell a stranger which connection ids are real (the reason is logged).
REFUSED = "missing or invalid webhook signature"
_CONNECTION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def request_from_event(event: dict[str, Any], vendor: str) -> WebhookRequest:
    """The raw request out of an HTTP API v2 event (the body stays bytes for signatures)."""
    from fleetbridge.core.registry import WebhookRequest

    body = event.get("body") or ""
    try:
        raw = (
            base64.b64decode(body)
            if event.get("isBase64Encoded")
            else body.encode("utf-8", "surrogatepass")
        )
    except (binascii.Error, ValueError):
        raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else b""
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
    """Verify the delivery with the connection's secret, enqueue its work, say what to answer.

    An unknown connection, or one without this vendor's webhook, is refused exactly like a bad
    signature (UnauthorizedError), so a stranger cannot tell which ids exist.
    """
    from fleetbridge.core.connections import ConnectionRepository
    from fleetbridge.core.queue import publish
    from fleetbridge.core.registry import WebhookReply, get_flow
    from fleetbridge.core.secrets import load_credentials

    if not _CONNECTION_ID.fullmatch(request.connection_id):
        raise UnauthorizedError("not a connection id")
    try:
        connection = ConnectionRepository().get(request.connection_id)
    except NotFoundError as exc:
        raise UnauthorizedError("unknown connection") from exc
    flow = get_flow(connection.flow)
    if flow.receive_webhook is None or request.vendor not in flow.webhook_vendors:
        raise UnauthorizedError(f"no {request.vendor} webhook on this connection")
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


def _error(status: int, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error = {"code": code, "message": message, **({"field": field} if field else {})}
    return _response(status, {"error": error})


def handle_webhook_event(event: dict[str, Any], vendor: str) -> dict[str, Any]:
    """Lambda-shaped answer for one webhook delivery (never a stack trace)."""
    request = request_from_event(event, vendor)
    if len(request.body) > MAX_BODY_BYTES:
        return _error(413, "payload_too_large", "request body exceeds 128 KB", "body")
    try:
        reply = receive(request)
    except UnauthorizedError as exc:
        logger.warning("webhook rejected", extra={"vendor": vendor, "reason": exc.message})
        return _error(401, UnauthorizedError.code, REFUSED)
    except FleetbridgeError as exc:
        return _error(400, exc.code, exc.message, exc.field)
    return _response(
        reply.status,
        reply.body if reply.body is not None else {"accepted": len(reply.messages)},
        reply.content_type,
    )
