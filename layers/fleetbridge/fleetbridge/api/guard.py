"""Checks done before routing: body size, the tenant's API key, then the body's JSON.

Powertools validates bodies before user middlewares run, so these run before `resolve`: a request
without a valid key gets 401 whatever its body, and nothing is parsed or written. A body is JSON
whatever its Content-Type says (curl's default form type included); one we could not store (bad
UTF-8, deep nesting, huge numbers, lone surrogates) is refused here, naming the field. The
resolver and the routers a path needs are loaded only after these checks (`api.lazy`).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from fleetbridge.api.lazy import LazyApi
from fleetbridge.core import (
    aws,  # noqa: F401  (boto3 at init: every request uses it)
    budget,
)
from fleetbridge.core.errors import FleetbridgeError, MalformedInputError
from fleetbridge.core.payload import parse_json

MAX_BODY_BYTES = 1024 * 1024
#: Routing run bodies (matrices) may use all Lambda's invocation payload allows (6 MB, the
#: event with its headers included); larger inputs go through `POST /v0/run/uploadurl`.
MAX_RUN_BODY_BYTES = 6 * 1024 * 1024 - 64 * 1024
RUN_PATHS = frozenset({"/v0/run", "/v1/integrations/onfleet/run"})
PUBLIC_PATHS = frozenset({"/openapi.json", "/docs"})


def _raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body)
        except ValueError as exc:
            raise MalformedInputError("request body is not valid base64", field="body") from exc
    return body.encode("utf-8", "surrogatepass")


def _json_event(event: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """The event with its body checked and handed on as JSON text, `application/json`."""
    if not raw.strip():
        return event
    parse_json(raw)
    headers = {
        key: value
        for key, value in (event.get("headers") or {}).items()
        if key.lower() != "content-type"
    }
    headers["content-type"] = "application/json"
    return {**event, "headers": headers, "body": raw.decode("utf-8"), "isBase64Encoded": False}


def _bearer(event: dict[str, Any]) -> str | None:
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def public_base_url(event: dict[str, Any]) -> str:
    """Where this API is reachable: the configured public URL, else the request's host."""
    from fleetbridge.core.config import get_settings

    configured = get_settings().public_url
    if configured:
        return configured
    domain = event.get("requestContext", {}).get("domainName", "localhost")
    return f"https://{domain}"


def guarded_resolve(api: LazyApi, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Reject oversized, unauthenticated or undecodable requests, then route with the tenant."""
    try:
        raw = _raw_body(event)
    except FleetbridgeError as exc:
        return _plain(400, exc.code, exc.message, exc.field)
    path = event.get("rawPath") or "/"
    size = len(raw)
    if path in RUN_PATHS and size > MAX_RUN_BODY_BYTES:
        return _plain(
            413,
            "payload_too_large",
            f"request body exceeds {MAX_RUN_BODY_BYTES} bytes: get an upload URL with "
            'POST /v0/run/uploadurl, PUT the input there, then POST /v0/run {"upload_id"}',
            "body",
        )
    if path not in RUN_PATHS and size > MAX_BODY_BYTES:
        return _plain(413, "payload_too_large", "request body exceeds 1 MB", "body")
    tenant = None
    if path not in PUBLIC_PATHS:
        from fleetbridge.core.tenants import TenantRepository

        api_key = _bearer(event)
        tenant = TenantRepository().authenticate(api_key) if api_key else None
        if tenant is None:
            return _plain(401, "unauthorized", "missing or invalid API key")
    try:
        event = _json_event(event, raw)
    except FleetbridgeError as exc:
        if isinstance(exc, MalformedInputError):
            return _plain(400, "malformed_json", exc.message, exc.field)
        return _plain(422, "validation_error", exc.message, exc.field)
    app = api.app_for(path)
    app.append_context(tenant=tenant, base_url=public_base_url(event))
    # a vendor's wait (Retry-After, a rate limit's next slot) longer than the request has left
    # is answered 503 with Retry-After, not cut off by the API's timeout
    with budget.invocation(context):
        return app.resolve(event, context)


def _plain(status: int, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    # the same body as api.errors.error_response, without loading the resolver for it
    error = {"code": code, "message": message} | ({"field": field} if field else {})
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": error}),
        "isBase64Encoded": False,
    }
