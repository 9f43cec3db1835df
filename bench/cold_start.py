"""Cold-start cost of every API/webhook handler, against a bare boto3 + powertools import.

For each function of `template.yaml` with an `Api`/`HttpApi` event, a fresh interpreter imports
the handler module (which runs its module-level init: routers, models, Logger/Tracer/Metrics)
with sys.path = [CodeUri, every layer's ContentUri] ahead of the venv, and the function's
environment from the template with placeholder values (plus fake credentials, the variables the
Lambda runtime sets, and POWERTOOLS_TRACE_DISABLED=true unless --tracing). Nothing touches the
network at import.

The time is taken inside the subprocess with `time.perf_counter()` around the import, so
interpreter start-up is excluded from both the handler and the baseline (a fresh interpreter
doing `import boto3, aws_lambda_powertools`); the wall-clock time of each process and the CPU
time of the import are reported too. Runs alternate between baseline and handlers so load on
the machine hits every target alike; medians are printed.

After the import, the subprocess lists the modules it loaded: a handler that pulls in the
routing engine or a solver package (FORBIDDEN_MODULES) fails the run (exit 1). The ratio goals
(webhook receivers 1.3x, the API 1.6x) are reported, not enforced.

What a function defers to its first request (pydantic, the flow, the API's resolver with its
validation and routers) is not hidden: the same interpreter then runs that first use
(FIRST_USE: a webhook delivery's modules and its flow; an API request to /connections) and its
extra import time is reported as "first use ms".

    python bench/cold_start.py [--runs 10] [--template template.yaml] [--function ApiFunction]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sam_template import REGION, Function, functions, layer_content_uri, layer_ref, load_template
from sam_template import resolve as resolve_value

ROOT = Path(__file__).resolve().parent.parent
RATIO_GOAL = 1.3
#: per-function goals where they differ from RATIO_GOAL
RATIO_GOALS = {"ApiFunction": 1.6}
#: what the first request imports, run after the measured import (see the module docstring)
API_FIRST_USE = "from fleetbridge.api.lazy import LazyApi; LazyApi().app_for('/connections')\n" + (
    "import fleetbridge.core.tenants"
)
WEBHOOK_FIRST_USE = (
    "import fleetbridge.core.connections, fleetbridge.core.queue, fleetbridge.core.registry\n"
    "import fleetbridge.core.secrets\n"
)
BASELINE_IMPORTS = ("boto3", "aws_lambda_powertools")
# Module names (and their submodules) an API or webhook handler must never import.
FORBIDDEN_MODULES = (
    "fleetbridge.routing",
    "fleetbridge.solver",
    "fleetbridge.flows.routing",
    "pyvrp",
    "ortools",
    "vroom",
    "numpy",
)
# What every measured process gets on top of the function's own variables: no network, no tracing.
BASE_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
# Passed through from the caller's environment (nothing AWS-related: no profile, no endpoint).
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")

# Runs in the measured interpreter (`python -I -c PROBE <path> <imports> <handler> <first use>`):
# path entries joined by os.pathsep, imports by commas, handler "module.attribute" or "", first
# use: code run after the measurement, timed apart. Nothing but os, sys and time (loaded at
# start-up anyway) is imported before the clock starts. It prints one JSON line: wall and CPU
# time of the imports, the first use's time, and the name of every loaded module.
PROBE = """
import os, sys, time
path, imports, handler, first_use = sys.argv[1:5]
sys.path[:0] = [entry for entry in path.split(os.pathsep) if entry]
t0, c0 = time.perf_counter(), time.process_time()
for name in filter(None, imports.split(",")):
    __import__(name)
if handler:
    module, _, attribute = handler.rpartition(".")
    getattr(__import__(module, fromlist=[attribute]), attribute)
elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
modules = sorted(sys.modules)
t1 = time.perf_counter()
exec(first_use)
first = time.perf_counter() - t1
import json
print(json.dumps({"import_ms": elapsed * 1000, "cpu_ms": cpu * 1000, "first_use_ms": first * 1000,
                  "modules": modules}))
