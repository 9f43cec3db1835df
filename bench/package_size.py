"""Unzipped deployment size of every function after `sam build`.

Reads the built template (`<build dir>/template.yaml`) for each function's CodeUri and Layers,
sums the bytes of its code directory and of every layer directory it uses (what Lambda counts
against the 250 MB unzipped limit), prints a table and exits non-zero if a function is over
the limit. Webhook/API functions (any `Api`/`HttpApi` event) are also held to a 30 MB goal,
reported but not enforced: they must start fast.

    python bench/package_size.py .aws-sam/build
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from sam_template import functions, layer_content_uri, layer_ref, load_template

MB = 1024 * 1024  # Lambda's "250 MB" is 262,144,000 bytes: mebibytes
LAMBDA_LIMIT_MB = 250.0
HTTP_GOAL_MB = 30.0


@dataclass(frozen=True)
class FunctionSize:
    """One function's unzipped size, split into its own code and its layers."""

    name: str
    code_bytes: int
    layer_bytes: int
    goal_mb: float
    external_layers: int = 0  # layers given as ARNs: not on disk, not counted

    @property
    def total_bytes(self) -> int:
        return self.code_bytes + self.layer_bytes

    @property
    def total_mb(self) -> float:
        return self.total_bytes / MB

    @property
    def meets_goal(self) -> bool:
        return self.total_mb <= self.goal_mb


def dir_size(path: Path) -> int:
    """Total size in bytes of the regular files under `path` (symlinked files counted once)."""
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            file = Path(root, name)
            if file.is_file():
                total += file.stat().st_size
    return total


def measure(build_dir: Path, http_goal_mb: float = HTTP_GOAL_MB) -> list[FunctionSize]:
    """Size every function of the built template in `build_dir`."""
    template = load_template(build_dir / "template.yaml")
    layer_cache: dict[str, int] = {}
    sizes = []
    for function in functions(template):
        if function.code_uri is None:
            raise ValueError(f"{function.logical_id}: no local CodeUri in the built template")
        layer_bytes, external = 0, 0
        for layer in function.layers:
            logical_id = layer_ref(layer)
            uri = layer_content_uri(template, logical_id) if logical_id else None
            if uri is None:
                external += 1
                continue
            if uri not in layer_cache:
                layer_cache[uri] = dir_size(build_dir / uri)
            layer_bytes += layer_cache[uri]
        sizes.append(
            FunctionSize(
                name=function.logical_id,
                code_bytes=dir_size(build_dir / function.code_uri),
                layer_bytes=layer_bytes,
                goal_mb=http_goal_mb if function.has_http_event else LAMBDA_LIMIT_MB,
                external_layers=external,
            )
        )
    return sizes


def over_limit(sizes: list[FunctionSize], limit_mb: float = LAMBDA_LIMIT_MB) -> list[FunctionSize]:
    """The functions whose code + layers exceed Lambda's unzipped limit."""
    return [size for size in sizes if size.total_mb > limit_mb]


def format_table(sizes: list[FunctionSize]) -> str:
    """A fixed-width table: function, code MB, layers MB, total MB, goal."""
    width = max([len("function"), *(len(size.name) for size in sizes)])
    lines = [f"{'function':<{width}}  {'code MB':>8}  {'layers MB':>9}  {'total MB':>8}  goal"]
    for size in sizes:
        verdict = "ok" if size.meets_goal else "OVER"
        note = (
            f" ({size.external_layers} external layer(s) not counted)"
            if size.external_layers
            else ""
        )
        lines.append(
            f"{size.name:<{width}}  {size.code_bytes / MB:>8.3f}  {size.layer_bytes / MB:>9.2f}  "
            f"{size.total_mb:>8.2f}  <= {size.goal_mb:g} {verdict}{note}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "build_dir",
        nargs="?",
        type=Path,
        default=Path(".aws-sam/build"),
        help="directory `sam build` wrote (default: .aws-sam/build)",
    )
    parser.add_argument("--limit-mb", type=float, default=LAMBDA_LIMIT_MB, help="fail above this")
    parser.add_argument(
        "--http-goal-mb", type=float, default=HTTP_GOAL_MB, help="goal for webhook/API functions"
    )
    args = parser.parse_args(argv)

    if not (args.build_dir / "template.yaml").is_file():
        print(f"{args.build_dir}/template.yaml not found: run `make build` first", file=sys.stderr)
        return 2
    sizes = measure(args.build_dir, args.http_goal_mb)
    print(format_table(sizes))
    missed = [size.name for size in sizes if not size.meets_goal]
    if missed:
        print(f"\ngoal missed (reported, not enforced): {', '.join(missed)}")
    too_big = over_limit(sizes, args.limit_mb)
    if too_big:
        names = ", ".join(f"{size.name} ({size.total_mb:.1f} MB)" for size in too_big)
        print(f"\nover the {args.limit_mb:g} MB unzipped limit: {names}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
