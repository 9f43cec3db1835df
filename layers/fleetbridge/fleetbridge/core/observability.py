"""One Logger, Tracer and Metrics per process, shared by handlers and the layer."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
