"""The flow's pure rules, by concern: `pairing` (rule 1), `fence_rules` (rules 2 and 7),
`clock_rules` (rules 3 to 5). Re-exported here: one place to read what the flow decides."""

from fleetbridge.flows.servicetrade_azuga.clock_rules import (
    ArrivalDecision,
    EnRouteDecision,
    decide_arrival,
    decide_en_route,
    decide_exit,
    recipients,
    within_window,
)
from fleetbridge.flows.servicetrade_azuga.fence_rules import (
    Fence,
    FenceDecision,
    Live,
    Stored,
    decide_fence,
    fence_name,
    fences_to_remove,
    wanted_fence,
    window_closes,
)
from fleetbridge.flows.servicetrade_azuga.pairing import (
    Pairing,
    driver_email_of_vehicle,
    email_key,
    pair_tech,
    tech_of_vehicle,
)

__all__ = [
    "ArrivalDecision",
    "EnRouteDecision",
    "Fence",
    "FenceDecision",
    "Live",
    "Pairing",
    "Stored",
    "decide_arrival",
    "decide_en_route",
    "decide_exit",
    "decide_fence",
    "driver_email_of_vehicle",
    "email_key",
    "fence_name",
    "fences_to_remove",
    "pair_tech",
    "recipients",
    "tech_of_vehicle",
    "wanted_fence",
    "window_closes",
    "within_window",
]
