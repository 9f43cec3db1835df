"""Fleetio vehicle assignments → Keycafe key bookings. Rules: `rules.py`; docs/fleetio-keycafe.md.

Only names live here: importing the package must stay cheap (the API and webhook functions load
it at cold start).
"""

FLOW_ID = "fleetio-keycafe"
#: Mapping entities: a vehicle's key link, and what we booked for an assignment.
LINK = "vehicle_link"
ASSIGNMENT = "assignment"
#: Keycafe users that exist only because we booked a guest (no account, hence no PIN).
GUEST_USER = "keycafe_guest_user"
