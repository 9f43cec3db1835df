"""Fleetio vehicle assignments → Keycafe key bookings. Rules: `rules.py`; docs/fleetio-keycafe.md."""
