"""Our exceptions. The API maps each class to one status (fleetbridge.api.errors)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class FleetbridgeError(Exception):
    """Base of every error we raise on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def first_invalid_field(error: ValidationError, *prefix: str) -> tuple[str, str]:
    """(dotted path of the first offending field, with `prefix` before it; pydantic's message)."""
    first = error.errors()[0]
    return ".".join(str(part) for part in (*prefix, *first["loc"])), first["msg"]


class NotFoundError(FleetbridgeError):
    """The resource does not exist, or belongs to another tenant."""

    code = "not_found"


class ConflictError(FleetbridgeError):
    """A uniqueness rule or a concurrent write conflict (`version` moved on)."""

    code = "conflict"


class InvalidInputError(FleetbridgeError):
    """Input that parses but breaks a rule; `field` names the culprit."""

    code = "invalid"


class MalformedInputError(FleetbridgeError):
    """Input that does not parse at all (bad JSON, bad encoding, a cursor we did not issue): 400."""

    code = "malformed"


class UnauthorizedError(FleetbridgeError):
    """Missing or wrong credentials (API key, webhook signature)."""

    code = "unauthorized"


class ForbiddenError(FleetbridgeError):
    """Authenticated, but not allowed to do this."""

    code = "forbidden"


# ----------------------------------------------------------------------------- vendor errors
class VendorError(FleetbridgeError):
    """A vendor answered with an error (or not at all). Carries what the vendor said."""

    code = "vendor_error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        vendor: str,
        status_code: int | None = None,
        vendor_code: str | None = None,
        request_id: str | None = None,
        body: Any = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.vendor = vendor
        self.status_code = status_code
        self.vendor_code = vendor_code
        self.request_id = request_id
        self.body = body

    def __str__(self) -> str:
        status = f" {self.status_code}" if self.status_code else ""
        code = f" {self.vendor_code}" if self.vendor_code else ""
        return f"{self.vendor}{status}{code}: {self.message}"


class AuthError(VendorError):
    """The vendor rejected our credentials (401/403)."""

    code = "vendor_auth"


class VendorNotFound(VendorError):
    """The vendor has no such record (404)."""

    code = "vendor_not_found"


class VendorConflict(VendorError):
    """The vendor refused because of a conflict (409/412)."""

    code = "vendor_conflict"


class VendorValidationError(VendorError):
    """The vendor rejected the payload (400/422)."""

    code = "vendor_validation"


class RateLimited(VendorError):
    """Still rate limited after our retries (429)."""

    code = "vendor_rate_limited"
    retryable = True


class VendorUnavailable(VendorError):
    """5xx, timeouts and connection failures that outlived our retries."""

    code = "vendor_unavailable"
    retryable = True


class RetryLater(VendorError):
    """The vendor asked us to wait (Retry-After, backoff) longer than this invocation has left:
    the message goes back to its queue for `retry_after` seconds (docs/reliability.md)."""

    code = "vendor_retry_later"
    retryable = True

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
