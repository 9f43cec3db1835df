"""Management and routing API function: the resolver and each group of routers are loaded by
the first request that needs them (cold start, see fleetbridge/api/lazy.py); rules live in the
shared layer."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from fleetbridge.api.guard import guarded_resolve
from fleetbridge.api.lazy import LazyApi
from fleetbridge.core.observability import logger, metrics
from fleetbridge.core.tracing import tracer

api = LazyApi()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return guarded_resolve(api, event, context)
