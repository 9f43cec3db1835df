"""One Logger and Metrics per process, shared by handlers and the layer (tracing: `core.tracing`)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
