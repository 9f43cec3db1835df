"""The queued apply of an Onfleet run (issue 16 item 7; the rules are in `apply_request`).

One message applies containers from `payload.start` on; before the invocation's time runs out
it saves the progress on the run and queues a continuation. Each container is written under
the platform's idempotency mechanism keyed on run and worker (exactly once: a redelivered or
resumed message skips it), and an identical container is never written again.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)

from fleetbridge.core.errors import ConflictError, VendorError, VendorNotFound
from fleetbridge.core.models import Run, iso, utcnow
from fleetbridge.core.observability import logger
from fleetbridge.core.queue import WorkMessage, publish
from fleetbridge.core.runs import RunRepository
from fleetbridge.core.worker import Once
from fleetbridge.routing.profiles_service import get_integration, onfleet_client, profile_api_key
from fleetbridge.routing.run_requests import load_json
from fleetbridge.vendors.onfleet import OnfleetClient

#: Stop and continue in a new message when less than this is left (a PUT may take seconds),
#: or a fifth of the invocation's time when that is shorter.
MARGIN_S = 30.0
#: Containers one message applies at most before it continues in a new one.
MAX_CONTAINERS_PER_MESSAGE = 1000
SAVE_EVERY = 25  # containers between progress writes


def _write_container(container: dict[str, Any], client: OnfleetClient) -> dict[str, Any]:
    """PUT the worker's container unless Onfleet already holds exactly this task list."""
    current = client.get_worker_container(container["worker"])
    if current.tasks == container["tasks"]:
        return {"worker": container["worker"], "written": False}
    client.set_worker_container(container["worker"], container["tasks"])
    return {"worker": container["worker"], "written": True}


#: One container write, once: keyed on its `event_id`, `<run>:container:<worker>` (core's `Once`;
#: the one persistence layer is configured once per process, with the `event_id` key).
WRITE_CONTAINER = Once(_write_container, "event_id", argument="container")


def _save(run_id: str, state: dict[str, Any]) -> None:
    """Write the apply progress on the run (re-read once if something else wrote meanwhile)."""
    repository = RunRepository()
    for _ in range(3):
        run: Run = repository.get(run_id)
        try:
            repository.save(run.model_copy(update={"details": {**run.details, "apply": state}}))
            return
        except ConflictError:
            continue
    raise ConflictError(f"run {run_id}: could not record the apply progress")


def _delete(client: OnfleetClient, task_ids: list[str], state: dict[str, Any]) -> None:
    for task_id in task_ids:
        if task_id in state["deleted_tasks"]:
            continue
        try:
            client.delete_task(task_id)
        except VendorNotFound:
            pass  # already gone: the goal is reached
        except VendorError as exc:
            state["errors"].append({"task": task_id, "error": str(exc)})
            continue
        state["deleted_tasks"].append(task_id)


def execute_apply(message: dict[str, Any], deadline: float) -> dict[str, Any]:
    """Apply the containers of the run named by `message` (a routing `WorkMessage`, kind
    "apply") from `payload.start` on, then the deletions; progress goes on the run."""
    work = WorkMessage.model_validate(message)
    run_id, attempt = work.payload["run_id"], int(work.payload["attempt"])
    start = int(work.payload.get("start", 0))
    run = RunRepository().get(run_id)
    state = dict(run.details.get("apply") or {})
    if state.get("attempt") != attempt or state.get("status") in ("succeeded", "failed"):
        return {"skipped": f"apply {attempt} of run {run_id} is not pending"}
    result = load_json(run.result_key)
    containers = [{"worker": c["worker"], "tasks": c["tasks"]} for c in result["containers"]]
    deletions = list(result.get("unused_alternate_tasks") or [])
    state.setdefault("written_containers", [])
    state.setdefault("deleted_tasks", [])
    state.setdefault("errors", [])
    state.setdefault("started_at", iso(utcnow()))
    state["status"] = "applying"
    integration = get_integration(work.connection_id, str(run.details.get("integration_profile")))
    margin = min(MARGIN_S, 0.2 * max(0.0, deadline - time.monotonic()))
    with onfleet_client(profile_api_key(integration)) as client:
        for index in range(start, len(containers)):
            out_of_time = time.monotonic() > deadline - margin
            if index > start and (out_of_time or index - start >= MAX_CONTAINERS_PER_MESSAGE):
                state["resumed_at_container"] = index
                _save(run_id, state)
                publish(
                    work.model_copy(
                        update={
                            "event_id": f"{run_id}:apply:{attempt}:{index}",
                            "payload": {**work.payload, "start": index},
                        }
                    )
                )
                logger.info("apply continues", extra={"run_id": run_id, "next": index})
                return {"continued": index}
            container = containers[index]
            worker = container["worker"]
            try:
                key = f"{run_id}:container:{worker}"
                WRITE_CONTAINER(container={"event_id": key, **container}, client=client)
            except (VendorError, IdempotencyAlreadyInProgressError) as exc:
                state["errors"].append({"worker": worker, "error": str(exc) or type(exc).__name__})
            else:
                if worker not in state["written_containers"]:
                    state["written_containers"].append(worker)
            state["containers_written"] = len(state["written_containers"])
            if (index + 1) % SAVE_EVERY == 0:
                _save(run_id, state)
        plan_in_place = not state["errors"]
        if plan_in_place:
            _delete(client, deletions, state)
    state["skipped_deletions"] = [] if plan_in_place else deletions
    state["ok"] = not state["errors"]
    state["status"] = "succeeded" if state["ok"] else "failed"
    state["applied_at"] = iso(utcnow())
    _save(run_id, state)
    return {"applied": run_id, "ok": state["ok"]}


def give_up(message: dict[str, Any], error: Exception, receives: int) -> None:
    """The last receive of an apply message failed: the run's apply says why."""
    try:
        work = WorkMessage.model_validate(message)
        run = RunRepository().get(work.payload["run_id"])
        state = dict(run.details.get("apply") or {})
        if state.get("status") not in ("succeeded", "failed"):
            state |= {"status": "failed", "ok": False}
            state.setdefault("errors", []).append(
                {"error": f"gave up after {receives} attempts: {error}"}
            )
            _save(run.id, state)
    except Exception:  # the original error matters more than a failed status write
        logger.exception("could not mark the apply failed")
