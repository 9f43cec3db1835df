"""Fleetio vehicle assignments → Keycafe key bookings. Rules: `rules.py`; docs/fleetio-keycafe.md.

Names only (see `fleetbridge.flows`).
"""

FLOW_ID = "fleetio-keycafe"
#: Mapping entities: a vehicle's key link, and what we booked for an assignment.
LINK = "vehicle_link"
ASSIGNMENT = "assignment"
#: Keycafe users that exist only because we booked a guest (no account, hence no PIN).
GUEST_USER = "keycafe_guest_user"
