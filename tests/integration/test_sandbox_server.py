"""The vendor sandboxes served on a real loopback port (moved out of the unit tests, which
block sockets): the server answers, and `lost_response` really drops connections."""

from __future__ import annotations

import httpx

from local.sandboxes import app as app_module


def test_run_sandboxes_serves_on_a_real_port() -> None:
    server, thread = app_module.run_sandboxes("127.0.0.1", 0, time_factor=1)
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with httpx.Client(base_url=base, timeout=5) as c:
            assert c.get("/_sandbox/").json()["vendors"] == [
                "azuga",
                "driveri",
                "fleetio",
                "gpsinsight",
                "keycafe",
                "onfleet",
                "servicetrade",
                "striven",
            ]
            auth = c.get("/onfleet/api/v2/auth/test", auth=("sandbox-onfleet-key", ""))
            assert auth.status_code == 200
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_lost_response_applies_the_write_then_loses_the_answer() -> None:
    """Issue 12: ``lost_response`` carries the request out (the booking exists), then answers
    503 or drops the connection; the request log says which and what the answer would have
    been. ``retry_after_s`` sets the Retry-After of injected 429s (as sent, unscaled)."""
    server, thread = app_module.run_sandboxes("127.0.0.1", 0, time_factor=60)
    auth = ("ops@sandbox.example/token", "sandbox-keycafe-token")
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with httpx.Client(base_url=base, timeout=5) as c:
            c.post("/_sandbox/keycafe/seed", json={"keys": [{"id": 5, "name": "Van 5"}]})
            c.post("/_sandbox/keycafe/faults", json={"lost_response": 1.0, "seed": 1})
            outcomes = []
            for day in range(1, 7):
                body = {
                    "user": {"email": f"d{day}@example.com"},
                    "key": {"id": 5},
                    "accessStartDate": f"2030-01-0{day}",
                    "accessEndDate": f"2030-01-0{day}",
                    "name": f"booking {day}",
                }
                try:
                    outcomes.append(
                        str(c.post("/keycafe/v0/access", json=body, auth=auth).status_code)
                    )
                except httpx.RemoteProtocolError:
                    outcomes.append("drop")
            assert set(outcomes) == {"503", "drop"}
            state = c.get("/_sandbox/keycafe/state").json()
            assert [a["name"] for a in state["accesses"]] == [f"booking {d}" for d in range(1, 7)]
            log = c.get("/_sandbox/keycafe/requests").json()["requests"]
            assert {(e["fault"], e["applied_status"]) for e in log} == {("lost_response", 200)}
            assert sorted({e["status"] for e in log}) == [0, 503]
            c.post("/_sandbox/keycafe/faults", json={"status_429": 1.0, "retry_after_s": 600})
            refused = c.get("/keycafe/v0/key", auth=auth)
            assert (refused.status_code, refused.headers["Retry-After"]) == (429, "600")
            assert c.get("/_sandbox/keycafe/faults").json()["retry_after_s"] == 600
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
