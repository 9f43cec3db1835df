"""Every route of the served /openapi.json, fuzzed with schemathesis (schema-valid and
schema-violating requests, half aimed at existing resources): no 5xx, errors in our shape, no
credential echoed, nothing written by a refused request.

Short mode: FLEETBRIDGE_SECURITY_EXAMPLES (default 3) of each kind per route; `bench/security.py`
runs the full mode (1,000+ per route).
"""

from __future__ import annotations

import os

from tests.support.security import World, fuzz_operation, operations

EXAMPLES = int(os.environ.get("FLEETBRIDGE_SECURITY_EXAMPLES", "3"))


def test_every_documented_route_survives_generated_requests(world: World) -> None:
    routes = operations(world)
    assert len(routes) >= 39, routes  # the whole API is documented, so the whole API is fuzzed
    problems: list[str] = []
    total = 0
    for method, path in routes:
        tally = fuzz_operation(world, method, path, EXAMPLES)
        total += tally.requests
        problems += tally.problems
    assert total >= len(routes) * EXAMPLES
    assert problems == [], "\n".join(problems)
