"""The routing test world: a small Onfleet organisation for the sandbox, and request bodies.

Shared by the integration tests (handlers on moto) and the e2e test (the local stack over HTTP).
Two workers in San Francisco pick up six parcels (capacity 4 each) and each visits one of its
own alternate drop points (w-ada: alt-1 or alt-2, w-bob: alt-3), all on 2030-01-01 between
08:00 and 20:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

ONFLEET_KEY = "sandbox-onfleet-key"  # the sandbox's default key
DAY_START_MS = int(datetime(2030, 1, 1, 8, tzinfo=UTC).timestamp() * 1000)
DAY_END_MS = DAY_START_MS + 12 * 3_600_000
WORKERS = ("w-ada", "w-bob")
TASKS = ("t-1", "t-2", "t-3", "t-4", "t-5", "t-6")
ALTERNATES = ("alt-1", "alt-2", "alt-3")
RUN_DEFAULTS = {
    "vehicles": {"shift_start": "2030-01-01T08:00:00Z", "shift_end": "2030-01-01T20:00:00Z"}
}
RUN_OPTIONS = {"solver": {"limits": {"duration": "1s"}}}
# An Onfleet task belongs to one worker: each worker gets alternates of its own.
WORKER_ALTERNATES = [
    {"name": "nextmv:0.1:alternate_stops", "type": "array", "subtype": "string", "value": ids}
    | {"visibility": ["api"]}
    for ids in (["alt-1", "alt-2"], ["alt-3"])
]


def _task(task_id: str, index: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": task_id,
        "timeCreated": 1_000 + index,
        "destination": {"location": [-122.40 - 0.01 * (index % 5), 37.76 + 0.005 * index]},
        "completeAfter": DAY_START_MS,
        "completeBefore": DAY_END_MS,
        "pickupTask": True,
        "quantity": 1,
        "serviceTime": 5,
        **fields,
    }


def onfleet_world(extra_tasks: int = 0) -> dict[str, list[dict[str, Any]]]:
    """Workers and tasks to seed (`extra_tasks` unrelated ones are listed first, to page)."""
    workers = [
        {"id": w, "name": w, "phone": f"+1555010{i:04d}", "location": [-122.41 - 0.03 * i, 37.77]}
        | {"capacity": 4, "metadata": [alternates]}
        for i, (w, alternates) in enumerate(zip(WORKERS, WORKER_ALTERNATES, strict=True))
    ]
    filler = [_task(f"x-{i:03d}", i) for i in range(extra_tasks)]
    ours = [_task(t, extra_tasks + i) for i, t in enumerate(TASKS + ALTERNATES)]
    for task in ours:
        if task["id"].startswith("alt-"):
            task.update(pickupTask=False, quantity=0)
    return {"workers": workers, "tasks": filler + ours}


def seed_onfleet(sandbox: httpx.Client, world: dict[str, Any] | None = None) -> None:
    """Load the world into the Onfleet sandbox."""
    sandbox.post("/_sandbox/onfleet/seed", json=world or onfleet_world()).raise_for_status()


def onfleet_writes(sandbox: httpx.Client) -> list[str]:
    """Every write Onfleet received (`METHOD path`), from the sandbox's request log."""
    log = sandbox.get("/_sandbox/onfleet/requests").json()["requests"]
    return [f"{r['method']} {r['path']}" for r in log if r["method"] in ("POST", "PUT", "DELETE")]


def worker_tasks(sandbox: httpx.Client) -> dict[str, list[str]]:
    """Each worker's task list as the sandbox holds it now."""
    state = sandbox.get("/_sandbox/onfleet/state").json()
    return {w["id"]: list(w["tasks"]) for w in state["workers"]}


def task_ids(sandbox: httpx.Client) -> set[str]:
    """The ids of every task in the sandbox."""
    return {t["id"] for t in sandbox.get("/_sandbox/onfleet/state").json()["tasks"]}


def integration_body(profile_id: str = "onfleet-main", api_key: str = ONFLEET_KEY) -> dict:
    """`POST /v1/routing/profiles/integration/onfleet`."""
    return {
        "id": profile_id,
        "name": "Onfleet (main organisation)",
        "description": "dispatch key",
        "configuration": {"api_key": api_key, "compatibility": {"tasks": {"dependencies": False}}},
    }


def run_profile_body(profile_id: str = "daily", integration: str = "onfleet-main") -> dict:
    """`POST /v1/routing/profiles/run` using the integration profile."""
    return {
        "id": profile_id,
        "name": "Daily routes",
        "integrations": [{"id": integration, "type": "onfleet"}],
        "defaults": RUN_DEFAULTS,
        "options": RUN_OPTIONS,
    }


def onfleet_run_body(
    run_profile: str = "daily",
    tasks: list[str] | None = None,
    workers: list[str] | None = None,
    **onfleet: Any,
) -> dict:
    """`POST /v1/integrations/onfleet/run` for the world's tasks, alternates and workers."""
    return {
        "routing": {"run_profile": {"id": run_profile}},
        "onfleet": {
            "tasks": {"ids": tasks or list(TASKS + ALTERNATES), "params": {"from": 0}},
            "workers": {"ids": workers or list(WORKERS)},
            "alternate_stops": list(ALTERNATES),
            **onfleet,
        },
    }


def router_input(**extra: Any) -> dict[str, Any]:
    """A small plain Nextmv router input for `POST /v0/run`."""
    return {
        "options": {"solver": {"limits": {"duration": "1s"}}},
        "defaults": {"vehicles": {"start": {"lon": -122.41, "lat": 37.77}, "speed": 10}},
        "vehicles": [{"id": "van-1"}, {"id": "van-2", "start": {"lon": -122.45, "lat": 37.76}}],
        "stops": [
            {"id": f"s{i}", "position": {"lon": -122.40 - 0.01 * i, "lat": 37.78 + 0.004 * i}}
            for i in range(6)
        ],
        **extra,
    }
