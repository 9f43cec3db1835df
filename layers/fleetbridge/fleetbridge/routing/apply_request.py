"""`POST /v0/run/{id}/apply` (issue 7 §9, issue 16 item 7): write a succeeded Onfleet run's
plan to Onfleet, as queued work.

Opt-in, and a dry run unless `dry_run` is false (as `/connections/{id}/sync`); a dry run answers
the plan at once. A real apply is queued (202) on the routing queue (`kind` "apply") and done by
the routing worker function (`routing.apply_worker`), with its progress on the run
(`details.apply`, shown by `GET /v0/run/{id}/status` under `apply`):
- Containers first: `PUT /containers/workers/{worker}` with the route's task ids in order (it
  replaces the worker's list; `considerDependencies` true). One failing worker does not stop the
  others.
- Then `DELETE /tasks/{id}` for each unused alternate task, only when every container was
  written: deleting the alternatives of a plan that is not in place would lose work. A task
  already gone (404) counts as deleted.
- Exactly once per container: each container is done under the platform's idempotency
  mechanism, keyed on run and worker, so a redelivered or resumed message skips it; and
  before a PUT the worker's container is read, and an identical one is not written again (a
  worker stopped between the PUT and the record does not apply twice).
- Resumable: before its invocation's time runs out the worker saves its progress and queues a
  continuation from the next container; 2,000 containers at Onfleet's 20 calls/s take minutes.
- A complete apply is not repeated (409): the dispatch may have changed since; one in progress
  is not started twice (409). A partly failed one may be retried: the containers already
  written are skipped, the others tried again.
- The key is the current one of the integration profile the run used.
- A task on two routes makes the plan inapplicable: 422, dry run included, nothing written
  (Onfleet runs never produce one: alternates are exclusive; this is the last guard).
"""

from __future__ import annotations

from typing import Any

from fleetbridge.core.errors import ConflictError, InvalidInputError
from fleetbridge.core.models import iso, utcnow
from fleetbridge.core.queue import WorkMessage, publish
from fleetbridge.core.runs import RunRepository
from fleetbridge.routing.run_requests import KIND_ONFLEET, ROUTING_QUEUE, finished_run, load_json


def _refuse_shared_tasks(containers: list[dict[str, Any]]) -> None:
    """An Onfleet task sits in one container: a task on two routes (an alternate stop two
    workers both visit, which the Nextmv model allows) cannot be applied."""
    owners: dict[str, list[str]] = {}
    for container in containers:
        for task_id in container["tasks"]:
            owners.setdefault(task_id, []).append(container["worker"])
    if shared := {t: w for t, w in owners.items() if len(w) > 1}:
        task_id, workers = next(iter(shared.items()))
        raise InvalidInputError(
            f"task {task_id} is on the routes of workers {', '.join(workers)} (an alternate stop "
            "several workers visit); an Onfleet task belongs to one worker, so this plan cannot "
            "be applied: give each worker alternates of its own (worker metadata "
            "nextmv:0.1:alternate_stops) and run again",
            field="containers",
        )


def apply_run(tenant_id: str, run_id: str, *, dry_run: bool) -> dict[str, Any]:
    """The plan (dry run), or queue writing it to Onfleet (its progress goes on the run)."""
    run = finished_run(tenant_id, run_id)
    if run.kind != KIND_ONFLEET:
        raise InvalidInputError(
            f"run {run_id} is a plain router run: only Onfleet runs can be applied", field="run_id"
        )
    previous = run.details.get("apply") or {}
    if not dry_run and previous.get("ok"):
        raise ConflictError(f"run {run_id} was already applied at {previous['applied_at']}")
    if not dry_run and previous.get("status") in ("queued", "applying"):
        raise ConflictError(f"run {run_id} is being applied: poll GET /v0/run/{run_id}/status")
    result = load_json(run.result_key)
    containers = [{"worker": c["worker"], "tasks": c["tasks"]} for c in result["containers"]]
    deletions = list(result.get("unused_alternate_tasks") or [])
    _refuse_shared_tasks(containers)
    plan = {"dry_run": dry_run, "containers": containers, "delete_tasks": deletions}
    if dry_run:
        return plan

    attempt = int(previous.get("attempt", 0)) + 1
    progress = {
        "status": "queued",
        "attempt": attempt,
        "requested_at": iso(utcnow()),
        "containers_total": len(containers),
        "containers_written": 0,
        "deletions_total": len(deletions),
        "deleted_tasks": [],
        "errors": [],
        "ok": None,
    }
    details = {**run.details, "apply": progress}
    repository = RunRepository()
    saved = repository.save(run.model_copy(update={"details": details}))
    message = WorkMessage(
        flow=ROUTING_QUEUE,
        connection_id=tenant_id,
        kind="apply",
        event_id=f"{run_id}:apply:{attempt}:0",
        event="apply",
        payload={"run_id": run_id, "tenant_id": tenant_id, "attempt": attempt, "start": 0},
    )
    try:
        publish(message)
    except Exception:  # never leave an apply queued that nobody will do (it would block retries)
        failed = {**progress, "status": "failed", "ok": False}
        failed["errors"] = [{"error": "the apply could not be queued; request it again"}]
        repository.save(saved.model_copy(update={"details": {**details, "apply": failed}}))
        raise
    return {**plan, "status": "queued", "progress": progress}
