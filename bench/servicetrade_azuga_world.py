"""The bench's day for `bench/servicetrade_azuga.py`: ServiceTrade techs, sites, jobs and
appointments, Azuga drivers and vans, and the receiver standing in for our alert webhook URL."""

from __future__ import annotations

import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.lambdas import FakeContext, load_handler

SECRET = "bench-st-azuga-secret-0123456789"


def place(i: int) -> tuple[float, float]:
    """Appointment i's location: a grid with ~1 km between points (fences never overlap)."""
    return 40.0 + (i // 50) * 0.01, -75.0 + (i % 50) * 0.01


def servicetrade_world(n: int, techs: int, now: datetime) -> dict[str, Any]:
    """T techs and N appointments (one job and location each) spread over today's ±6 h, tech
    `i % T`; a tech's first appointment (i < T) starts within the hour."""
    start = int(now.timestamp())
    users = [
        {"id": 1000 + t, "firstName": "Tech", "lastName": str(t), "email": f"tech{t}@example.com"}
        for t in range(techs)
    ]
    for user in users:
        user["isTech"] = True
    locations, jobs, appointments = [], [], []
    for i in range(n):
        lat, lon = place(i)
        locations.append(
            {"id": 10_000 + i, "name": f"Site {i}", "lat": lat, "lon": lon, "email": f"s{i}@ex.io"}
        )
        jobs.append({"id": 20_000 + i, "number": f"J-{i}", "location": 10_000 + i})
        offset = 1800 if i < techs else -6 * 3600 + (i * 43_200) // n
        appointments.append(
            {
                "id": 30_000 + i,
                "status": "scheduled",
                "windowStart": start + offset,
                "windowEnd": start + offset + 3600,
                "job": 20_000 + i,
                "location": 10_000 + i,
                "techs": [1000 + i % techs],
                "released": True,
            }
        )
    return {"users": users, "locations": locations, "jobs": jobs, "appointments": appointments}


def azuga_world(techs: int, hook: str) -> dict[str, Any]:
    """One driver per tech (same email) and one van paired with each, parked far away."""
    return {
        "users": [{"id": f"d{t}", "email": f"Tech{t}@Example.com"} for t in range(techs)],
        "trackees": [
            {
                "id": f"v{t}",
                "name": f"Van {t}",
                "assignedUserId": f"d{t}",
                "lastLocation": {"latitude": 30.0, "longitude": -90.0},
            }
            for t in range(techs)
        ],
        "webhooks": [{"url": hook, "authorizationType": "KEY", "keyValue": SECRET}],
    }


class Receiver(ThreadingHTTPServer):
    """Our alert webhook URL: hands each Azuga delivery to the webhook function twice (a
    redelivery), as API Gateway would, and answers with the function's status."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(("127.0.0.1", 0), _Hook)
        self.connection_id = connection_id
        self.function = load_handler("azuga_webhook")
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/hooks/azuga/{self.connection_id}"


class _Hook(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        from tests.support.events import azuga_hook_event

        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        event = azuga_hook_event(self.server.connection_id, body, self.headers.get("x-api-key"))
        status = 500
        for _ in range(2):
            answer = self.server.function.lambda_handler(event, FakeContext())
            status = int(answer["statusCode"])
        self.send_response(status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""
