"""Onfleet sandbox: ``base.py`` (state, auth, errors, webhooks, assignment helpers; the vendor
behaviour it models), ``tasks.py`` and ``workers.py`` (task, worker, team and container routes)
and ``sandbox.py`` (the class the app mounts)."""

from local.sandboxes.onfleet.base import UrlChecker
from local.sandboxes.onfleet.sandbox import OnfleetSandbox

__all__ = ["OnfleetSandbox", "UrlChecker"]
