"""Just enough of a SAM template reader for the benchmarks.

Reads the source `template.yaml` (short-form tags such as `!Ref`) or the one `sam build` writes
(long form), applies `Globals.Function` to every `AWS::Serverless::Function` the way SAM does
(maps merged, lists prepended, scalars overridden), and resolves intrinsic functions to
placeholder values so a handler can be imported with a realistic environment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.stack.cfn_yaml import load_template_file
from local.stack.template import merge_globals

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
PSEUDO_PARAMETERS = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "fleetbridge",
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/fleetbridge/0",
    "AWS::NoValue": "",
}
HTTP_EVENT_TYPES = frozenset({"Api", "HttpApi"})


def load_template(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM template (YAML or JSON) with the local stack's one reader."""
    data = load_template_file(path)
    if "Resources" not in data:
        raise ValueError(f"{path} is not a CloudFormation template (no Resources)")
    return data


@dataclass(frozen=True)
class Function:
    """One `AWS::Serverless::Function` with `Globals.Function` applied."""

    logical_id: str
    code_uri: str | None
    handler: str | None
    layers: list[Any] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    events: dict[str, Any] = field(default_factory=dict)

    @property
    def has_http_event(self) -> bool:
        """True for API and webhook handlers: any `Api` or `HttpApi` event."""
        return any(
            isinstance(event, dict) and event.get("Type") in HTTP_EVENT_TYPES
            for event in self.events.values()
        )


def functions(template: dict[str, Any]) -> list[Function]:
    """Every serverless function of the template, in template order."""
    global_props = (template.get("Globals") or {}).get("Function") or {}
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = merge_globals(global_props, resource.get("Properties") or {})
        code_uri = props.get("CodeUri")
        found.append(
            Function(
                logical_id=logical_id,
                code_uri=code_uri if isinstance(code_uri, str) else None,
                handler=props.get("Handler"),
                layers=list(props.get("Layers") or []),
                environment=dict((props.get("Environment") or {}).get("Variables") or {}),
                events=dict(props.get("Events") or {}),
            )
        )
    return found


def layer_ref(layer: Any) -> str | None:
    """The logical id a `Layers` entry points at (`!Ref SharedLayer`), or None (an ARN string)."""
    if isinstance(layer, dict) and isinstance(layer.get("Ref"), str):
        return layer["Ref"]
    return None


def layer_content_uri(template: dict[str, Any], logical_id: str) -> str | None:
    """ContentUri of a layer resource of this template, if it is a local directory."""
    resource = template["Resources"].get(logical_id) or {}
    props = resource.get("Properties") or {}
    uri = (
        props.get("ContentUri")
        if "Serverless" in resource.get("Type", "")
        else props.get("Content")
    )
    return uri if isinstance(uri, str) else None


# ------------------------------------------------------------------ placeholder values


def _physical_name(logical_id: str) -> str:
    return f"fleetbridge-{logical_id}"


def _ref(template: dict[str, Any], name: str) -> str:
    if name in PSEUDO_PARAMETERS:
        return PSEUDO_PARAMETERS[name]
    parameter = (template.get("Parameters") or {}).get(name)
    if parameter is not None:
        return str(parameter.get("Default", f"dummy-{name}"))
    resource_type = (template["Resources"].get(name) or {}).get("Type", "")
    physical = _physical_name(name)
    if resource_type == "AWS::SQS::Queue":
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{physical}"
    if resource_type == "AWS::S3::Bucket":
        return physical.lower()
    if resource_type.endswith("LayerVersion"):
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:{physical}:1"
    return physical


def _get_att(template: dict[str, Any], name: str, attribute: str) -> str:
    resource_type = (template["Resources"].get(name) or {}).get("Type", "")
    physical = _physical_name(name)
    service = resource_type.split("::")[1].lower() if "::" in resource_type else "unknown"
    if attribute == "Arn":
        if service == "sqs":
            return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{physical}"
        if service == "s3":
            return f"arn:aws:s3:::{physical.lower()}"
        return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{physical}"
    if attribute in {"QueueName", "TopicName", "Name"}:
        return physical
    if attribute == "QueueUrl":
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{physical}"
    return f"{physical}-{attribute}"


def resolve(template: dict[str, Any], value: Any) -> str:
    """Resolve a template value (string or intrinsic function) to a placeholder string.

    Refs to parameters give their default; Refs to resources give a plausible physical name
    (`fleetbridge-<LogicalId>`, a queue URL for queues); `Fn::GetAtt` gives ARNs and names;
    `Fn::Sub` substitutes `${Name}` and `${Name.Attribute}`; `Fn::Join` joins.
    """
    if isinstance(value, str | int | float | bool):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return _ref(template, arg)
        if key == "Fn::GetAtt":
            name, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return _get_att(template, name, attribute)
        if key == "Fn::Sub":
            text, variables = (arg[0], arg[1]) if isinstance(arg, list) else (arg, {})

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in variables:
                    return resolve(template, variables[name])
                if "." in name and name not in PSEUDO_PARAMETERS:
                    return _get_att(template, *name.split(".", 1))
                return _ref(template, name)

            return re.sub(r"\$\{([^}!][^}]*)\}", substitute, text)
        if key == "Fn::Join":
            separator, parts = arg
            return separator.join(resolve(template, part) for part in parts)
    raise ValueError(f"cannot resolve template value {value!r}")
