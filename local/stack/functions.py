"""The template's functions and their event sources, resolved for the local stack."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.stack.template import Resolver, Template, TemplateError

logger = logging.getLogger(__name__)

FUNCTION_TYPES = ("AWS::Serverless::Function",)
HTTP_EVENT_TYPES = {"HttpApi": "2.0", "Api": "1.0"}
SCHEDULE_EVENT_TYPES = ("Schedule", "ScheduleV2")


@dataclass(frozen=True)
class ApiRoute:
    """One `HttpApi`/`Api` event: `method` is upper case or ANY; `path` may be `$default`."""

    function: str
    event: str
    method: str
    path: str
    payload_version: str

    @property
    def route_key(self) -> str:
        """API Gateway's route key: `$default` or `METHOD /path`."""
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class SqsSource:
    """One `SQS` event source mapping."""

    function: str
    event: str
    queue_id: str
    queue_arn: str
    batch_size: int = 10
    batching_window: float = 0.0
    report_failures: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class ScheduleSpec:
    """One `Schedule`/`ScheduleV2` event: a rate() or cron() expression and optional input."""

    function: str
    name: str
    expression: str
    input: Any = None
    enabled: bool = True


@dataclass(frozen=True)
class FunctionSpec:
    """Everything needed to run one function locally."""

    logical_id: str
    code_dir: Path
    handler: str
    runtime: str = "python3.12"
    timeout: float = 3.0
    memory: int = 128
    environment: dict[str, str] = field(default_factory=dict)
    layers: tuple[Path, ...] = ()
    routes: tuple[ApiRoute, ...] = ()
    sqs: tuple[SqsSource, ...] = ()
    schedules: tuple[ScheduleSpec, ...] = ()

    @property
    def arn(self) -> str:
        """The function ARN the context reports."""
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.logical_id}"


def env_string(value: Any) -> str:
    """An environment value as CloudFormation stores it (booleans lower case, JSON for data)."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def layer_paths(template: Template, resolver: Resolver, layers: list[Any]) -> tuple[Path, ...]:
    """Directories to put on `sys.path` for the given (resolved) layer references.

    A layer's ContentUri is used as is, plus its `python/` folder when it has the standard
    Lambda layer layout. Layers that are ARNs (not in this template) are skipped with a warning.
    """
    paths: list[Path] = []
    for layer in layers:
        value = resolver.resolve(layer)
        if not isinstance(value, str) or value.startswith("arn:"):
            logger.warning("layer %r is not a local directory; skipped", value)
            continue
        directory = (template.root / value).resolve()
        paths.append(directory)
        if (directory / "python").is_dir():
            paths.append(directory / "python")
    return tuple(paths)


def _events(
    logical_id: str, events: dict[str, Any], resolver: Resolver
) -> tuple[list[ApiRoute], list[SqsSource], list[ScheduleSpec]]:
    routes: list[ApiRoute] = []
    sources: list[SqsSource] = []
    schedules: list[ScheduleSpec] = []
    for name, event in events.items():
        kind = event.get("Type")
        props = resolver.resolve(event.get("Properties") or {})
        if kind in HTTP_EVENT_TYPES:
            version = str(props.get("PayloadFormatVersion") or HTTP_EVENT_TYPES[kind])
            path = props.get("Path") or "$default"
            method = str(props.get("Method") or "ANY").upper()
            routes.append(
                ApiRoute(
                    logical_id,
                    name,
                    "ANY" if method == "X-AMAZON-APIGATEWAY-ANY-METHOD" else method,
                    path,
                    version,
                )
            )
        elif kind == "SQS":
            arn = str(props["Queue"])
            queue_id = _queue_by_arn(resolver, arn)
            sources.append(
                SqsSource(
                    function=logical_id,
                    event=name,
                    queue_id=queue_id,
                    queue_arn=arn,
                    batch_size=int(props.get("BatchSize", 10)),
                    batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                    report_failures="ReportBatchItemFailures"
                    in (props.get("FunctionResponseTypes") or []),
                    enabled=props.get("Enabled", True) not in (False, "false"),
                )
            )
        elif kind in SCHEDULE_EVENT_TYPES:
            expression = props.get("Schedule") or props.get("ScheduleExpression")
            enabled = (
                props.get("Enabled", True) not in (False, "false")
                and str(props.get("State", "ENABLED")).upper() != "DISABLED"
            )
            schedules.append(
                ScheduleSpec(
                    logical_id,
                    str(props.get("Name") or name),
                    str(expression),
                    props.get("Input"),
                    enabled,
                )
            )
        else:
            logger.info("%s: event %s of type %s is not emulated locally", logical_id, name, kind)
    return routes, sources, schedules


def _queue_by_arn(resolver: Resolver, arn: str) -> str:
    for queue_id in resolver.template.resources_of_type("AWS::SQS::Queue"):
        if resolver.get_att(queue_id, "Arn") == arn:
            return queue_id
    raise TemplateError(f"SQS event source {arn} is not a queue of this template")


def load_functions(template: Template, resolver: Resolver) -> dict[str, FunctionSpec]:
    """Every Python zip function of the template (Globals merged, values resolved)."""
    functions: dict[str, FunctionSpec] = {}
    for logical_id in template.resources_of_type(*FUNCTION_TYPES):
        if not resolver.resource_enabled(logical_id):
            continue
        props = template.function_properties(logical_id)
        runtime = str(resolver.resolve(props.get("Runtime", "")))
        if props.get("PackageType") == "Image" or not runtime.startswith("python"):
            logger.warning("%s: runtime %r is not emulated locally; skipped", logical_id, runtime)
            continue
        code_uri = resolver.resolve(props.get("CodeUri"))
        if not isinstance(code_uri, str):
            logger.warning("%s: CodeUri %r is not a local directory; skipped", logical_id, code_uri)
            continue
        variables = resolver.resolve((props.get("Environment") or {}).get("Variables") or {})
        routes, sources, schedules = _events(logical_id, props.get("Events") or {}, resolver)
        functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=(template.root / code_uri).resolve(),
            handler=str(resolver.resolve(props.get("Handler", "app.lambda_handler"))),
            runtime=runtime,
            timeout=float(resolver.resolve(props.get("Timeout", 3))),
            memory=int(resolver.resolve(props.get("MemorySize", 128))),
            environment={k: env_string(v) for k, v in variables.items()},
            layers=layer_paths(template, resolver, props.get("Layers") or []),
            routes=tuple(routes),
            sqs=tuple(sources),
            schedules=tuple(schedules),
        )
    return functions


def global_function_spec(
    template: Template, resolver: Resolver, logical_id: str, code_dir: Path, handler: str
) -> FunctionSpec:
    """A function that is not in the template but gets its Globals (env, layers, runtime).

    The local stack runs its own helpers (e.g. creating tenants) this way, isolated from the
    stack process exactly like the template's functions.
    """
    props = (template.data.get("Globals") or {}).get("Function") or {}
    variables = resolver.resolve((props.get("Environment") or {}).get("Variables") or {})
    return FunctionSpec(
        logical_id=logical_id,
        code_dir=code_dir.resolve(),
        handler=handler,
        timeout=float(resolver.resolve(props.get("Timeout", 30))),
        memory=int(resolver.resolve(props.get("MemorySize", 512))),
        environment={k: env_string(v) for k, v in variables.items()},
        layers=layer_paths(template, resolver, props.get("Layers") or []),
    )
