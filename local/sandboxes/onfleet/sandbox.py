"""The Onfleet sandbox as mounted: ``OnfleetBase`` (base.py) plus the seeding and routes of the
task and worker modules."""

from __future__ import annotations

from flask import Blueprint

from local.sandboxes.framework import Record, now_ms
from local.sandboxes.onfleet import tasks, workers
from local.sandboxes.onfleet.base import OnfleetBase


class OnfleetSandbox(OnfleetBase):
    """Onfleet's tasks, workers, teams, containers and webhooks over HTTP."""

    def prepare_seed(self, resource: str, record: Record) -> Record:
        """Fill Onfleet defaults and keep workers, teams and tasks linked."""
        record.setdefault("id", self.new_id(resource))
        if resource == "tasks":
            return tasks.seed_task(self, record)
        if resource == "workers":
            return workers.seed_worker(self, record)
        if resource == "teams":
            return workers.seed_team(self, record)
        ts = now_ms()
        record.setdefault("timeCreated", ts)
        record.setdefault("timeLastModified", ts)
        return record

    def register_routes(self, bp: Blueprint) -> None:
        """Auth test, organization, webhooks, plus the task and worker modules."""
        bp.add_url_rule("/auth/test", view_func=self.auth_test)
        bp.add_url_rule("/organization", "organization", lambda: dict(self.organization))
        bp.add_url_rule("/webhooks", view_func=self.list_webhooks)
        bp.add_url_rule("/webhooks", view_func=self.create_webhook, methods=["POST"])
        bp.add_url_rule("/webhooks/<hook_id>", view_func=self.delete_webhook, methods=["DELETE"])
        tasks.register(bp, self)
        workers.register(bp, self)
