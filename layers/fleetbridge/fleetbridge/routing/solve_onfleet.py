"""An Onfleet run in the solver (issue 7, §4-8): fetch (read-only), transform, solve, assemble.

Only `GET /tasks/all`, `GET /workers` and `GET /tasks/{id}` (for a dependency the listing did
not show) are called: nothing is written to Onfleet during a run
(writing the containers is `POST /v0/run/{id}/apply`, on request). The task listing is walked
by `lastId` up to `onfleet.tasks.page_limit` pages (default `DEFAULT_TASK_PAGE_LIMIT`) and stops
once every requested id was seen. The run profile's `defaults`/`options` sit under the
request's own; its Onfleet integration profile gives the key and the compatibility flags.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fleetbridge.core.errors import VendorNotFound
from fleetbridge.routing.errors import InfeasibleRun, InvalidRouterInput
from fleetbridge.routing.onfleet.fetch import (
    DEFAULT_TASK_PAGE_LIMIT,
    select_requested,
    walk_task_pages,
    worker_query_params,
)
from fleetbridge.routing.onfleet.metadata import RunInputError
from fleetbridge.routing.onfleet.request import Compatibility, OnfleetRunRequest, OnfleetSelection
from fleetbridge.routing.onfleet.transform import build_onfleet_input
from fleetbridge.routing.output import assemble_onfleet_result
from fleetbridge.routing.profiles_run import onfleet_setup
from fleetbridge.routing.profiles_service import onfleet_client, profile_api_key
from fleetbridge.routing.run_requests import parse_onfleet_request
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
    _check_dependencies(client, tasks, {t.get("id") for t in seen})
    return tasks, workers


MAX_DEPENDENCY_LOOKUPS = 100


def _check_dependencies(
    client: OnfleetClient, tasks: list[dict[str, Any]], listed: set[Any]
) -> None:
    """A dependency id the listing did not show is looked up (`GET /tasks/{id}`, read-only):
    a task Onfleet knows (completed, or outside the listed window) is outside the run and
    dropped as before; one Onfleet does not know fails the run naming the task and the id."""
    unseen: dict[str, str] = {}
    for task in tasks:
        for dep in task.get("dependencies") or []:
            if isinstance(dep, str) and dep not in listed:
                unseen.setdefault(dep, str(task.get("id")))
    if len(unseen) > MAX_DEPENDENCY_LOOKUPS:
        raise RunInputError(
            f"{len(unseen)} task dependencies are outside the tasks listing (at most "
            f"{MAX_DEPENDENCY_LOOKUPS} are looked up): widen onfleet.tasks.params (from/to/state)",
            field="onfleet.tasks.params",
        )
    unknown = []
    for dep, task_id in unseen.items():
        try:
            client.get_json(f"/tasks/{dep}")
        except VendorNotFound:
            unknown.append((task_id, dep))
    if unknown:
        task_id, dep = unknown[0]
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise RunInputError(
            f"task {task_id}: dependencies name task {dep}, which Onfleet does not know{more}",
            ids=[t for t, _ in unknown],
            entity="task",
            entity_id=task_id,
            attribute="dependencies",
            field="dependencies",
        )


_ROUTER_ITEM = re.compile(r"^(stops|alternate_stops|vehicles)\[(\d+)\](.*)$")


def _named_error(exc: InvalidRouterInput, router_input: dict[str, Any]) -> InvalidRouterInput:
    """An error about the generated input, naming the task or worker instead of `stops[i]`."""
    match = _ROUTER_ITEM.match(exc.field or "")
    if not match:
        return exc
    kind, index, rest = match.group(1), int(match.group(2)), match.group(3).lstrip(".")
    items = router_input.get(kind) or []
    if index >= len(items):
        return exc
    noun = "worker" if kind == "vehicles" else "task"
    ident = items[index].get("id")
    message = exc.message
    prefix = re.escape(exc.field or "")
    message = re.sub(rf"^{prefix}( \([^)]*\))?: ", "", message)
    field = f"{noun} {ident}" + (f".{rest}" if rest else "")
    where = f"{rest}: " if rest else ""
    return InvalidRouterInput(f"{noun} {ident}: {where}{message}", field=field)


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
    try:
        answer = solve(build.router_input)
    except InvalidRouterInput as exc:
        raise _named_error(exc, build.router_input) from None
    except InfeasibleRun as exc:
        raise InfeasibleRun(exc.reasons, partial=exc.partial, noun="task") from None
    result = assemble_onfleet_result(
        tasks, workers, build.router_input, answer["state"], build.transforms
    )
    result |= {"state": answer["state"], "statistics": answer["statistics"]}
    return result, {"integration_profile": integration.id}
