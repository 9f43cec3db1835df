"""One Logger and Metrics per process, shared by handlers and the layer (tracing: `core.tracing`).

Flow metrics (CloudWatch EMF through Powertools, namespace POWERTOOLS_METRICS_NAMESPACE) are
counted in the shared places only: `ActivityLog.record` (Synced, Skipped, Failed), the vendor
HTTP client base (Vendor429, Vendor5xx), the queue worker (RunDuration). Each carries the
dimensions of the work in progress (`metric_scope`: flow, connection_id), and is also published
without the connection, so a dashboard can show a flow's total and each connection. They are summed in
memory and written with the handler's own metrics when `@metrics.log_metrics` flushes: one EMF
line per connection and invocation, however many records a reconciliation touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

logger = Logger()

SYNCED = "Synced"
SKIPPED = "Skipped"
FAILED = "Failed"
VENDOR_429 = "Vendor429"
VENDOR_5XX = "Vendor5xx"
RUN_DURATION = "RunDuration"

#: dimensions of the work in progress (set by the worker around each message)
_scope: ContextVar[dict[str, str]] = ContextVar("metric_scope", default={})  # noqa: B039
#: (sorted dimensions) → metric name → values (counts are summed, durations kept)
_pending: dict[tuple[tuple[str, str], ...], dict[str, list[float]]] = {}
_UNITS = {RUN_DURATION: MetricUnit.Milliseconds}
_MAX_DURATIONS = 100  # EMF takes at most 100 values per metric


@contextmanager
def metric_scope(**dimensions: str) -> Iterator[None]:
    """Metrics counted inside carry these dimensions too (e.g. flow, connection_id)."""
    token = _scope.set({**_scope.get(), **dimensions})
    try:
        yield
    finally:
        _scope.reset(token)


def count(name: str, value: float = 1, **dimensions: str) -> None:
    """Add `value` to the counter `name` for the current scope plus `dimensions`."""
    values = _values(name, dimensions)
    if values:
        values[0] += value
    else:
        values.append(value)


def duration(name: str, milliseconds: float, **dimensions: str) -> None:
    """Record one duration sample of `name` for the current scope plus `dimensions`."""
    values = _values(name, dimensions)
    if len(values) < _MAX_DURATIONS:
        values.append(milliseconds)


def _values(name: str, dimensions: dict[str, str]) -> list[float]:
    merged = {**_scope.get(), **{k: v for k, v in dimensions.items() if v}}
    return _pending.setdefault(tuple(sorted(merged.items())), {}).setdefault(name, [])


def flush_scoped_metrics() -> None:
    """Write the pending flow metrics as EMF (one blob per dimension set) and forget them."""
    pending = dict(_pending)
    _pending.clear()
    for key, named in pending.items():
        try:
            provider = AmazonCloudWatchEMFProvider()
            dimensions = dict(key)
            for dim_name, dim_value in dimensions.items():
                provider.add_dimension(name=dim_name, value=dim_value)
            overall = {k: v for k, v in dimensions.items() if k != "connection_id"}
            if overall:
                # the flow's total (per vendor, per kind) next to each connection's figure,
                # without Powertools' `service` dimension: what the dashboard searches
                provider.add_dimensions(**overall)
            for name, values in named.items():
                for value in values:
                    provider.add_metric(
                        name=name, unit=_UNITS.get(name, MetricUnit.Count), value=value
                    )
            provider.flush_metrics(raise_on_empty_metrics=True)
        except Exception:  # a metric must never fail the work it describes
            logger.warning("could not publish metrics", exc_info=True)


class _Provider(AmazonCloudWatchEMFProvider):
    """Powertools' EMF provider that also flushes the flow metrics whenever it flushes."""

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        flush_scoped_metrics()
        super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)


def _metrics() -> Metrics:
    shared: Any = Metrics  # Powertools shares these sets between every Metrics instance
    provider = _Provider(
        metric_set=shared._metrics,
        dimension_set=shared._dimensions,
        metadata_set=shared._metadata,
        default_dimensions=shared._default_dimensions,
    )
    return Metrics(provider=provider)


metrics = _metrics()
