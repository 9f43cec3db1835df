"""The Striven sandbox as mounted: ``StrivenBase`` (base.py) plus the routes of ``routes.py``."""

from __future__ import annotations

from flask import Blueprint

from local.sandboxes.striven import routes
from local.sandboxes.striven.base import StrivenBase


class StrivenSandbox(StrivenBase):
    """Striven's token, tasks, employees, task types and the sandbox-only teams over HTTP."""

    def register_routes(self, bp: Blueprint) -> None:
        """Token, tasks, employees, task types and the sandbox-only teams (``routes.py``)."""
        routes.register(bp, self)
