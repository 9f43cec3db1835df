"""fleetbridge shared layer: core platform, vendor clients, flows and API routers."""
