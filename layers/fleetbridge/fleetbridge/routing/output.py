"""The result of an Onfleet run (issue 7, §8): fetched objects, containers, solution and input.

Choices:
- `containers`: one per worker whose route serves at least one task, in the router input's
  vehicle order, tasks in route order, ready for `PUT /containers/workers/{worker}` (send
  `{"tasks": container["tasks"]}`). Route entries that are not tasks of the run (a start or end
  point a solver may list) are left out. A worker with an empty route gets no container:
  uploading an empty one would unassign that worker's tasks in Onfleet.
- `unused_alternate_tasks`: the alternate-stop tasks on no route, in input order; they are the
  tasks to delete in Onfleet (`DELETE /tasks/{id}`).
- `solution`: the solver's state as it came (vehicles with estimated times, route distance and
  duration, unassigned, value). `input`: the router input the solver got, plus `transforms`
  (what each Onfleet → Nextmv transform did, from `build_onfleet_input`) when given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["assemble_onfleet_result", "containers_from_state", "unused_alternate_tasks"]


def _stop_ids(router_input: Mapping[str, Any], key: str) -> list[str]:
    return [stop["id"] for stop in router_input.get(key) or ()]


def _routed_ids(state: Mapping[str, Any]) -> set[str]:
    return {entry["id"] for v in state.get("vehicles") or () for entry in v.get("route") or ()}


def containers_from_state(
    router_input: Mapping[str, Any], state: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """`[{"type": "WORKER", "worker", "tasks": [ids in route order]}]`, one per routed worker."""
    tasks = set(_stop_ids(router_input, "stops")) | set(_stop_ids(router_input, "alternate_stops"))
    routes = {v["id"]: v.get("route") or [] for v in state.get("vehicles") or ()}
    containers = []
    for vehicle in router_input.get("vehicles") or ():
        route = routes.get(vehicle["id"], [])
        ordered = list(dict.fromkeys(e["id"] for e in route if e["id"] in tasks))
        if ordered:
            containers.append({"type": "WORKER", "worker": vehicle["id"], "tasks": ordered})
    return containers


def unused_alternate_tasks(router_input: Mapping[str, Any], state: Mapping[str, Any]) -> list[str]:
    """Alternate-stop tasks that no route uses (to delete in Onfleet)."""
    routed = _routed_ids(state)
    return [i for i in _stop_ids(router_input, "alternate_stops") if i not in routed]


def assemble_onfleet_result(
    tasks: Sequence[Mapping[str, Any]],
    workers: Sequence[Mapping[str, Any]],
    router_input: Mapping[str, Any],
    solution_state: Mapping[str, Any],
    transforms: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`{workers, tasks, containers, solution, input, unused_alternate_tasks}` for a solved run."""
    parsed_input = dict(router_input)
    if transforms is not None:
        parsed_input["transforms"] = dict(transforms)
    return {
        "workers": [dict(w) for w in workers],
        "tasks": [dict(t) for t in tasks],
        "containers": containers_from_state(router_input, solution_state),
        "solution": dict(solution_state),
        "input": parsed_input,
        "unused_alternate_tasks": unused_alternate_tasks(router_input, solution_state),
    }
