"""The sandbox control interface under ``/_sandbox`` (no auth, never faulted or rate limited).

``GET /_sandbox/`` lists the vendors; ``POST /_sandbox/reset`` resets them all; per vendor:
``GET state``, ``POST seed``, ``GET|POST faults``, ``POST reset``, ``GET requests`` (``?limit=``),
``GET webhook-deliveries`` (``?wait=<seconds>`` first waits for deliveries in flight),
``POST webhook-deliveries/<id>/redeliver`` and ``GET|POST rate-limit`` (``{"limit",
"window_seconds", "block_seconds"}`` in the vendor's seconds, before the time factor; ``{}``
restores the vendor's documented limit), plus the routes a vendor adds
(``VendorSandbox.control_routes``). Errors are ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from flask import Blueprint, Response, jsonify, request

from local.sandboxes.faults import FaultConfig, FaultConfigError
from local.sandboxes.framework import SandboxError, VendorSandbox


def control_error(status: int, message: str) -> SandboxError:
    """An error of the control interface."""
    codes = {400: "bad_request", 404: "not_found"}
    return SandboxError(status, message, code=codes.get(status, "error"))


def control_blueprint(sandboxes: dict[str, VendorSandbox]) -> Blueprint:
    """The ``/_sandbox`` blueprint over ``sandboxes`` (vendor name -> sandbox)."""
    bp = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")

    def vendor(name: str) -> VendorSandbox:
        if name not in sandboxes:
            raise control_error(404, f"no sandbox for vendor {name!r}")
        return sandboxes[name]

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if data is None and not request.data:
            return {}
        if not isinstance(data, dict):
            raise control_error(400, "the body must be a JSON object")
        return data

    @bp.errorhandler(SandboxError)
    def on_error(error: SandboxError) -> tuple[Response, int]:
        status = error.status if error.status < 500 else 500
        code = error.code if error.code in ("bad_request", "not_found") else "bad_request"
        return jsonify(error={"code": code, "message": error.message}), status

    @bp.get("/")
    def vendors() -> dict[str, Any]:
        return {"vendors": sorted(sandboxes)}

    @bp.post("/reset")
    def reset_all() -> dict[str, Any]:
        for sandbox in sandboxes.values():
            sandbox.reset()
        return {"reset": sorted(sandboxes)}

    @bp.get("/<name>/state")
    def state(name: str) -> dict[str, Any]:
        return vendor(name).state()

    @bp.post("/<name>/seed")
    def seed(name: str) -> dict[str, Any]:
        return vendor(name).seed(body())

    @bp.post("/<name>/reset")
    def reset(name: str) -> dict[str, Any]:
        vendor(name).reset()
        return {"reset": [name]}

    @bp.get("/<name>/faults")
    def get_faults(name: str) -> dict[str, Any]:
        return vendor(name).faults.config.to_json()

    @bp.post("/<name>/faults")
    def set_faults(name: str) -> dict[str, Any]:
        sandbox = vendor(name)
        try:
            config = FaultConfig.parse(body())
        except FaultConfigError as exc:
            raise control_error(400, str(exc)) from None
        sandbox.faults.configure(config)
        return config.to_json()

    @bp.get("/<name>/requests")
    def requests_log(name: str) -> dict[str, Any]:
        entries = vendor(name).request_log()
        limit = request.args.get("limit", "")
        if limit.isdigit():
            entries = entries[-int(limit) :] if int(limit) else []
        return {"requests": entries}

    @bp.get("/<name>/webhook-deliveries")
    def deliveries(name: str) -> dict[str, Any]:
        sandbox = vendor(name)
        wait = request.args.get("wait")
        if wait:
            try:
                sandbox.emitter.wait_idle(min(float(wait), 30.0))
            except ValueError:
                raise control_error(400, "wait must be a number of seconds") from None
        return {"deliveries": [d.to_json() for d in sandbox.emitter.deliveries()]}

    @bp.post("/<name>/webhook-deliveries/<delivery_id>/redeliver")
    def redeliver(name: str, delivery_id: str) -> dict[str, Any]:
        delivery = vendor(name).emitter.redeliver(delivery_id)
        if delivery is None:
            raise control_error(404, f"no delivery {delivery_id}")
        return delivery.to_json()

    def rate_limit_json(sandbox: VendorSandbox) -> dict[str, Any]:
        return asdict(sandbox.limiter.config) | {"time_factor": sandbox.time_factor}

    @bp.get("/<name>/rate-limit")
    def get_rate_limit(name: str) -> dict[str, Any]:
        return rate_limit_json(vendor(name))

    @bp.post("/<name>/rate-limit")
    def set_rate_limit(name: str) -> dict[str, Any]:
        sandbox = vendor(name)
        values = body()
        unknown = set(values) - {"limit", "window_seconds", "block_seconds"}
        if unknown:
            raise control_error(400, f"unknown keys: {sorted(unknown)}")
        for key, value in values.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise control_error(400, f"{key} must be a non-negative number")
        if values.get("limit", 1) < 1 or values.get("window_seconds", 1) <= 0:
            raise control_error(400, "limit must be at least 1 and window_seconds positive")
        if "limit" in values:
            values["limit"] = int(values["limit"])
        sandbox.limiter.reconfigure(replace(sandbox.rate_limit, **values))
        return rate_limit_json(sandbox)

    for name, sandbox in sandboxes.items():  # vendor-specific control routes, if any
        own = Blueprint(f"sandbox_control_{name}", __name__, url_prefix=f"/{name}")
        sandbox.control_routes(own)
        bp.register_blueprint(own)
    return bp
