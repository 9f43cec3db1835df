"""Daily schedule: queue a reconciliation for every enabled ServiceTrade ↔ Azuga connection."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from fleetbridge.core.observability import logger, metrics
from fleetbridge.core.scheduler import queue_reconciliations
from fleetbridge.core.tracing import tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return queue_reconciliations("servicetrade-azuga", event)
