"""API Gateway route selection: `{param}`, greedy `{proxy+}`, `ANY` and `$default`.

The most specific route wins: compared segment by segment from the left, a static segment
beats a `{param}`, which beats a greedy `{param+}`; then a route with the request's method
beats `ANY`; `$default` only catches what nothing else matches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from local.stack.functions import ApiRoute

STATIC, PARAM, GREEDY = 0, 1, 2


def split_path(path: str) -> list[str]:
    """Path segments without the leading slash (a trailing slash is ignored)."""
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


@dataclass(frozen=True)
class CompiledRoute:
    """A route with its path template split into segments."""

    route: ApiRoute
    segments: tuple[str, ...]

    @classmethod
    def compile(cls, route: ApiRoute) -> CompiledRoute:
        """Split the route's path template."""
        segments = () if route.path == "$default" else tuple(split_path(route.path))
        return cls(route, segments)

    @property
    def ranks(self) -> tuple[int, ...]:
        """The kind of each segment (STATIC, PARAM or GREEDY)."""
        return tuple(
            GREEDY
            if s.startswith("{") and s.endswith("+}")
            else PARAM
            if s.startswith("{")
            else STATIC
            for s in self.segments
        )

    def match(self, method: str, parts: list[str]) -> dict[str, str] | None:
        """Path parameters when this route matches `method` + `parts`, else None."""
        if self.route.method not in ("ANY", method):
            return None
        if self.route.path == "$default":
            return {}
        params: dict[str, str] = {}
        for index, (segment, rank) in enumerate(zip(self.segments, self.ranks, strict=True)):
            if rank == GREEDY:
                rest = parts[index:]
                if not rest:
                    return None
                params[segment[1:-2]] = unquote("/".join(rest))
                return params
            if index >= len(parts):
                return None
            if rank == PARAM:
                if not parts[index]:
                    return None
                params[segment[1:-1]] = unquote(parts[index])
            elif unquote(parts[index]) != segment:
                return None
        return params if len(parts) == len(self.segments) else None

    def priority(self) -> tuple[int, tuple[int, ...], int]:
        """Sort key: lower is more specific."""
        is_default = 1 if self.route.path == "$default" else 0
        return is_default, self.ranks, 1 if self.route.method == "ANY" else 0


class RouteTable:
    """Every route of the stack, tried from the most to the least specific."""

    def __init__(self, routes: Iterable[ApiRoute]) -> None:
        compiled = [CompiledRoute.compile(route) for route in routes]
        self.routes = sorted(compiled, key=CompiledRoute.priority)

    def match(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        """The route that serves `method path`, with its path parameters."""
        parts = split_path(path)
        for compiled in self.routes:
            params = compiled.match(method.upper(), parts)
            if params is not None:
                return compiled.route, params
        return None
