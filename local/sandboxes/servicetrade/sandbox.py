"""The ServiceTrade sandbox as mounted: ``ServiceTradeBase`` (base.py) plus ``routes.py``."""

from __future__ import annotations

from flask import Blueprint

from local.sandboxes.servicetrade import routes
from local.sandboxes.servicetrade.base import ServiceTradeBase


class ServiceTradeSandbox(ServiceTradeBase):
    """ServiceTrade's session, appointments, techs, clock events and Service Link over HTTP."""

    def register_routes(self, bp: Blueprint) -> None:
        """Auth, appointments, users, clock events and messages (``routes.py``)."""
        routes.register(bp, self)
