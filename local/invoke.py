"""`python -m local.invoke <FunctionLogicalId> <event.json>`: run one function once.

The function runs in a worker exactly as `local.serve` runs it (its own environment and
path), against the stack that is already running (endpoints from FLEETBRIDGE_AWS_ENDPOINT,
FLEETBRIDGE_API_URL, FLEETBRIDGE_SANDBOX_URL or the default ports). Prints the result as
JSON on stdout and the function's new log lines (also appended to
`<FLEETBRIDGE_LOCAL_LOG_DIR>/<LogicalId>.log`) on stderr; exits 1 when the function fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from local.stack.aws import aws_client
from local.stack.config import Endpoints, StackSettings, function_environment
from local.stack.functions import load_functions
from local.stack.runtime import FunctionRuntime
from local.stack.template import Resolver, Template


def _bind_running_stack(resolver: Resolver, endpoint: str) -> None:
    """Record the queue URLs and secret ARNs of the running moto."""
    template = resolver.template
    sqs = aws_client("sqs", endpoint)
    for queue_id in template.resources_of_type("AWS::SQS::Queue"):
        url = sqs.get_queue_url(QueueName=resolver.queue_name(queue_id))["QueueUrl"]
        resolver.set_physical(queue_id, "Ref", url)
    secrets = aws_client("secretsmanager", endpoint)
    for secret_id in template.resources_of_type("AWS::SecretsManager::Secret"):
        arn = secrets.describe_secret(SecretId=resolver.secret_name(secret_id))["ARN"]
        resolver.set_physical(secret_id, "Ref", arn)


def main(argv: list[str] | None = None) -> int:
    """Invoke the function, print its result."""
    parser = argparse.ArgumentParser(prog="python -m local.invoke", description=__doc__)
    parser.add_argument("function", help="the function's logical id in the template")
    parser.add_argument("event", type=Path, help="a JSON event file")
    parser.add_argument("--template", type=Path, default=StackSettings().template)
    args = parser.parse_args(argv)
    if not args.event.is_file():
        print(f"event file not found: {args.event}", file=sys.stderr)
        return 2
    try:
        event = json.loads(args.event.read_text(encoding="utf-8"))
    except ValueError as exc:
        print(f"{args.event} is not valid JSON: {exc}", file=sys.stderr)
        return 2
    endpoints = Endpoints.from_env()
    template = Template.load(args.template)
    resolver = Resolver(template, endpoints.aws_url, endpoints.api_url)
    try:
        _bind_running_stack(resolver, endpoints.aws_url)
    except (BotoCoreError, ClientError) as exc:
        print(
            f"no local stack at {endpoints.aws_url} ({exc}); start it with `make serve`",
            file=sys.stderr,
        )
        return 2
    functions = load_functions(template, resolver)
    if args.function not in functions:
        print(
            f"no function {args.function!r}; the template has: {', '.join(functions)}",
            file=sys.stderr,
        )
        return 2
    log_dir = StackSettings().log_dir
    log = log_dir / f"{args.function}.log"
    offset = log.stat().st_size if log.exists() else 0
    runtime = FunctionRuntime(
        {args.function: functions[args.function]},
        lambda spec: function_environment(spec, endpoints),
        log_dir,
        concurrency=1,
    )
    try:
        invocation = runtime.invoke(args.function, event)
    finally:
        runtime.close()
    with log.open("rb") as lines:
        lines.seek(offset)
        sys.stderr.write(lines.read().decode("utf-8", errors="replace"))
    print(json.dumps(invocation.payload, indent=2))
    return 0 if invocation.ok else 1


if __name__ == "__main__":
    sys.exit(main())
