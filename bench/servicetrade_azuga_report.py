"""The activity report's figures for `bench/servicetrade_azuga.py`, when the flow has one
(`flows/servicetrade_azuga/report.py`; without it the bench says the report was skipped).

The report's rows are streamed (a generator, rendered as JSON chunk by chunk and discarded as a
response stream would send them) and timed. Memory: the bench runs the sandboxes and moto in
this process, and their own bookkeeping (request logs, server threads) grows while they serve
the report's calls, so the process-wide peak says little about the report. What is measured is
the memory still held, after half of the rows and after all of them, by allocations made under
our code's frames (`layers/fleetbridge`, whatever they called, except moto, which stands in for
DynamoDB here): flat in appointments means the two are about equal. The process-wide peak is printed beside it.
"""

from __future__ import annotations

import gc
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


#: Frames kept per traced allocation: enough to find our code below the libraries it calls.
FRAMES = 40
OUR_CODE = tracemalloc.Filter(True, "*/layers/fleetbridge/*", all_frames=True)
#: moto stands in for DynamoDB in this process: what it keeps (e.g. the rate limiter's slot
#: items our calls write) lives in DynamoDB in production, not in the function's memory.
NOT_MOTO = tracemalloc.Filter(False, "*/moto/*", all_frames=True)


def _held_by_our_code() -> int:
    """Bytes still allocated, now, by allocations made under a frame of our code (garbage
    collected first: objects in reference cycles, e.g. httpx responses, are not held)."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces([OUR_CODE, NOT_MOTO])
    return sum(stat.size for stat in snapshot.statistics("filename"))


def report_rows(
    ctx: Any, day: date, calls: Callable[[], tuple[int, int]]
) -> list[tuple[str, str, str]]:
    """Generate `day`'s report once; its figures as table rows (`calls`: the vendors' request
    counts, ServiceTrade and Azuga, read from the sandboxes before and after)."""
    from fleetbridge.flows.servicetrade_azuga.report import activity_rows
    from fleetbridge.flows.servicetrade_azuga.report_render import render

    st_before, azuga_before = calls()
    began = time.perf_counter()
    count, size = 0, 0

    def counted() -> Any:
        nonlocal count
        for row in activity_rows(ctx, day):
            count += 1
            yield row

    for chunk in render("json", counted(), title="bench", meta={"date": day.isoformat()}):
        size += len(chunk)
    elapsed = time.perf_counter() - began
    st_mid, azuga_mid = calls()
    # A second pass, traced, for memory only (tracing many frames slows it a lot)
    half, seen = count // 2, 0
    held: dict[str, int] = {}
    tracemalloc.start(FRAMES)

    def watched() -> Any:
        nonlocal seen
        for row in activity_rows(ctx, day):
            seen += 1
            if seen in (half, count):
                held["half" if seen == half else "all"] = _held_by_our_code()
            yield row

    for _ in render("json", watched(), title="bench", meta={"date": day.isoformat()}):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    st_after, azuga_after = calls()
    return [
        ("report: rows", str(count), f"{size / 1024:.0f} KiB of JSON"),
        ("report: generation time", f"{elapsed:.2f} s", "streamed, JSON"),
        (
            "report: memory held by our code",
            f"{held.get('all', 0) / 2**20:.2f} MiB after all rows",
            f"{held.get('half', 0) / 2**20:.2f} MiB after half: "
            f"{(held.get('all', 0) - held.get('half', 0)) / max(1, count - half):+.0f} B a row "
            "(flat: about 0); "
            f"process-wide peak {peak / 2**20:.1f} MiB (sandboxes and moto included)",
        ),
        (
            "report: vendor calls",
            f"{st_mid - st_before}",
            f"ServiceTrade; Azuga {azuga_mid - azuga_before} (the traced pass: "
            f"{st_after - st_mid} and {azuga_after - azuga_mid})",
        ),
    ]
