"""GPS Insight portal drivers → Netradyne Driveri drivers (Driver Sync). Rules: `rules.py`.

Only names live here: importing the package must stay cheap (the API and webhook functions load
it at cold start).
"""

FLOW_ID = "gpsinsight-driveri"
#: Mapping entity: a portal driver, the Driveri profile it is linked to, and what we last applied.
DRIVER = "driver"
