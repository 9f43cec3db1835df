"""GPS Insight portal drivers → Netradyne Driveri drivers (Driver Sync). Rules: `rules.py`.

Names only (see `fleetbridge.flows`).
"""

FLOW_ID = "gpsinsight-driveri"
#: Mapping entity: a portal driver, the Driveri profile it is linked to, and what we last applied.
DRIVER = "driver"
#: Per-connection state (initial sync done, last reconciliation, latest drift report keys).
STATE = "state"
STATE_ID = "driver-sync"
