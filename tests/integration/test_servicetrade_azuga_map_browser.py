"""Rule 8's map page in a real headless Chromium (Debian's; `tests/support/browser.py`).

The API function answers `GET /connections/{id}/map?date=` in-process (as every integration
test calls it); a one-page server on 127.0.0.1 hands that answer to the browser (the API wants
the Bearer key, which a browser's address bar cannot send). The page must draw the day's
appointments and the vehicles, reach nothing beyond this machine, and leave a screenshot under
`.artifacts/integration/servicetrade-azuga-map.png`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.integration import test_servicetrade_azuga_flow as flow_test
from tests.integration.test_servicetrade_azuga_flow import JOB, Harness
from tests.support.browser import ARTIFACTS_DIR, chromium, missing
from tests.support.events import http_event
from tests.support.lambdas import invoke

h = flow_test.h  # the flow test's fixture: its connection, webhooks and world


@pytest.fixture
def serve() -> Iterator[Any]:
    """`serve(html)` → a 127.0.0.1 URL answering that page."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def publish(html: str) -> str:
        pages["/map"] = html.encode()
        return f"http://127.0.0.1:{server.server_port}/map"

    yield publish
    server.shutdown()
    server.server_close()


def test_the_map_page_shows_appointments_and_vehicles(h: Harness, serve: Any) -> None:
    reason = missing()
    if reason:
        pytest.skip(reason)
    start = int(time.time()) + 3600
    h.seed(
        "servicetrade",
        {
            "appointments": [
                {
                    "id": 508,
                    "status": "completed",
                    "windowStart": start + 60,
                    "windowEnd": start + 3600,
                    "job": JOB,
                    "location": 6,
                    "techs": [12],
                }
            ]
        },
    )
    h.seed(
        "azuga",
        {
            "trackees": [
                {
                    "id": "v2",
                    "name": "Van <2>",
                    "lastLocation": {"latitude": 40.5, "longitude": -74.9},
                }
            ]
        },
    )
    h.sync()
    day = datetime.fromtimestamp(start, UTC).date().isoformat()
    answer = invoke(
        "api",
        http_event(
            "GET",
            f"/connections/{h.connection_id}/map",
            headers={"Authorization": f"Bearer {h.api.api_key}"},
            query={"date": day},
        ),
    )
    assert answer["statusCode"] == 200, answer
    content_type = {k.lower(): v for k, v in answer["headers"].items()}["content-type"]
    assert content_type.startswith("text/html")

    with chromium(ARTIFACTS_DIR / "integration") as browser:
        browser.open(serve(answer["body"]))
        drawn = browser.wait_for_css("svg.map g.appointment")
        shot = browser.screenshot("servicetrade-azuga-map")
        assert shot.stat().st_size > 5_000
        assert {g.get_attribute("data-id") for g in drawn} == {"501", "508"}
        assert {g.get_attribute("data-status") for g in drawn} == {"scheduled", "completed"}
        labels = [t.text for t in browser.css("svg.map text.appointment-label")]
        assert any("(#501)" in label and "Tina" in label for label in labels), labels
        assert any("(#508)" in label for label in labels), labels
        vehicles = [t.text for t in browser.css("svg.map text.vehicle-label")]
        assert sorted(vehicles) == ["Van 1", "Van <2>"]  # escaped in the page, shown as text
        fences = browser.css("svg.map circle.fence")
        assert len(fences) == 2 and all(float(c.get_attribute("r")) > 0 for c in fences)
        legend = {li.text for li in browser.css("ul.legend li")}
        assert {"scheduled", "completed", "vehicle"} <= legend
        assert len(browser.css("table.appointments tbody tr")) == 2
        assert len(browser.css("table.vehicles tbody tr")) == 2
        assert browser.css("script") == []
        external = browser.external_requests()
        assert external == [], f"the page reached beyond this machine: {external}"
    print(f"screenshot: {shot}")
