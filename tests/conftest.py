"""Shared test set-up: fake AWS credentials and no real endpoints, ever."""

from __future__ import annotations

import os

# Before anything imports boto3: tests never reach AWS.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="FleetbridgeTests",
    POWERTOOLS_SERVICE_NAME="fleetbridge",
    POWERTOOLS_LOG_LEVEL="WARNING",
)
for _name in ("AWS_ENDPOINT_URL", "FLEETBRIDGE_AWS_ENDPOINT", "AWS_PROFILE"):
    os.environ.pop(_name, None)
