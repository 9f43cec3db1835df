"""Azuga sandbox: ``base.py`` (state, auth, per-endpoint rate limit, geomark validation,
webhook auth headers), ``routes.py`` (the vendor API routes), ``positions.py`` (vehicle
positions and the geofence alerts they cause) and ``sandbox.py`` (the class the app mounts,
with its control route)."""

from local.sandboxes.azuga.sandbox import AzugaSandbox

__all__ = ["AzugaSandbox"]
