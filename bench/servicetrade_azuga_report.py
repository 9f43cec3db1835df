"""The activity report's figures for `bench/servicetrade_azuga.py`, when the flow has one
(`flows/servicetrade_azuga/report.py`; without it the bench says the report was skipped).

The report's rows are streamed (a generator, rendered as JSON chunk by chunk and discarded as a
response stream would send them), timed, and its peak traced allocations taken after the first
half of the rows and after all of them: flat in appointments means the two are about equal.
"""

from __future__ import annotations

import importlib.util
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from typing import Any

REPORT = "fleetbridge.flows.servicetrade_azuga.report"


def available() -> bool:
    """Whether the flow has its report module."""
    return importlib.util.find_spec(REPORT) is not None


def report_rows(
    ctx: Any, day: date, calls: Callable[[], tuple[int, int]]
) -> list[tuple[str, str, str]]:
    """Generate `day`'s report once; its figures as table rows (`calls`: the vendors' request
    counts, ServiceTrade and Azuga, read from the sandboxes before and after)."""
    from fleetbridge.flows.servicetrade_azuga.report import activity_rows
    from fleetbridge.flows.servicetrade_azuga.report_render import render

    st_before, azuga_before = calls()
    rows = list(activity_rows(ctx, day))  # counted first, so the halfway mark is known
    half = len(rows) // 2
    st_mid, azuga_mid = calls()
    tracemalloc.start()
    began = time.perf_counter()
    seen, halfway_peak, size = 0, 0, 0

    def counted() -> Any:
        nonlocal seen, halfway_peak
        for row in activity_rows(ctx, day):
            seen += 1
            if seen == half:
                halfway_peak = tracemalloc.get_traced_memory()[1]
            yield row

    for chunk in render("json", counted(), title="bench", meta={"date": day.isoformat()}):
        size += len(chunk)
    elapsed = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    st_after, azuga_after = calls()
    return [
        ("report: rows", str(len(rows)), f"{size / 1024:.0f} KiB of JSON"),
        ("report: generation time", f"{elapsed:.2f} s", "streamed, JSON"),
        (
            "report: peak traced memory",
            f"{peak / 2**20:.1f} MiB",
            f"{halfway_peak / 2**20:.1f} MiB after half the rows (flat: about equal)",
        ),
        (
            "report: vendor calls",
            f"{st_after - st_mid}",
            f"ServiceTrade; Azuga {azuga_after - azuga_mid} (first pass: {st_mid - st_before} "
            f"and {azuga_mid - azuga_before})",
        ),
    ]
