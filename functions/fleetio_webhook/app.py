"""`POST /hooks/fleetio/{connection_id}`: verify the signature, enqueue, answer at once."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from fleetbridge.core.observability import logger, metrics, tracer
from fleetbridge.core.receiver import handle_webhook_event


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return handle_webhook_event(event, vendor="fleetio")