"""


@dataclass(frozen=True)
class Target:
    """One thing to import in a fresh interpreter: a handler, or the baseline."""

    name: str
    path: list[str]
    environment: dict[str, str]
    handler: str | None = None
    imports: tuple[str, ...] = ()
    first_use: str = ""


@dataclass(frozen=True)
class Run:
    """What one fresh interpreter reported."""

    import_ms: float
    cpu_ms: float
    wall_ms: float
    modules: list[str]
    first_use_ms: float = 0.0


@dataclass
class Samples:
    """Every run of one target."""

    import_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    first_use_ms: list[float] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)
    modules: int = 0

    def add(self, run: Run) -> None:
        self.import_ms.append(run.import_ms)
        self.cpu_ms.append(run.cpu_ms)
        self.wall_ms.append(run.wall_ms)
        self.first_use_ms.append(run.first_use_ms)
        self.forbidden.update(forbidden_modules(run.modules))
        self.modules = len(run.modules)

    @property
    def import_median(self) -> float:
        return statistics.median(self.import_ms)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_ms)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall_ms)

    @property
    def first_use_median(self) -> float:
        return statistics.median(self.first_use_ms)


# ------------------------------------------------------------------ pure helpers


def forbidden_modules(
    module_names: Iterable[str], forbidden: Iterable[str] = FORBIDDEN_MODULES
) -> list[str]:
    """The names that are a forbidden module or one of its submodules, sorted."""
    banned = tuple(forbidden)
    return sorted(
        name
        for name in module_names
        if any(name == bad or name.startswith(bad + ".") for bad in banned)
    )


def ratio(value: float, baseline: float) -> float:
    """value / baseline, guarding a zero baseline."""
    return value / baseline if baseline > 0 else float("inf")


def lambda_environment(function_name: str, task_root: str, handler: str = "") -> dict[str, str]:
    """Variables the python3.12 runtime sets, which libraries test for.

    They matter: with LAMBDA_TASK_ROOT set, the X-Ray SDK (imported by powertools' Tracer) uses
    its Lambda sampler; without it, it builds two botocore clients at import (~150 ms) that a
    real cold start never pays.
    """
    return {
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "_HANDLER": handler,
    }


def function_environment(template: dict[str, Any], function: Function) -> dict[str, str]:
    """The function's environment variables with every intrinsic resolved to a placeholder."""
    return {name: resolve_value(template, value) for name, value in function.environment.items()}


def function_path(template: dict[str, Any], function: Function, base_dir: Path) -> list[str]:
    """sys.path entries Lambda would give the handler: its code, then each local layer."""
    if function.code_uri is None:
        raise ValueError(f"{function.logical_id}: no local CodeUri")
    path = [str(base_dir / function.code_uri)]
    for layer in function.layers:
        logical_id = layer_ref(layer)
        uri = layer_content_uri(template, logical_id) if logical_id else None
        if uri is not None:
            path.append(str(base_dir / uri))
    return path


def http_targets(template: dict[str, Any], base_dir: Path) -> list[Target]:
    """One target per function with an Api/HttpApi event (API and webhook handlers)."""
    targets = []
    for function in functions(template):
        if not function.has_http_event:
            continue
        if not function.handler:
            raise ValueError(f"{function.logical_id}: no Handler")
        path = function_path(template, function, base_dir)
        environment = {
            **function_environment(template, function),
            **BASE_ENVIRONMENT,
            **lambda_environment(function.logical_id, path[0], function.handler),
        }
        targets.append(
            Target(
                function.logical_id,
                path,
                environment,
                handler=function.handler,
                first_use=first_use_code(function),
            )
        )
    return targets


def webhook_vendor(function: Function) -> str | None:
    """`fleetio` for a function serving `/hooks/fleetio/{connection_id}`, else None."""
    for event in function.events.values():
        path = str(((event or {}).get("Properties") or {}).get("Path", ""))
        if path.startswith("/hooks/"):
            return path.split("/")[2]
    return None


def first_use_code(function: Function) -> str:
    """What the function's first request imports: its flow's module too for a webhook."""
    vendor = webhook_vendor(function)
    if vendor is None:
        return API_FIRST_USE
    from fleetbridge.core.registry import get_flow
    from fleetbridge.flows import FLOW_MODULES

    modules = [m for f, m in FLOW_MODULES.items() if vendor in get_flow(f).webhook_vendors]
    return WEBHOOK_FIRST_USE + "".join(f"import {module}\n" for module in modules)


def baseline_target() -> Target:
    """A fresh interpreter importing only boto3 and powertools."""
    environment = {**BASE_ENVIRONMENT, **lambda_environment("baseline", str(ROOT))}
    return Target("baseline", [], environment, imports=BASELINE_IMPORTS)


def clean_environment(extra: Mapping[str, str], inherited: Mapping[str, str]) -> dict[str, str]:
    """A minimal environment: a few harmless inherited variables, then `extra`."""
    env = {name: inherited[name] for name in INHERITED_VARIABLES if name in inherited}
    env.update(extra)
    return env


def without(environment: Mapping[str, str], *names: str) -> dict[str, str]:
    """A copy of `environment` without `names`."""
    return {key: value for key, value in environment.items() if key not in names}


def goal_for(name: str) -> float:
    """The ratio goal of one function."""
    return RATIO_GOALS.get(name, RATIO_GOAL)


def format_report(results: Mapping[str, Samples], baseline: Samples) -> str:
    """One line per handler: medians of import, baseline, ratio vs goal, first use, wall, CPU."""
    width = max([len("function"), *(len(name) for name in results)])
    lines = [
        f"{'function':<{width}}  {'import ms':>9}  {'baseline ms':>11}  {'ratio':>6}  "
        f"{'goal':<11}  {'first use ms':>12}  {'wall ms':>7}  {'baseline wall':>13}  "
        f"{'cpu ms':>6}  modules"
    ]
    for name, samples in results.items():
        value = ratio(samples.import_median, baseline.import_median)
        goal = goal_for(name)
        verdict = f"<={goal:g}x {'ok' if value <= goal else 'OVER'}"
        lines.append(
            f"{name:<{width}}  {samples.import_median:>9.1f}  {baseline.import_median:>11.1f}  "
            f"{value:>5.2f}x  {verdict:<11}  {samples.first_use_median:>12.1f}  "
            f"{samples.wall_median:>7.1f}  {baseline.wall_median:>13.1f}  "
            f"{samples.cpu_median:>6.1f}  {samples.modules} (baseline {baseline.modules})"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------ measuring


def run_once(python: str, target: Target) -> Run:
    """Import `target` in a fresh, isolated interpreter (`-I`: no cwd, no PYTHON* variables)."""
    argv = [
        os.pathsep.join(target.path),
        ",".join(target.imports),
        target.handler or "",
        target.first_use,
    ]
    env = clean_environment(target.environment, os.environ)
    started = time.perf_counter()
    completed = subprocess.run(
        [python, "-I", "-c", PROBE, *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    wall_ms = (time.perf_counter() - started) * 1000
    if completed.returncode != 0:
        raise RuntimeError(
            f"{target.name}: import failed (exit {completed.returncode}):\n{completed.stderr}"
        )
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    return Run(
        report["import_ms"], report["cpu_ms"], wall_ms, report["modules"], report["first_use_ms"]
    )


def measure(targets: list[Target], python: str, runs: int, warmup: int) -> dict[str, Samples]:
    """`runs` interleaved rounds over every target, after `warmup` unmeasured rounds."""
    samples = {target.name: Samples() for target in targets}
    for _ in range(warmup):  # also writes the bytecode caches
        for target in targets:
            run_once(python, target)
    for _ in range(runs):
        for target in targets:
            samples[target.name].add(run_once(python, target))
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--runs", type=int, default=10, help="measured runs per target (median)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first")
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure")
    parser.add_argument(
        "--function", action="append", help="only this logical id (repeatable; default: all)"
    )
    parser.add_argument(
        "--tracing",
        action="store_true",
        help="leave tracing on (as deployed: Tracing: Active), i.e. no POWERTOOLS_TRACE_DISABLED",
    )
    args = parser.parse_args(argv)

    template = load_template(args.template)
    targets = http_targets(template, args.template.resolve().parent)
    if args.function:
        targets = [target for target in targets if target.name in args.function]
    if not targets:
        print("no function with an Api/HttpApi event to measure", file=sys.stderr)
        return 2
    if args.tracing:
        targets = [
            replace(target, environment=without(target.environment, "POWERTOOLS_TRACE_DISABLED"))
            for target in targets
        ]

    try:
        samples = measure([baseline_target(), *targets], args.python, args.runs, args.warmup)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    baseline = samples.pop("baseline")

    print(
        f"cold start: median of {args.runs} fresh interpreters ({args.python}), "
        f"tracing {'on' if args.tracing else 'off'}; "
        f"baseline = import {', '.join(BASELINE_IMPORTS)}"
    )
    print(format_report(samples, baseline))
    over = [
        name
        for name, sample in samples.items()
        if ratio(sample.import_median, baseline.import_median) > goal_for(name)
    ]
    if over:
        print(f"ratio goal missed (reported, not enforced): {', '.join(over)}")

    offenders = {name: sample.forbidden for name, sample in samples.items() if sample.forbidden}
    for name, modules in offenders.items():
        print(
            f"FAIL {name} imports routing/solver modules an API/webhook handler must not: "
            f"{', '.join(sorted(modules))}",
            file=sys.stderr,
        )
    if not offenders:
        print(f"ok: no handler imports {', '.join(FORBIDDEN_MODULES)}")
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main())
