"""Routing solver: solves queued routing runs (the only function with the solver layer)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from fleetbridge.core.observability import logger, metrics
from fleetbridge.core.tracing import tracer
from fleetbridge.routing.solver_worker import solve_batch


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return solve_batch(event, context)
