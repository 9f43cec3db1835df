"""The template's AWS resources in moto in-process (`mock_aws`), for integration tests and
in-process benchmarks: the local stack's own template reader and resource creation, pointed at
moto's in-process endpoints instead of its server."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from local.stack.aws import create_resources
from local.stack.functions import load_functions
from local.stack.template import Resolver, Template

#: Where `mock_aws` answers: queue URLs must look like the ones moto hands out in-process.
IN_PROCESS_SQS = "https://sqs.us-east-1.amazonaws.com"


@cache
def _template(path: Path) -> Template:
    return Template.load(path)


def create_template_resources(template_path: Path, visibility_timeout: int = 1) -> dict[str, Any]:
    """Every table, queue (with redrive), bucket and secret of the template, inside `mock_aws`.

    Queues get a short visibility timeout (`visibility_timeout` seconds) so redelivery tests are
    quick. Returns `{"env": <the functions' template environment>, "queues": {logical id: url}}`.
    """
    template = _template(template_path)
    resolver = Resolver(template, aws_url=IN_PROCESS_SQS)
    queue_seconds = [
        float(template.resources[lid].get("Properties", {}).get("VisibilityTimeout", 30))
        for lid in template.resources_of_type("AWS::SQS::Queue")
    ]
    scale = visibility_timeout / max(queue_seconds, default=1.0)
    create_resources(resolver, None, visibility_scale=scale)  # type: ignore[arg-type]
    api = load_functions(template, resolver)["ApiFunction"]
    queues = {lid: resolver.ref(lid) for lid in template.resources_of_type("AWS::SQS::Queue")}
    return {"env": dict(api.environment), "queues": queues}
