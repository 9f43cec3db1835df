"""Issue 12, short mode of `bench/reliability.py`: the local stack, a few changes per flow, and
the goals checked from the sandboxes' state: nothing lost, nothing doubled, nothing stuck.

The full table (every scenario, more changes) is `python bench/reliability.py` (`make bench`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import reliability
from bench.reliability import World, run, stack_for

CHANGES = 4
#: Four rows keep this short; `bench/reliability.py` runs every flow and scenario.
ROWS = [
    # 429s (some with a Retry-After past the function), 5xx, timeouts, lost answers, latency
    ("fleetio-keycafe", "faults"),
    ("striven-onfleet", "crash"),  # workers killed right after Onfleet writes
    # every driver renamed while its first sync runs: the latest name wins, nothing doubled
    ("gpsinsight-driveri", "race"),
    # faults on both vendors while appointments become fences (a lost bulk-upload answer: the
    # fence is found by its name, not made twice)
    ("servicetrade-azuga", "faults"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    log_dir: Path = tmp_path_factory.mktemp("reliability")
    with stack_for(log_dir, max_timeout=8) as stack:
        running = World(stack)
        try:
            yield running
        finally:
            running.close()


@pytest.mark.parametrize(("flow", "scenario"), ROWS)
def test_nothing_lost_doubled_or_stuck(
    world: World, flow: str, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # few changes: a higher crash rate so that every crash row kills some workers
    monkeypatch.setattr(reliability, "CRASH", {"crash_after_vendor_write": 0.5})
    row = run(world, flow, scenario, CHANGES)
    assert (row.lost, row.duplicated, row.stuck, row.stale) == (0, 0, 0, 0), row
    assert row.pushed >= CHANGES
    if scenario == "crash":
        assert row.retries > 0, "the crash fault never fired"
