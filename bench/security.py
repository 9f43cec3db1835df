"""Security fuzzing, full mode: every route of the served /openapi.json gets `--examples`
schema-valid and as many schema-violating requests (schemathesis + hypothesis; half aimed at
existing resources), through the API handler in-process on moto and the vendor sandboxes.

Prints a table per route: requests, 2xx, 4xx, 5xx (goal 0), secrets echoed (goal 0: a credential
value or any 8-character fragment of one in the answer), writes by refused requests (goal 0:
DynamoDB, S3, SQS or Secrets Manager changed by a 4xx). The short mode of the same checks runs in
`make test` (tests/security).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings

from tests.support.security import Tally, fuzz_operation, operations, security_world


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--examples",
        type=int,
        default=500,
        help="schema-valid requests per route, and as many schema-violating (default 500: 1,000)",
    )
    parser.add_argument("--route", action="append", help="only paths containing this text")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.disable(logging.INFO)
    started = time.monotonic()
    tallies: list[Tally] = []
    with security_world() as world:
        routes = [
            (method, path)
            for method, path in operations(world)
            if not args.route or any(text in path for text in args.route)
        ]
        print(f"{len(routes)} routes, {args.examples} + {args.examples} generated requests each")
        print(_row("route", "requests", "2xx", "4xx", "5xx", "echoed", "refused writes"))
        for method, path in routes:
            tally = fuzz_operation(world, method, path, args.examples)
            tallies.append(tally)
            print(
                _row(
                    f"{method} {path}",
                    tally.requests,
                    tally.ok,
                    tally.refused,
                    tally.errors,
                    tally.echoed,
                    tally.refused_writes,
                ),
                flush=True,
            )
    total = Tally("ALL", "")
    for tally in tallies:
        for name in ("requests", "ok", "refused", "errors", "echoed", "refused_writes"):
            setattr(total, name, getattr(total, name) + getattr(tally, name))
    print(
        _row(
            "total",
            total.requests,
            total.ok,
            total.refused,
            total.errors,
            total.echoed,
            total.refused_writes,
        )
    )
    print(f"{time.monotonic() - started:.0f} s; goals: 5xx 0, echoed 0, refused writes 0")
    problems = [p for tally in tallies for p in tally.problems]
    for problem in problems[:20]:
        print("  problem:", problem)
    return 1 if total.errors or total.echoed or total.refused_writes else 0


def _row(route: str, *cells: object) -> str:
    return f"| {route:<64} | " + " | ".join(f"{cell!s:>8}" for cell in cells) + " |"


if __name__ == "__main__":
    sys.exit(main())
