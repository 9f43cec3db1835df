"""`POST /hooks/azuga/{connection_id}`: verify the secret header, enqueue, answer at once.

No X-Ray tracer here on purpose: it costs ~50 ms of cold start (see core/tracing.py).
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from fleetbridge.core.observability import logger, metrics
from fleetbridge.core.receiver import handle_webhook_event


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return handle_webhook_event(event, vendor="azuga")
