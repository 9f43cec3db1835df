"""The Keycafe sandbox as mounted: ``KeycafeBase`` (base.py) plus the routes of this package."""

from __future__ import annotations

from flask import Blueprint

from local.sandboxes.keycafe import access
from local.sandboxes.keycafe.base import KeycafeBase


class KeycafeSandbox(KeycafeBase):
    """Keycafe's keys, users and accesses over HTTP."""

    def register_routes(self, bp: Blueprint) -> None:
        """Keys, users and accesses."""
        bp.add_url_rule("/key", view_func=self.list_keys)
        bp.add_url_rule("/key/<record_id>", view_func=self.get_key)
        bp.add_url_rule("/user", view_func=self.list_users)
        bp.add_url_rule("/user/<record_id>", view_func=self.get_user)
        access.register(bp, self)
