"""The routing engine's exceptions: bad input, and runs that cannot serve a mandatory stop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fleetbridge.core.errors import FleetbridgeError, InvalidInputError


def field_path(loc: tuple[Any, ...]) -> str:
    """A validation error's location as a field path such as `stops[3].hard_window`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class InvalidRouterInput(InvalidInputError):
    """The router input breaks the schema or a rule; `field` is a path such as
    `stops[3].hard_window`."""


@dataclass(frozen=True)
class InfeasibleReason:
    """Why one mandatory stop (no `unassigned_penalty`) is not served."""

    stop: str
    message: str
    vehicle: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, without empty keys."""
        out: dict[str, Any] = {"stop": self.stop, "message": self.message}
        if self.vehicle is not None:
            out["vehicle"] = self.vehicle
        if self.field is not None:
            out["field"] = self.field
        return out


class InfeasibleRun(FleetbridgeError):
    """Some stops without `unassigned_penalty` cannot be served. `reasons` names each stop and
    why; `partial` is the best plan found (those stops in `unassigned`), or None when the run
    was refused before solving."""

    code = "infeasible"

    def __init__(
        self,
        reasons: list[InfeasibleReason],
        *,
        partial: dict[str, Any] | None = None,
        noun: str = "stop",
    ) -> None:
        first = reasons[0]
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        super().__init__(
            f"{noun} {first.stop!r} cannot be served: {first.message}{more}", field=first.field
        )
        self.reasons = reasons
        self.partial = partial

    def as_dict(self) -> dict[str, Any]:
        """The reasons as JSON, e.g. for a failed run's result."""
        return {"infeasible": [r.as_dict() for r in self.reasons]}
