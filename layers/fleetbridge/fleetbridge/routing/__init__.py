"""Route planning: the Nextmv-compatible routing engine (issue 7).

`fleetbridge.routing.engine.solve(router_input, time_limit_s=...)` is the entry point. This
package import stays light (no pydantic models, numpy or solver packages are loaded here), so
handlers may import it; `solve` itself loads PyVRP and numpy when first called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fleetbridge.routing.engine import solve as solve

__all__ = ["solve"]


def __getattr__(name: str) -> Any:
    if name == "solve":
        from fleetbridge.routing.engine import solve

        return solve
    raise AttributeError(name)
