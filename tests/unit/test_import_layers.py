"""Import layers of the dev tools (issue 13 item 4): no import circle in `local/`, and the vendor
sandboxes are packages on top of a common part that never imports them back.

Every import counts, wherever it is written: at module level, under `if TYPE_CHECKING:` and
inside a function (an import moved into a function or under TYPE_CHECKING to dodge a circle is
still the circle)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import local
import local.sandboxes

LOCAL = Path(local.__file__).parent
SANDBOXES = "local.sandboxes"
SANDBOXES_DIR = Path(local.sandboxes.__file__).parent
# every package under local/sandboxes/ is a vendor's sandbox; the plain modules are the common
# part, plus `app` that mounts every vendor
VENDORS = {p.parent.name for p in SANDBOXES_DIR.glob("*/__init__.py")}
COMMON = {"control", "faults", "framework", "ratelimit", "tokens", "webhooks"}


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package at ``root`` by dotted name (a package by its own name)."""
    found = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def import_edges(root: Path) -> dict[str, set[str]]:
    """module -> the modules of the same tree it imports (``from pkg import submodule`` is an
    import of the submodule); imports at any depth of the syntax tree count."""
    known = modules(root)
    edges: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    targets.append(sub if sub in known else node.module)
            edges[name].update(t for t in targets if t in known and t != name)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def vendor_of(module: str) -> str | None:
    """The vendor package a ``local.sandboxes`` module belongs to, if any."""
    parts = module.split(".")
    return (
        parts[2]
        if len(parts) > 2 and parts[:2] == SANDBOXES.split(".") and parts[2] in VENDORS
        else None
    )


def test_the_cycle_finder_finds_a_circle_hidden_in_a_function(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from pkg import b\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import f\n"
    )
    (pkg / "c.py").write_text("import pkg.a\n")
    assert cycles(import_edges(pkg)) == [["pkg.a", "pkg.b"]]


def test_local_has_no_import_circle() -> None:
    assert cycles(import_edges(LOCAL)) == []


def test_each_vendor_sandbox_is_a_package_on_the_common_part() -> None:
    assert {"driveri", "fleetio", "gpsinsight", "keycafe", "onfleet", "striven"} <= VENDORS
    flat = {p.stem for p in SANDBOXES_DIR.glob("*.py")} - COMMON - {"__init__", "app"}
    assert not flat, f"a vendor sandbox is a package local/sandboxes/<vendor>/, not {flat}"
    edges = import_edges(LOCAL)
    common = {f"{SANDBOXES}.{name}" for name in COMMON}
    for module, targets in edges.items():
        vendors = {vendor_of(t) for t in targets} - {None}
        if module in common:
            assert not vendors, f"{module} (common) imports the vendors {vendors}"
            assert f"{SANDBOXES}.app" not in targets, module
        if vendor_of(module):
            assert vendors <= {vendor_of(module)}, f"{module} imports the vendors {vendors}"
            outside = {t for t in targets if not vendor_of(t)}
            assert outside <= common, f"{module} imports {outside - common}"


def test_the_common_part_loads_no_vendor() -> None:
    """At run time too: importing a common module (which imports its package first) loads no
    vendor package and not the app."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {sorted(COMMON)!r}:\n"
        f"    importlib.import_module('{SANDBOXES}.' + name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('local.'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout)
    assert not [m for m in loaded if vendor_of(m) or m == f"{SANDBOXES}.app"], loaded
