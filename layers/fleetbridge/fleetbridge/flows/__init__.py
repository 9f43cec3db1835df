"""The flow catalogue: every flow the platform offers, by id → the module that defines `FLOW`.

Core knows no flow: `core.registry` reads this catalogue and imports a flow's module on its
first use. Adding a flow = its package under `flows/` + one line here. Only names live here:
importing this package must stay cheap (every function loads it). So must importing a flow's
package: its `__init__` holds only names (flow id, mapping entities, state ids), which the API and
webhook functions load at cold start; everything else is in the package's modules.
"""

FLOW_MODULES: dict[str, str] = {
    "fleetio-keycafe": "fleetbridge.flows.fleetio_keycafe.flow",
    "gpsinsight-driveri": "fleetbridge.flows.gpsinsight_driveri.flow",
    "striven-onfleet": "fleetbridge.flows.striven_onfleet.flow",
    "servicetrade-azuga": "fleetbridge.flows.servicetrade_azuga.flow",
}
