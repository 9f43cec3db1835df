"""An Onfleet run in the solver (issue 7, §4-8): fetch (read-only), transform, solve, assemble.

Only `GET /tasks/all` and `GET /workers` are called: nothing is written to Onfleet during a run
(writing the containers is `POST /v0/run/{id}/apply`, on request). The task listing is walked
by `lastId` up to `onfleet.tasks.page_limit` pages (default `DEFAULT_TASK_PAGE_LIMIT`) and stops
once every requested id was seen. The run profile's `defaults`/`options` sit under the
request's own; its Onfleet integration profile gives the key and the compatibility flags.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fleetbridge.routing.onfleet import (
    DEFAULT_TASK_PAGE_LIMIT,
    Compatibility,
    OnfleetRunRequest,
    OnfleetSelection,
    build_onfleet_input,
    select_requested,
    walk_task_pages,
    worker_query_params,
)
from fleetbridge.routing.output import assemble_onfleet_result
from fleetbridge.routing.profiles_run import onfleet_setup
from fleetbridge.routing.profiles_service import onfleet_client, profile_api_key
from fleetbridge.routing.runs import parse_onfleet_request
from fleetbridge.vendors.onfleet import OnfleetClient

Solve = Callable[[dict[str, Any]], dict[str, Any]]


def fetch_onfleet(
    client: OnfleetClient, selection: OnfleetSelection
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The requested tasks and workers as Onfleet returns them (raw JSON, every field kept).

    Raises `RunInputError` naming the ids not found (and whether the page limit stopped the
    task listing before they were seen).
    """
    page_limit = selection.tasks.page_limit or DEFAULT_TASK_PAGE_LIMIT
    seen, limit_hit = walk_task_pages(
        lambda query: client.get_json("/tasks/all", params=query), selection.tasks, page_limit
    )
    tasks = select_requested(
        seen, selection.tasks.ids, limit_hit, kind="task", page_limit=page_limit
    )
    listed = client.get_json("/workers", params=worker_query_params(selection.workers.params))
    workers = select_requested(listed, selection.workers.ids, kind="worker")
    return tasks, workers


def solve_onfleet_run(
    tenant_id: str, body: dict[str, Any], solve: Solve
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run's result (`assemble_onfleet_result` plus `state` and `statistics`) and what to
    record on the run (the integration profile used)."""
    request: OnfleetRunRequest = parse_onfleet_request(body)
    run_profile, integration = onfleet_setup(tenant_id, request.routing.run_profile.id)
    with onfleet_client(profile_api_key(integration)) as client:
        tasks, workers = fetch_onfleet(client, request.onfleet)
    build = build_onfleet_input(
        tasks,
        workers,
        request,
        Compatibility.from_configuration({"compatibility": integration.compatibility}),
        defaults=run_profile.defaults,
        options=run_profile.options,
    )
    answer = solve(build.router_input)
    result = assemble_onfleet_result(
        tasks, workers, build.router_input, answer["state"], build.transforms
    )
    result |= {"state": answer["state"], "statistics": answer["statistics"]}
    return result, {"integration_profile": integration.id}
