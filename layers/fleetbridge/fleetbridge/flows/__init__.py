"""The flow catalogue: every flow the platform offers, by id → the module that defines `FLOW`.

Core knows no flow: `core.registry` reads this catalogue and imports a flow's module on its
first use. Adding a flow = its package under `flows/` + one line here. Only names live here:
importing this package must stay cheap (every function loads it).
"""

FLOW_MODULES: dict[str, str] = {
    "fleetio-keycafe": "fleetbridge.flows.fleetio_keycafe.flow",
    "gpsinsight-driveri": "fleetbridge.flows.gpsinsight_driveri.flow",
    "striven-onfleet": "fleetbridge.flows.striven_onfleet.flow",
}
