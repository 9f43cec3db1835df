"""Management API function: includes the routers; rules live in the shared layer."""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from fleetbridge.api import (
    connections,
    fleetio_keycafe,
    gpsinsight_driveri,
    routing,
    striven_onfleet,
)
from fleetbridge.api.docs import install_docs
from fleetbridge.api.errors import install_error_handlers
from fleetbridge.api.guard import guarded_resolve
from fleetbridge.core.observability import logger, metrics
from fleetbridge.core.tracing import tracer

app = APIGatewayHttpResolver(enable_validation=True)
app.include_router(connections.router)
app.include_router(fleetio_keycafe.router)
app.include_router(gpsinsight_driveri.router)
app.include_router(striven_onfleet.router)
app.include_router(routing.router)
install_error_handlers(app)
install_docs(app)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return guarded_resolve(app, event, context)
