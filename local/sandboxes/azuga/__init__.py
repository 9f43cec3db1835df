"""Azuga sandbox: ``base.py`` (state, auth, per-endpoint rate limit, geomark validation,
positions and geofence alerts), ``routes.py`` (the vendor API routes) and ``sandbox.py`` (the
class the app mounts, with its control route)."""

from local.sandboxes.azuga.sandbox import AzugaSandbox

__all__ = ["AzugaSandbox"]
