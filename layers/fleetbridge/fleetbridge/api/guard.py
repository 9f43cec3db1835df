"""Checks done before routing: body size, then the tenant's API key.

Powertools validates bodies before user middlewares run, so these run before `resolve`: a request
without a valid key gets 401 whatever its body, and nothing is parsed or written.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from fleetbridge.api.lazy import LazyApi
from fleetbridge.core import aws  # noqa: F401  (boto3 at init: every request uses it)

MAX_BODY_BYTES = 1024 * 1024
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
    from fleetbridge.core.config import get_settings

    configured = get_settings().public_url
    if configured:
        return configured
    domain = event.get("requestContext", {}).get("domainName", "localhost")
    return f"https://{domain}"


def guarded_resolve(api: LazyApi, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Reject oversized or unauthenticated requests, then route with the tenant in context.

    The resolver and the routers the path needs are loaded after the checks (`api.lazy`).
    """
    if _body_size(event) > MAX_BODY_BYTES:
        return _plain(413, "payload_too_large", "request body exceeds 1 MB")
    path = event.get("rawPath") or "/"
    tenant = None
    if path not in PUBLIC_PATHS:
        api_key = _bearer(event)
        from fleetbridge.core.tenants import TenantRepository

        tenant = TenantRepository().authenticate(api_key) if api_key else None
        if tenant is None:
            return _plain(401, "unauthorized", "missing or invalid API key")
    app = api.app_for(path)
    app.append_context(tenant=tenant, base_url=public_base_url(event))
    return app.resolve(event, context)


def _plain(status: int, code: str, message: str) -> dict[str, Any]:
    # the same body as api.errors.error_response, without loading the resolver for it
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": {"code": code, "message": message}}),
        "isBase64Encoded": False,
    }
