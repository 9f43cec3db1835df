"""The vendor sandboxes as one Flask app, and a helper serving it in a background thread.

Every vendor is mounted at ``/<vendor>`` followed by its real path after its real host:

- Onfleet  ``http://127.0.0.1:4010/onfleet/api/v2``
- Fleetio  ``http://127.0.0.1:4010/fleetio/api`` (``/v1/vehicles``, ``/v2/contacts/{id}``, ...)
- Keycafe  ``http://127.0.0.1:4010/keycafe/v0``
- GPS Insight ``http://127.0.0.1:4010/gpsinsight/v2``
- Driveri  ``http://127.0.0.1:4010/driveri`` (``/v1/auth/token``, ``/v1/tenants/{tenant}/...``)
- Azuga    ``http://127.0.0.1:4010/azuga`` (``/v3/auth/login``, ``/v3/trackees``, ``/v1/trackme.json``)
- ServiceTrade ``http://127.0.0.1:4010/servicetrade/api``

and the control interface is under ``/_sandbox`` (see ``local.sandboxes.control``).
``python -m local.sandboxes.app`` serves it on ``FLEETBRIDGE_SANDBOX_HOST``:
``FLEETBRIDGE_SANDBOX_PORT`` (default 127.0.0.1:4010).
"""

from __future__ import annotations

import logging
import os
import threading

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, make_server

from local.sandboxes.azuga import AzugaSandbox
from local.sandboxes.control import control_blueprint
from local.sandboxes.driveri import DriveriSandbox
from local.sandboxes.fleetio import FleetioSandbox
from local.sandboxes.framework import SandboxError, VendorSandbox
from local.sandboxes.gpsinsight import GpsInsightSandbox
from local.sandboxes.keycafe import KeycafeSandbox
from local.sandboxes.onfleet import OnfleetSandbox, UrlChecker
from local.sandboxes.servicetrade import ServiceTradeSandbox
from local.sandboxes.striven import StrivenSandbox
from local.sandboxes.webhooks import WebhookSender

logger = logging.getLogger(__name__)


class _QuietDrops(logging.Filter):
    """A ``lost_response`` fault that drops the connection is not a server error to print."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "DroppedConnection" not in record.getMessage()


logging.getLogger("werkzeug").addFilter(_QuietDrops())

TIME_FACTOR_ENV = "FLEETBRIDGE_SANDBOX_TIME_FACTOR"
EXTENSION = "fleetbridge_sandboxes"


def time_factor_from_env() -> float:
    """``FLEETBRIDGE_SANDBOX_TIME_FACTOR`` (default 1); must be a positive number."""
    raw = os.environ.get(TIME_FACTOR_ENV, "1") or "1"
    try:
        factor = float(raw)
    except ValueError:
        raise ValueError(f"{TIME_FACTOR_ENV} must be a number, not {raw!r}") from None
    if factor <= 0:
        raise ValueError(f"{TIME_FACTOR_ENV} must be positive")
    return factor


def build_sandboxes(
    time_factor: float,
    webhook_sender: WebhookSender | None = None,
    url_checker: UrlChecker | None = None,
) -> list[VendorSandbox]:
    """One sandbox per vendor."""
    return [
        OnfleetSandbox(time_factor, webhook_sender, url_checker=url_checker),
        FleetioSandbox(time_factor, webhook_sender),
        KeycafeSandbox(time_factor, webhook_sender),
        GpsInsightSandbox(time_factor, webhook_sender),
        DriveriSandbox(time_factor, webhook_sender),
        StrivenSandbox(time_factor, webhook_sender),
        AzugaSandbox(time_factor, webhook_sender),
        ServiceTradeSandbox(time_factor, webhook_sender),
    ]


def create_app(
    time_factor: float | None = None,
    webhook_sender: WebhookSender | None = None,
    *,
    url_checker: UrlChecker | None = None,
) -> Flask:
    """The sandboxes app; ``app.extensions["fleetbridge_sandboxes"]`` maps vendor -> sandbox.

    ``webhook_sender(url, body, headers)`` replaces the HTTP delivery of webhooks and makes it
    synchronous (for tests). ``url_checker(url, token) -> bool`` replaces Onfleet's webhook URL
    validation; when a sender is injected and no checker is, validation is skipped.
    """
    factor = time_factor_from_env() if time_factor is None else time_factor
    sandboxes = {s.name: s for s in build_sandboxes(factor, webhook_sender, url_checker)}
    app = Flask("fleetbridge_sandboxes", static_folder=None)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = sandboxes
    for sandbox in sandboxes.values():
        app.register_blueprint(sandbox.blueprint())
    app.register_blueprint(control_blueprint(sandboxes))

    def vendor_of_request() -> VendorSandbox | None:
        return sandboxes.get(request.path.split("/", 2)[1] if request.path.count("/") else "")

    @app.before_request
    def before() -> None:
        sandbox = vendor_of_request()
        if sandbox is not None:
            sandbox.before_request()

    @app.after_request
    def after(response: Response) -> Response:
        sandbox = vendor_of_request()
        return sandbox.after_request(response) if sandbox is not None else response

    @app.errorhandler(SandboxError)
    def on_sandbox_error(error: SandboxError) -> Response:
        sandbox = vendor_of_request()
        if sandbox is not None:
            return sandbox.error_response(error)
        response = jsonify(error={"code": error.code or "error", "message": error.message})
        response.status_code = error.status
        return response

    @app.errorhandler(HTTPException)
    def on_http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if status >= 500:
            logger.error("sandbox error on %s %s", request.method, request.path)
        return on_sandbox_error(SandboxError(status, error.description or error.name))

    return app


def run_sandboxes(
    host: str = "127.0.0.1",
    port: int | None = None,
    time_factor: float | None = None,
) -> tuple[BaseWSGIServer, threading.Thread]:
    """Serve the sandboxes (threaded) from a daemon thread; stop with ``server.shutdown()``.

    ``port`` defaults to ``FLEETBRIDGE_SANDBOX_PORT`` or 4010; 0 picks a free port
    (``server.server_port``). The app is ``server.app``.
    """
    if port is None:
        port = int(os.environ.get("FLEETBRIDGE_SANDBOX_PORT", "4010"))
    server = make_server(host, port, create_app(time_factor), threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, name="fleetbridge-sandboxes", daemon=True
    )
    thread.start()
    logger.info("vendor sandboxes on http://%s:%d", host, server.server_port)
    return server, thread


def main() -> None:
    """Serve the sandboxes in the foreground until interrupted."""
    logging.basicConfig(level=logging.INFO)
    host = os.environ.get("FLEETBRIDGE_SANDBOX_HOST", "127.0.0.1")
    server, thread = run_sandboxes(host)
    try:
        thread.join()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
