"""The one place that maps exceptions to HTTP answers: `{"error": {"code", "message", "field"?}}`.

Never a stack trace, never a secret: unexpected errors are logged and answered with a generic 500.
"""

from __future__ import annotations

import json
import math
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from fleetbridge.core.errors import (
    ConflictError,
    FleetbridgeError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    RetryLater,
    UnauthorizedError,
    VendorError,
)
from fleetbridge.core.observability import logger

_STATUS: list[tuple[type[FleetbridgeError], int]] = [
    (NotFoundError, 404),
    (ConflictError, 409),
    (InvalidInputError, 422),
    (UnauthorizedError, 401),
    (ForbiddenError, 403),
    (VendorError, 502),
]


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON error response in our shape."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"error": error}),
        headers=headers,
    )


def _field_from_location(location: Any) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header"):
        # the whole body (null, an array, a number, missing) is named "body"
        parts = parts[1:] or (["body"] if parts[0] == "body" else [])
    return ".".join(parts)


def validation_response(errors: list[dict[str, Any]]) -> Response:
    """422 naming the first offending field (or 400 for a body that is not JSON at all)."""
    first = errors[0] if errors else {"msg": "invalid request", "loc": ()}
    if first.get("type") == "json_invalid":
        return error_response(400, "malformed_json", "request body is not valid JSON", "body")
    field = _field_from_location(first.get("loc", ()))
    message = str(first.get("msg", "invalid value"))
    return error_response(
        422, "validation_error", f"{field}: {message}" if field else message, field or None
    )


def install_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Register every mapping on `app`."""

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        return validation_response(list(exc.errors()))

    @app.exception_handler(RetryLater)
    def _later(exc: RetryLater) -> Response:
        # a vendor wait longer than this request has left: ask the caller to come back then
        wait = str(max(1, math.ceil(exc.retry_after)))
        return error_response(503, exc.code, exc.message, headers={"Retry-After": wait})

    @app.exception_handler(FleetbridgeError)
    def _ours(exc: FleetbridgeError) -> Response:
        for error_class, status in _STATUS:
            if isinstance(exc, error_class):
                return error_response(status, exc.code, exc.message, exc.field)
        return error_response(400, exc.code, exc.message, exc.field)

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(500, "internal", "internal error; see the logs for the request id")

    @app.not_found
    def _not_found(_: Exception) -> Response:
        return error_response(404, "not_found", "no such route")
