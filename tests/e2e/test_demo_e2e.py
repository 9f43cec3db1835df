"""`make demo` tells every flow's story: the demo is run as a user runs it (its own local stack,
on free ports here), and each flow's story must reach its end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STORIES = (
    "== Fleetio → Keycafe",
    "== Striven → Onfleet",
    "== GPS Insight → Netradyne Driveri",
    "== ServiceTrade ↔ Azuga",
    "== Route planning",
)


def test_the_demo_tells_every_flow_s_story(tmp_path: Path) -> None:
    ports = {
        "FLEETBRIDGE_API_PORT": "0",
        "FLEETBRIDGE_AWS_PORT": "0",
        "FLEETBRIDGE_SANDBOX_PORT": "0",
    }
    env = {**os.environ, **ports, "FLEETBRIDGE_LOCAL_LOG_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "local.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    for story in STORIES:
        assert story in output, f"{story!r} missing:\n{output[-3000:]}"
    # each story reached its end, not only its title
    for ending in (
        "reconciliation dry run:",
        "task 2 retitled in Striven, next poll: 1 write",
        "summary {",
        "ServiceTrade clock: onsite",
        "apply: succeeded",
        "== done in",
    ):
        assert ending in output, f"{ending!r} missing:\n{output[-3000:]}"
