"""X-Ray tracing. Separate from logging because importing it costs ~50 ms (aws_xray_sdk): the
webhook receivers, whose only job is verify-and-enqueue fast, do without it (Lambda's active
tracing still records their invocations)."""

from __future__ import annotations

from aws_lambda_powertools import Tracer

# auto_patch would import every library X-Ray can patch (httpx, sqlite3, ...) at cold start; we
# patch the two we use: botocore here, httpx where it is imported (core.http).
tracer = Tracer(auto_patch=False)
tracer.patch(["botocore"])
