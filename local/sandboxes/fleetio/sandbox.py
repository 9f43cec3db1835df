"""The Fleetio sandbox as mounted: ``FleetioBase`` (base.py) plus the routes of this package."""

from __future__ import annotations

from flask import Blueprint

from local.sandboxes.fleetio import assignments
from local.sandboxes.fleetio.base import FleetioBase


class FleetioSandbox(FleetioBase):
    """Fleetio's vehicles, contacts and vehicle assignments over HTTP."""

    def register_routes(self, bp: Blueprint) -> None:
        """Vehicles, contacts and vehicle assignments."""
        for path, resource in (("/v1/vehicles", "vehicles"), ("/v2/contacts", "contacts")):
            bp.add_url_rule(path, f"list_{resource}", lambda r=resource: self.listing(r))
            bp.add_url_rule(f"{path}/<record_id>", view_func=self.one(resource))
        assignments.register(bp, self)
