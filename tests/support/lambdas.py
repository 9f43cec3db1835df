"""Load a function's `app.py` as its own module (every handler is named `app`) and invoke it."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class FakeContext:
    """Enough of a LambdaContext for Powertools."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def load_handler(function_dir: str) -> ModuleType:
    """`functions/<function_dir>/app.py`, imported fresh under a unique module name."""
    path = ROOT / "functions" / function_dir / "app.py"
    name = f"handler_{function_dir}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def invoke(function_dir: str, event: dict[str, Any]) -> Any:
    """Run the function's handler once with `event`."""
    return load_handler(function_dir).lambda_handler(event, FakeContext(function_name=function_dir))
