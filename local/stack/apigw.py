"""The API Gateway emulator: a threaded werkzeug server routing HTTP to the functions.

Every `HttpApi` event (payload 2.0, or 1.0 when PayloadFormatVersion says so) and `Api`
event (REST, payload 1.0) of the template is a route. Unknown routes answer API Gateway's own
404 `{"message":"Not Found"}`; a function error answers 500 `{"message":"Internal Server
Error"}`. Paths under `/_local/` are the local-only helpers (see `local.stack.local_api`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from local.stack.config import HOST
from local.stack.events import HttpRequest, http_api_v2_event, http_response, rest_v1_event
from local.stack.routes import RouteTable
from local.stack.runtime import FunctionRuntime

logger = logging.getLogger(__name__)

LOCAL_PREFIX = "/_local/"


def json_response(payload: Any, status: int = 200) -> Response:
    """A JSON response."""
    return Response(json.dumps(payload), status=status, content_type="application/json")


def _raw_path(request: Request) -> tuple[str, str]:
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        path, _, query = raw.partition("?")
        return path, query
    return quote(request.path), request.query_string.decode("latin-1")


def to_http_request(request: Request) -> HttpRequest:
    """The builder-neutral view of a werkzeug request."""
    path, query = _raw_path(request)
    return HttpRequest(
        method=request.method.upper(),
        path=path,
        query_string=query,
        headers=list(request.headers.items()),
        body=request.get_data(),
        source_ip=request.remote_addr or "127.0.0.1",
        protocol=request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
    )


class ApiGateway:
    """The WSGI application: local helpers first, then the template's routes."""

    def __init__(
        self,
        routes: RouteTable,
        runtime: FunctionRuntime,
        local_handler: Callable[[Request], Response] | None = None,
    ) -> None:
        self.routes = routes
        self.runtime = runtime
        self.local_handler = local_handler

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """WSGI entry point."""
        request = Request(environ)
        started = time.monotonic()
        try:
            response = self.handle(request)
        except Exception:
            logger.exception("API emulator failed on %s %s", request.method, request.path)
            response = json_response({"message": "Internal Server Error"}, 500)
        logger.info(
            "%s %s -> %d (%.0f ms)",
            request.method,
            request.path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Route one request."""
        if self.local_handler is not None and request.path.startswith(LOCAL_PREFIX):
            return self.local_handler(request)
        http = to_http_request(request)
        matched = self.routes.match(http.method, request.path)
        if matched is None:
            return json_response({"message": "Not Found"}, 404)
        route, params = matched
        if route.payload_version == "1.0":
            event = rest_v1_event(http, route.path, params)
        else:
            event = http_api_v2_event(http, route.route_key, params)
        invocation = self.runtime.invoke(route.function, event)
        if not invocation.ok:
            logger.info(
                "%s failed %s %s: %s", route.function, http.method, http.path, invocation.error
            )
            return json_response({"message": "Internal Server Error"}, 500)
        result = invocation.result
        if route.payload_version == "1.0" and not (
            isinstance(result, dict) and "statusCode" in result
        ):
            logger.warning("%s: a 1.0 payload response needs a statusCode", route.function)
            return json_response({"message": "Internal server error"}, 502)
        try:
            translated = http_response(result)
        except (TypeError, ValueError, KeyError):
            logger.warning("%s returned a malformed response", route.function)
            return json_response({"message": "Internal Server Error"}, 500)
        response = Response(translated.body, status=translated.status)
        response.headers.clear()
        for name, value in translated.headers:
            response.headers.add(name, value)
        return response


def bind(app: Callable[..., Any], port: int) -> BaseWSGIServer:
    """A threaded server for `app` bound to 127.0.0.1:`port` (0 = any free port), not serving yet."""
    return make_server(HOST, port, app, threaded=True)


def start_serving(server: BaseWSGIServer, name: str = "api-gateway") -> threading.Thread:
    """Serve from a daemon thread; stop with `server.shutdown()`."""
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    return thread
