"""Every minute: queue a ServiceTrade poll for each ServiceTrade ↔ Azuga connection that is due."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from fleetbridge.core.observability import logger, metrics
from fleetbridge.core.tracing import tracer
from fleetbridge.flows.servicetrade_azuga.flow import queue_polls


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return queue_polls(event)
