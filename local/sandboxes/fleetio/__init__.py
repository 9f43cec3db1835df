"""Fleetio sandbox: ``base.py`` (state, auth, paging, webhooks; the vendor behaviour it models),
``assignments.py`` (vehicle assignment routes) and ``sandbox.py`` (the class the app mounts)."""

from local.sandboxes.fleetio.sandbox import FleetioSandbox

__all__ = ["FleetioSandbox"]
