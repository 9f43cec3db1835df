"""A PyYAML loader that understands CloudFormation's short intrinsic-function tags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

#: Short tag -> long form key. `!GetAtt A.B` becomes `{"Fn::GetAtt": ["A", "B"]}`.
SHORT_TAGS: dict[str, str] = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "Sub",
            "GetAtt",
            "Join",
            "If",
            "Select",
            "Split",
            "Equals",
            "Not",
            "And",
            "Or",
            "FindInMap",
            "ImportValue",
            "Base64",
            "Cidr",
            "GetAZs",
            "Transform",
            "Length",
            "ToJsonString",
        )
    },
}


class CfnLoader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation short tags, loaded into their long `Fn::` forms."""


def _construct(loader: CfnLoader, node: yaml.Node, key: str) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if key == "Fn::GetAtt":
            logical_id, _, attribute = str(value).partition(".")
            value = [logical_id, attribute]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {key: value}


def _register() -> None:
    for short, long in SHORT_TAGS.items():
        CfnLoader.add_constructor(
            f"!{short}", lambda loader, node, key=long: _construct(loader, node, key)
        )


_register()


def load_yaml(text: str) -> Any:
    """Parse CloudFormation YAML (short tags included) into plain Python data."""
    return yaml.load(text, Loader=CfnLoader)


def load_template_file(path: Path) -> dict[str, Any]:
    """Read and parse a template file; a mapping is required at the top level."""
    data = load_yaml(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a CloudFormation template")
    return data
