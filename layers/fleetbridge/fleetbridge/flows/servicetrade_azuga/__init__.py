"""ServiceTrade appointments ↔ Azuga geofences, TrackMe links and automatic clock events.

Names only (see `fleetbridge.flows`). Rules: `pairing.py`, `fence_rules.py`, `clock_rules.py`.
"""

FLOW_ID = "servicetrade-azuga"
#: Mapping entity: one appointment, its fence (other id = the Azuga geofence id) and what we did.
APPOINTMENT = "appointment"
#: Mapping entity: one En Route clock-in (id = the ServiceTrade clock event id): link + message.
EN_ROUTE = "en_route"
#: Per-connection state (poll cursor, the day's Azuga lists).
STATE = "state"
STATE_ID = "servicetrade-azuga"
