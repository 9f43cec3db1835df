"""Read a SAM/CloudFormation template and resolve its intrinsic functions against local resources.

`Template` is the parsed file (parameters, Globals, resources, dependency order); `Resolver`
turns `Ref`, `Fn::Sub`, `Fn::GetAtt` and friends into the values the local stack uses: a
table's name is its logical id, a queue's Ref is its URL on moto, a bucket is
`<stack>-<logicalid>-local`, an API is `local`, a layer is its ContentUri.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.stack.cfn_yaml import load_template_file

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"
DEFAULT_STACK_NAME = "fleetbridge"


class TemplateError(ValueError):
    """The template uses something the local stack cannot resolve."""


class _NoValue:
    """`AWS::NoValue`: the enclosing key or list item disappears."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()

_API_TYPES = {
    "AWS::Serverless::HttpApi",
    "AWS::Serverless::Api",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGateway::RestApi",
}
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def merge_globals(global_props: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """SAM's Globals rule: maps merge recursively, lists append (globals first), scalars override."""
    merged = dict(global_props)
    for key, value in own.items():
        base = merged.get(key)
        if isinstance(base, dict) and isinstance(value, dict):
            merged[key] = merge_globals(base, value)
        elif isinstance(base, list) and isinstance(value, list):
            merged[key] = [*base, *value]
        else:
            merged[key] = value
    return merged


@dataclass
class Template:
    """A parsed template plus parameter values (defaults, then overrides)."""

    path: Path
    data: dict[str, Any]
    parameter_overrides: dict[str, Any] = field(default_factory=dict)
    stack_name: str = DEFAULT_STACK_NAME

    @classmethod
    def load(
        cls,
        path: Path | str,
        parameters: dict[str, Any] | None = None,
        stack_name: str = DEFAULT_STACK_NAME,
    ) -> Template:
        """Load `path` (YAML with CloudFormation short tags)."""
        path = Path(path).resolve()
        return cls(path, load_template_file(path), dict(parameters or {}), stack_name)

    @property
    def root(self) -> Path:
        """The directory relative paths (CodeUri, ContentUri) are resolved from."""
        return self.path.parent

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """Every resource by logical id."""
        return self.data.get("Resources") or {}

    def resources_of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        """The resources whose Type is one of `types`, in template order."""
        return {k: v for k, v in self.resources.items() if v.get("Type") in types}

    def parameters(self) -> dict[str, Any]:
        """Parameter values: overrides, else defaults (CommaDelimitedList becomes a list)."""
        values: dict[str, Any] = {}
        for name, spec in (self.data.get("Parameters") or {}).items():
            if name in self.parameter_overrides:
                value = self.parameter_overrides[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise TemplateError(f"parameter {name} has no default: pass a value")
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = [part.strip() for part in value.split(",")] if value else []
            elif isinstance(value, bool):
                value = str(value).lower()
            elif isinstance(value, int | float):
                value = str(value)
            values[name] = value
        return values

    def function_properties(self, logical_id: str) -> dict[str, Any]:
        """A function's Properties with `Globals.Function` merged in."""
        own = self.resources[logical_id].get("Properties") or {}
        global_props = (self.data.get("Globals") or {}).get("Function") or {}
        return merge_globals(global_props, own)

    def dependency_order(self, logical_ids: Iterable[str]) -> list[str]:
        """`logical_ids` sorted so that every resource comes after the ones it references."""
        wanted = list(logical_ids)
        pending = set(wanted)
        deps = {lid: references(self.resources[lid]) & pending for lid in wanted}
        ordered: list[str] = []
        while pending:
            ready = [lid for lid in wanted if lid in pending and not (deps[lid] & pending)]
            if not ready:
                raise TemplateError(f"circular references between {sorted(pending)}")
            for lid in ready:
                ordered.append(lid)
                pending.discard(lid)
        return ordered


def references(node: Any) -> set[str]:
    """Every logical id or parameter a node refers to (Ref, GetAtt, Sub variables, DependsOn)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                if isinstance(text, str):
                    found |= {v.split(".")[0] for v in _SUB_VARIABLE.findall(text)}
                if isinstance(value, list) and len(value) > 1:
                    found |= references(value[1])
            elif key == "DependsOn":
                found |= {value} if isinstance(value, str) else set(value)
            else:
                found |= references(value)
    return found


class Resolver:
    """Resolves intrinsic functions against parameters, pseudo parameters and local resources.

    Values that only exist once a resource is created (a queue URL moto returns, a secret ARN
    with its random suffix) are recorded with `set_physical` and win over the computed ones.
    """

    def __init__(self, template: Template, aws_url: str = "", api_url: str = "") -> None:
        self.template = template
        self.aws_url = aws_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self.parameters = template.parameters()
        self._physical: dict[tuple[str, str], Any] = {}
        self._conditions: dict[str, bool] = {}

    # ----------------------------------------------------------------- physical values
    def set_physical(self, logical_id: str, key: str, value: Any) -> None:
        """Record a value known only after creation (`key` is "Ref" or an attribute)."""
        self._physical[(logical_id, key)] = value

    def _props(self, logical_id: str) -> dict[str, Any]:
        return self.template.resources[logical_id].get("Properties") or {}

    def _named(self, logical_id: str, prop: str, default: str) -> str:
        name = self._props(logical_id).get(prop)
        return str(self.resolve(name)) if name else default

    def queue_name(self, logical_id: str) -> str:
        """The queue's name: QueueName, else its logical id (`.fifo` added for FIFO queues)."""
        default = logical_id
        if self._props(logical_id).get("FifoQueue") in (True, "true"):
            default += ".fifo"
        return self._named(logical_id, "QueueName", default)

    def table_name(self, logical_id: str) -> str:
        """The table's name: TableName, else its logical id."""
        return self._named(logical_id, "TableName", logical_id)

    def bucket_name(self, logical_id: str) -> str:
        """The bucket's name: BucketName, else `<stack>-<logical id>-local` in lower case."""
        default = f"{self.template.stack_name}-{logical_id}-local".lower()
        return self._named(logical_id, "BucketName", default)

    def secret_name(self, logical_id: str) -> str:
        """The secret's name: Name, else its logical id."""
        return self._named(logical_id, "Name", logical_id)

    def arn(self, service: str, resource: str) -> str:
        """An ARN in the local account and region."""
        return f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT_ID}:{resource}"

    def ref(self, name: str) -> Any:
        """`Ref`: a parameter, a pseudo parameter or a resource's local physical id."""
        if name in self.parameters:
            return self.parameters[name]
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::StackName": self.template.stack_name,
            "AWS::StackId": self.arn("cloudformation", f"stack/{self.template.stack_name}/local"),
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name not in self.template.resources:
            raise TemplateError(f"Ref to unknown parameter or resource {name!r}")
        if (name, "Ref") in self._physical:
            return self._physical[(name, "Ref")]
        kind = self.template.resources[name].get("Type", "")
        if kind == "AWS::DynamoDB::Table":
            return self.table_name(name)
        if kind == "AWS::SQS::Queue":
            return f"{self.aws_url}/{ACCOUNT_ID}/{self.queue_name(name)}"
        if kind == "AWS::S3::Bucket":
            return self.bucket_name(name)
        if kind in _API_TYPES:
            return "local"
        if kind == "AWS::Serverless::LayerVersion":
            return str(self.resolve(self._props(name).get("ContentUri", name)))
        if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            return self._named(name, "FunctionName", name)
        if kind == "AWS::SecretsManager::Secret":
            return self.arn("secretsmanager", f"secret:{self.secret_name(name)}")
        if kind == "AWS::SNS::Topic":
            return self.arn("sns", self._named(name, "TopicName", name))
        return name

    def get_att(self, logical_id: str, attribute: str) -> Any:
        """`Fn::GetAtt` for the attributes the local resources have."""
        if logical_id not in self.template.resources:
            raise TemplateError(f"GetAtt of unknown resource {logical_id!r}")
        if (logical_id, attribute) in self._physical:
            return self._physical[(logical_id, attribute)]
        kind = self.template.resources[logical_id].get("Type", "")
        if kind == "AWS::SQS::Queue":
            name = self.queue_name(logical_id)
            values = {
                "Arn": self.arn("sqs", name),
                "QueueName": name,
                "QueueUrl": self.ref(logical_id),
            }
        elif kind == "AWS::DynamoDB::Table":
            table_arn = self.arn("dynamodb", f"table/{self.table_name(logical_id)}")
            values = {"Arn": table_arn, "StreamArn": f"{table_arn}/stream/1970-01-01T00:00:00.000"}
        elif kind == "AWS::S3::Bucket":
            bucket = self.bucket_name(logical_id)
            values = {
                "Arn": f"arn:{PARTITION}:s3:::{bucket}",
                "DomainName": f"{bucket}.s3.{URL_SUFFIX}",
                "RegionalDomainName": f"{bucket}.s3.{REGION}.{URL_SUFFIX}",
                "WebsiteURL": f"http://{bucket}.s3-website-{REGION}.{URL_SUFFIX}",
            }
        elif kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            values = {"Arn": self.arn("lambda", f"function:{self.ref(logical_id)}")}
        elif kind == "AWS::SecretsManager::Secret":
            values = {"Id": self.ref(logical_id)}
        elif kind in _API_TYPES:
            values = {"ApiEndpoint": self.api_url, "ApiId": "local", "RootResourceId": "root"}
        else:
            service = kind.split("::")[1].lower() if kind.count("::") >= 2 else "local"
            values = {"Arn": self.arn(service, logical_id)}
        if attribute not in values:
            raise TemplateError(f"GetAtt {logical_id}.{attribute} is not supported locally")
        return values[attribute]

    # ----------------------------------------------------------------- conditions
    def condition(self, name: str) -> bool:
        """Evaluate (once) a condition of the template's Conditions section."""
        if name not in self._conditions:
            conditions = self.template.data.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    def resource_enabled(self, logical_id: str) -> bool:
        """False when the resource has a Condition that evaluates to false."""
        name = self.template.resources[logical_id].get("Condition")
        return self.condition(name) if name else True

    # ----------------------------------------------------------------- resolution
    def resolve(self, node: Any) -> Any:
        """Resolve every intrinsic function in `node` (AWS::NoValue entries are dropped)."""
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
                return self._intrinsic(key, value)
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def _intrinsic(self, key: str, value: Any) -> Any:
        if key == "Ref":
            return self.ref(str(value))
        if key == "Condition":
            return self.condition(str(value))
        if key == "Fn::GetAtt":
            parts = value if isinstance(value, list) else str(value).split(".", 1)
            parts = [str(self.resolve(p)) for p in parts]
            return self.get_att(parts[0], ".".join(parts[1:]))
        if key == "Fn::Sub":
            return self._sub(value)
        if key == "Fn::If":
            name, if_true, if_false = value
            return self.resolve(if_true if self.condition(name) else if_false)
        if key == "Fn::Equals":
            left, right = (self.resolve(v) for v in value)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self.resolve(value[0])
        if key == "Fn::And":
            return all(self.resolve(v) for v in value)
        if key == "Fn::Or":
            return any(self.resolve(v) for v in value)
        if key == "Fn::Join":
            delimiter, items = value
            return str(delimiter).join(str(v) for v in self.resolve(items))
        if key == "Fn::Select":
            index, items = self.resolve(value)
            return items[int(index)]
        if key == "Fn::Split":
            delimiter, text = self.resolve(value)
            return str(text).split(str(delimiter))
        if key == "Fn::FindInMap":
            name, top, second = (self.resolve(v) for v in value[:3])
            return (self.template.data.get("Mappings") or {})[name][top][second]
        if key == "Fn::Base64":
            return base64.b64encode(str(self.resolve(value)).encode()).decode()
        if key == "Fn::GetAZs":
            return [f"{REGION}{zone}" for zone in "abc"]
        if key == "Fn::Length":
            return len(self.resolve(value))
        if key == "Fn::ToJsonString":
            return json.dumps(self.resolve(value), separators=(",", ":"))
        raise TemplateError(f"{key} is not supported by the local stack")

    def _sub(self, value: Any) -> str:
        if isinstance(value, list):
            text, variables = value[0], self.resolve(value[1] if len(value) > 1 else {})
        else:
            text, variables = value, {}

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in variables:
                return str(variables[expression])
            if "." in expression and expression.split(".")[0] in self.template.resources:
                logical_id, attribute = expression.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(expression))

        return _SUB_VARIABLE.sub(replace, str(text))
