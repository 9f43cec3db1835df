"""The Azuga sandbox as mounted: ``AzugaBase`` (base.py) plus the routes of this package and
its control route ``POST /_sandbox/azuga/positions``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from local.sandboxes.azuga import positions, routes
from local.sandboxes.azuga.base import AzugaBase
from local.sandboxes.framework import SandboxError


class AzugaSandbox(AzugaBase):
    """Azuga's users, trackees, geomarks and TrackMe links over HTTP."""

    def register_routes(self, bp: Blueprint) -> None:
        """Every documented route."""
        routes.register(bp, self)

    def control_routes(self, bp: Blueprint) -> None:
        """``POST /positions``: move a vehicle, emitting the geofence alerts it causes."""

        @bp.post("/positions")
        def move_vehicle() -> dict[str, Any]:
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                raise SandboxError(400, "the body must be a JSON object", code="bad_request")
            return positions.move(self, body)
