"""The API's resolver and routers, built by the first request that needs them (cold start).

Powertools' resolver with `enable_validation` loads pydantic and its OpenAPI machinery, and each
router its models: the API function initialises with none of it. The guard (body size, API key)
runs first; then the resolver is built once, and the routers a path needs are included once:
a `/connections...` request includes the management routers (connections and every flow's
views), `/v0/` or `/v1/` the routing router, `/docs` and `/openapi.json` all of them. A flow
adds its router module to `ROUTER_GROUPS` under the prefix its paths start with.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

#: path prefix → router modules (each defines `router`), in inclusion order
ROUTER_GROUPS: dict[str, tuple[str, ...]] = {
    "/connections": (
        "fleetbridge.api.connections",
        "fleetbridge.api.fleetio_keycafe",
        "fleetbridge.api.gpsinsight_driveri",
        "fleetbridge.api.striven_onfleet",
        "fleetbridge.api.servicetrade_azuga",
    ),
    "/v0": ("fleetbridge.api.routing",),
    "/v1": ("fleetbridge.api.routing",),
}
#: paths that describe the whole API
ALL_ROUTES_PATHS = frozenset({"/docs", "/openapi.json"})


def router_modules_for(path: str) -> tuple[str, ...]:
    """The router modules serving `path` (none: the API answers its 404)."""
    if path in ALL_ROUTES_PATHS:
        return tuple(dict.fromkeys(m for group in ROUTER_GROUPS.values() for m in group))
    for prefix, modules in ROUTER_GROUPS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return modules
    return ()


class LazyApi:
    """One resolver per process, with the routers included as paths need them."""

    def __init__(self) -> None:
        self._app: APIGatewayHttpResolver | None = None
        self._included: set[str] = set()

    def app_for(self, path: str) -> APIGatewayHttpResolver:
        """The resolver, built on first use, with every router serving `path` included."""
        app = self._app or self._build()
        for module in router_modules_for(path):
            if module not in self._included:
                app.include_router(importlib.import_module(module).router)
                self._included.add(module)
        return app

    def _build(self) -> APIGatewayHttpResolver:
        from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

        from fleetbridge.api.docs import install_docs
        from fleetbridge.api.errors import install_error_handlers

        self._app = APIGatewayHttpResolver(enable_validation=True)
        install_error_handlers(self._app)
        install_docs(self._app)
        return self._app
