"""Flow metrics: counted where the work happens, published once per dimension set as EMF."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from fleetbridge.core.errors import VendorUnavailable
from fleetbridge.core.http import VendorClient
from fleetbridge.core.observability import (
    RUN_DURATION,
    SYNCED,
    count,
    duration,
    metric_scope,
    metrics,
)


@pytest.fixture(autouse=True)
def namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Fleetbridge")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "fleetbridge")


def flushed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    capsys.readouterr()
    with pytest.warns(UserWarning, match="No application metrics"):
        metrics.flush_metrics()
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_counts_are_summed_per_connection_and_published_with_the_flow_total(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with metric_scope(flow="striven-onfleet", connection_id="con_a"):
        count(SYNCED)
        count(SYNCED)
        duration(RUN_DURATION, 12.5, kind="poll")
    with metric_scope(flow="striven-onfleet", connection_id="con_b"):
        count(SYNCED)
    blobs = flushed(capsys)
    synced = {b["connection_id"]: b for b in blobs if "Synced" in b}
    assert {c: b["Synced"] for c, b in synced.items()} == {"con_a": [2.0], "con_b": [1.0]}
    dimensions = synced["con_a"]["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert dimensions == [["connection_id", "flow", "service"], ["flow"]]
    (run,) = [b for b in blobs if "RunDuration" in b]
    assert run["kind"] == "poll" and run["RunDuration"] == [12.5]
    assert run["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] == "Milliseconds"
    assert flushed(capsys) == []  # published once


class Scripted(httpx.BaseTransport):
    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(self.statuses.pop(0), json={})


def test_the_client_base_counts_vendor_429s_and_5xx(capsys: pytest.CaptureFixture[str]) -> None:
    client = VendorClient(
        "https://vendor.test", transport=Scripted(429, 503, 200), sleep=lambda _: None
    )
    client.vendor = "onfleet"
    with metric_scope(flow="striven-onfleet", connection_id="con_a"):
        client.get_json("/tasks")
        with pytest.raises(VendorUnavailable):
            VendorClient("https://vendor.test", transport=Scripted(500), max_retries=0).get_json(
                "/x"
            )
    blobs = flushed(capsys)
    counted = {
        (b.get("vendor"), name): b[name]
        for b in blobs
        for name in ("Vendor429", "Vendor5xx")
        if name in b
    }
    assert counted == {
        ("onfleet", "Vendor429"): [1.0],
        ("onfleet", "Vendor5xx"): [1.0],
        ("vendor", "Vendor5xx"): [1.0],
    }
    onfleet = next(b for b in blobs if b.get("vendor") == "onfleet")
    assert onfleet["_aws"]["CloudWatchMetrics"][0]["Dimensions"][1] == ["flow", "vendor"]


def test_a_metric_that_cannot_be_published_never_fails_the_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE")
    count(SYNCED, flow="fleetio-keycafe")
    assert flushed(capsys) == []  # logged as a warning instead
