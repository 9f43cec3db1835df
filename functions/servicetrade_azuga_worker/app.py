"""ServiceTrade ↔ Azuga queue worker: polls, ServiceTrade deliveries, Azuga alerts, reconciliations."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from fleetbridge.core.observability import logger, metrics
from fleetbridge.core.tracing import tracer
from fleetbridge.core.worker import process_batch


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_batch(event, context)
