"""Checks done before routing: body size, then the tenant's API key.

Powertools validates bodies before user middlewares run, so these run before `resolve`: a request
without a valid key gets 401 whatever its body, and nothing is parsed or written.
"""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from fleetbridge.api.errors import error_response
from fleetbridge.core.config import get_settings
from fleetbridge.core.tenants import TenantRepository

MAX_BODY_BYTES = 1024 * 1024
#: Routing run bodies (matrices) may use all Lambda's invocation payload allows (6 MB, the
#: event with its headers included); larger inputs go through `POST /v0/run/uploadurl`.
MAX_RUN_BODY_BYTES = 6 * 1024 * 1024 - 64 * 1024
RUN_PATHS = frozenset({"/v0/run", "/v1/integrations/onfleet/run"})
PUBLIC_PATHS = frozenset({"/openapi.json", "/docs"})


def _body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(base64.b64decode(body))
    return len(body.encode())


def _bearer(event: dict[str, Any]) -> str | None:
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def public_base_url(event: dict[str, Any]) -> str:
    """Where this API is reachable: the configured public URL, else the request's host."""
    configured = get_settings().public_url
    if configured:
        return configured
    domain = event.get("requestContext", {}).get("domainName", "localhost")
    return f"https://{domain}"


def guarded_resolve(
    app: APIGatewayHttpResolver, event: dict[str, Any], context: LambdaContext
) -> dict[str, Any]:
    """Reject oversized or unauthenticated requests, then route with the tenant in context."""
    path = event.get("rawPath") or "/"
    size = _body_size(event)
    if path in RUN_PATHS and size > MAX_RUN_BODY_BYTES:
        return _plain(
            413,
            "payload_too_large",
            f"request body exceeds {MAX_RUN_BODY_BYTES} bytes: get an upload URL with "
            'POST /v0/run/uploadurl, PUT the input there, then POST /v0/run {"upload_id"}',
        )
    if path not in RUN_PATHS and size > MAX_BODY_BYTES:
        return _plain(413, "payload_too_large", "request body exceeds 1 MB")
    tenant = None
    if path not in PUBLIC_PATHS:
        api_key = _bearer(event)
        tenant = TenantRepository().authenticate(api_key) if api_key else None
        if tenant is None:
            return _plain(401, "unauthorized", "missing or invalid API key")
    app.append_context(tenant=tenant, base_url=public_base_url(event))
    return app.resolve(event, context)


def _plain(status: int, code: str, message: str) -> dict[str, Any]:
    response = error_response(status, code, message)
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": "application/json"},
        "body": response.body,
        "isBase64Encoded": False,
    }
