"""Route selection: static beats {param} beats {greedy+}, a method beats ANY, $default last."""

from __future__ import annotations

import pytest

from local.stack.functions import ApiRoute
from local.stack.routes import RouteTable


def route(function: str, method: str, path: str) -> ApiRoute:
    return ApiRoute(function, function, method, path, "2.0")


TABLE = RouteTable(
    [
        route("default", "ANY", "$default"),
        route("greedy", "ANY", "/a/{proxy+}"),
        route("param", "GET", "/a/{id}"),
        route("static", "GET", "/a/b"),
        route("any_static", "ANY", "/a/b"),
        route("deep", "GET", "/a/{id}/c"),
        route("hook", "POST", "/hooks/fleetio/{connection_id}"),
        route("hook_any_vendor", "POST", "/hooks/{vendor}/{connection_id}"),
        route("root", "GET", "/"),
    ]
)


@pytest.mark.parametrize(
    ("method", "path", "function", "params"),
    [
        ("GET", "/a/b", "static", {}),
        ("POST", "/a/b", "any_static", {}),
        ("GET", "/a/x", "param", {"id": "x"}),
        ("PUT", "/a/x", "greedy", {"proxy": "x"}),
        ("GET", "/a/x/c", "deep", {"id": "x"}),
        ("GET", "/a/x/y/z", "greedy", {"proxy": "x/y/z"}),
        ("GET", "/a/hello%20world", "param", {"id": "hello world"}),
        ("POST", "/hooks/fleetio/con_1", "hook", {"connection_id": "con_1"}),
        (
            "POST",
            "/hooks/keycafe/con_1",
            "hook_any_vendor",
            {"vendor": "keycafe", "connection_id": "con_1"},
        ),
        ("GET", "/hooks/fleetio/con_1", "default", {}),
        ("GET", "/", "root", {}),
        ("GET", "/a", "default", {}),
        ("DELETE", "/nowhere/at/all", "default", {}),
    ],
)
def test_most_specific_route_wins(method: str, path: str, function: str, params: dict) -> None:
    matched = TABLE.match(method, path)
    assert matched is not None
    assert (matched[0].function, matched[1]) == (function, params)


def test_no_default_route_means_no_match() -> None:
    table = RouteTable([route("x", "GET", "/x/{id}")])
    assert table.match("GET", "/x") is None
    assert table.match("GET", "/x/") is None
    assert table.match("POST", "/x/1") is None
    assert table.match("GET", "/x/1")[0].function == "x"  # type: ignore[index]


def test_route_keys() -> None:
    assert route("f", "ANY", "$default").route_key == "$default"
    assert route("f", "GET", "/a/{id}").route_key == "GET /a/{id}"
