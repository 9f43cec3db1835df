"""EventBridge schedules: fire a function's schedule now, or on its rate() while serving.

cron() expressions are listed and can be fired by hand, but are not run on their own clock
locally (a log line says so).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

from local.stack.events import scheduled_event
from local.stack.functions import ScheduleSpec
from local.stack.runtime import FunctionRuntime, Invocation
from local.stack.template import ACCOUNT_ID, REGION

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float | None:
    """Seconds between runs of a `rate(...)` expression; None for cron and anything else."""
    match = _RATE.match(expression.strip())
    if not match:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def schedule_event(schedule: ScheduleSpec) -> Any:
    """The event a schedule delivers: its Input (JSON) when given, else a Scheduled Event."""
    if schedule.input is not None:
        return json.loads(schedule.input) if isinstance(schedule.input, str) else schedule.input
    rule = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{schedule.function}-{schedule.name}"
    return scheduled_event(rule)


class Scheduler:
    """All schedules of the stack; `start()` runs the rate() ones on their own clock."""

    def __init__(self, schedules: Iterable[ScheduleSpec], runtime: FunctionRuntime) -> None:
        self.schedules = list(schedules)
        self.runtime = runtime
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def listing(self) -> list[dict[str, Any]]:
        """`[{function, rate, name, enabled}]` for `GET /_local/schedules`."""
        return [
            {"function": s.function, "rate": s.expression, "name": s.name, "enabled": s.enabled}
            for s in self.schedules
        ]

    def find(self, function: str, name: str | None = None) -> ScheduleSpec | None:
        """A function's schedule (the named one, else its first)."""
        for schedule in self.schedules:
            if schedule.function == function and name in (None, schedule.name):
                return schedule
        return None

    def fire(self, schedule: ScheduleSpec) -> Invocation:
        """Invoke the schedule's function with its event now."""
        logger.info("firing schedule %s of %s", schedule.name, schedule.function)
        return self.runtime.invoke(schedule.function, schedule_event(schedule))

    def start(self) -> None:
        """Run every enabled rate() schedule on its rate (first run after one interval)."""
        for schedule in self.schedules:
            interval = rate_seconds(schedule.expression)
            if not schedule.enabled:
                continue
            if interval is None:
                logger.info(
                    "%s: %s is not run on its own locally; POST /_local/schedules/%s fires it",
                    schedule.function,
                    schedule.expression,
                    schedule.function,
                )
                continue
            thread = threading.Thread(
                target=self._run,
                args=(schedule, interval),
                name=f"schedule-{schedule.function}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def _run(self, schedule: ScheduleSpec, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                result = self.fire(schedule)
                if not result.ok:
                    logger.warning(
                        "schedule %s of %s failed: %s",
                        schedule.name,
                        schedule.function,
                        result.error,
                    )
            except Exception:
                logger.exception("schedule %s of %s failed", schedule.name, schedule.function)

    def stop(self) -> None:
        """Stop the schedule clocks."""
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
