"""The Docker-free local stack: moto, the API Gateway emulator, the SQS poller, the schedules
and the function runtime, all driven by template.yaml (see local/README.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.stack.stack import LocalStack

__all__ = ["LocalStack"]


def __getattr__(name: str) -> Any:
    if name == "LocalStack":
        from local.stack.stack import LocalStack

        return LocalStack
    raise AttributeError(name)
