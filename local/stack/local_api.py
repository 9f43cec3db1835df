"""The local-only endpoints served on the API port under `/_local/`.

- `POST /_local/tenants {"name"}` -> 201 `{"tenant_id", "api_key"}`
- `GET  /_local/emails[?to=]` -> `[{"source", "to", "subject", "text", "html", "at"}]`
- `GET  /_local/schedules` -> `[{"function", "rate", "name", "enabled"}]`
- `POST /_local/schedules/{FunctionLogicalId}[?name=]` -> the function's result
- `POST /_local/drain[?timeout=]` -> 200 when every queue is empty and idle, else 504
- `GET  /_local/health` -> 200 when moto, the poller and the sandboxes are up, else 503
- `GET  /_local/functions` -> every function with its routes, queues and schedules
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from local.stack.apigw import json_response
from local.stack.functions import FunctionSpec
from local.stack.runtime import FunctionRuntime
from local.stack.schedules import Scheduler

logger = logging.getLogger(__name__)

TASKS_FUNCTION = "_LocalTasks"


def _error(status: int, code: str, message: str) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status)


class Stack(Protocol):
    """What the `/_local/` endpoints use of the running stack (`LocalStack` is one; typed here so
    that this module, which `local.stack.stack` imports, does not import it back)."""

    @property
    def runtime(self) -> FunctionRuntime: ...
    @property
    def scheduler(self) -> Scheduler: ...
    @property
    def functions(self) -> dict[str, FunctionSpec]: ...
    @property
    def log_dir(self) -> Path: ...
    def drain(self, timeout: float = 30.0) -> None: ...
    def emails(self) -> list[dict[str, Any]]: ...
    def health(self) -> dict[str, bool]: ...


class LocalApi:
    """Dispatches `/_local/...` requests to the stack."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def __call__(self, request: Request) -> Response:
        """Handle one `/_local/` request."""
        parts = request.path.strip("/").split("/")[1:]
        method = request.method.upper()
        routes = {
            ("POST", "tenants"): self.create_tenant,
            ("GET", "emails"): self.emails,
            ("GET", "schedules"): self.schedules,
            ("POST", "schedules"): self.fire_schedule,
            ("POST", "drain"): self.drain,
            ("GET", "health"): self.health,
            ("GET", "functions"): self.functions,
            ("GET", "faults"): self.faults,
            ("POST", "faults"): self.faults,
        }
        handler = routes.get((method, parts[0] if parts else ""))
        if handler is None:
            return json_response({"message": "Not Found"}, 404)
        return handler(request, parts[1:])

    def create_tenant(self, request: Request, rest: list[str]) -> Response:
        """Create a tenant and its first API key through the shared layer (in a worker)."""
        body = request.get_json(silent=True) or {}
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip():
            return _error(400, "validation_error", "name is required")
        invocation = self.stack.runtime.invoke(
            TASKS_FUNCTION, {"task": "create_tenant", "name": name}
        )
        if not invocation.ok:
            error = invocation.error or {}
            logger.warning("creating a tenant failed: %s", error)
            return _error(500, error.get("errorType", "error"), error.get("errorMessage", ""))
        return json_response(invocation.result, 201)

    def emails(self, request: Request, rest: list[str]) -> Response:
        """The emails sent through SES, oldest first (optionally only those to `?to=`)."""
        emails = self.stack.emails()
        to = request.args.get("to")
        if to:
            emails = [e for e in emails if to.lower() in (a.lower() for a in e["to"])]
        return json_response(emails)

    def schedules(self, request: Request, rest: list[str]) -> Response:
        """Every schedule of the template."""
        return json_response(self.stack.scheduler.listing())

    def fire_schedule(self, request: Request, rest: list[str]) -> Response:
        """Fire a function's schedule now and answer with its result."""
        if len(rest) != 1:
            return json_response({"message": "Not Found"}, 404)
        schedule = self.stack.scheduler.find(rest[0], request.args.get("name"))
        if schedule is None:
            return _error(404, "not_found", f"{rest[0]} has no schedule")
        invocation = self.stack.scheduler.fire(schedule)
        if not invocation.ok:
            return json_response({"function": schedule.function, "error": invocation.error}, 500)
        return json_response(invocation.result)

    def drain(self, request: Request, rest: list[str]) -> Response:
        """Wait until the queues are empty and nothing is in flight."""
        timeout = float(request.args.get("timeout", "30"))
        try:
            self.stack.drain(timeout)
        except TimeoutError as exc:
            return _error(504, "timeout", str(exc))
        return json_response({"drained": True})

    def health(self, request: Request, rest: list[str]) -> Response:
        """200 when every part is up, else 503 with what is not."""
        checks = self.stack.health()
        return json_response(
            {"status": "ok" if all(checks.values()) else "degraded", **checks},
            200 if all(checks.values()) else 503,
        )

    def faults(self, request: Request, rest: list[str]) -> Response:
        """The crash fault: `POST {"crash_after_vendor_write": 0.1, "seed"?, "functions"?}` kills
        a worker process right after a vendor write was answered (default: the queue workers);
        `{}` clears it. GET shows it."""
        if request.method.upper() == "POST":
            body = request.get_json(silent=True)
            body = {} if body is None and not request.data else body
            if not isinstance(body, dict) or set(body) - {
                "crash_after_vendor_write",
                "seed",
                "functions",
            }:
                return _error(
                    400, "bad_request", "expected crash_after_vendor_write, seed, functions"
                )
            probability = body.get("crash_after_vendor_write", 0)
            if not isinstance(probability, int | float) or not 0 <= probability <= 1:
                return _error(400, "bad_request", "crash_after_vendor_write is a probability")
            self.stack.runtime.set_faults(body)
        return json_response(self.stack.runtime.faults)

    def functions(self, request: Request, rest: list[str]) -> Response:
        """Every function of the template with its event sources."""
        listing: list[dict[str, Any]] = []
        for spec in self.stack.functions.values():
            listing.append(
                {
                    "function": spec.logical_id,
                    "handler": spec.handler,
                    "code_uri": str(spec.code_dir),
                    "timeout": spec.timeout,
                    "routes": [route.route_key for route in spec.routes],
                    "queues": [source.queue_id for source in spec.sqs],
                    "schedules": [schedule.expression for schedule in spec.schedules],
                    "log": str(self.stack.log_dir / f"{spec.logical_id}.log"),
                }
            )
        return Response(json.dumps(listing), content_type="application/json")
