"""`POST /v0/run/{id}/apply` (issue 7, §9): write a succeeded Onfleet run's plan to Onfleet.

Opt-in, and a dry run unless `dry_run` is false (as `/connections/{id}/sync`):
- Containers first: `PUT /containers/workers/{worker}` with the route's task ids in order (it
  replaces the worker's list; `considerDependencies` true). One failing worker does not stop the
  others.
- Then `DELETE /tasks/{id}` for each unused alternate task, only when every container was
  written: deleting the alternatives of a plan that is not in place would lose work. A task
  already gone (404) counts as deleted.
- The outcome is recorded on the run (`details.apply`) and answered (200, `ok` false when
  something failed, with each error). A complete apply is not repeated (409): the dispatch may
  have changed since. A partly failed one may be retried: the PUTs replace, deletes are safe.
- The key is the current one of the integration profile the run used.
- A task on two routes (an alternate stop several workers visit: the Nextmv model allows it,
  Onfleet does not) makes the plan inapplicable: 422, dry run included, nothing written.
"""

from __future__ import annotations

from typing import Any

from fleetbridge.core.errors import ConflictError, InvalidInputError, VendorError, VendorNotFound
from fleetbridge.core.models import iso, utcnow
from fleetbridge.core.runs import RunRepository
from fleetbridge.routing.profiles_service import get_integration, onfleet_client, profile_api_key
from fleetbridge.routing.runs import KIND_ONFLEET, finished_run, load_json
from fleetbridge.vendors.onfleet import OnfleetClient


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


def _write_containers(
    client: OnfleetClient, containers: list[dict[str, Any]], errors: list[dict[str, str]]
) -> list[str]:
    written = []
    for container in containers:
        try:
            client.set_worker_container(container["worker"], container["tasks"])
        except VendorError as exc:
            errors.append({"worker": container["worker"], "error": str(exc)})
        else:
            written.append(container["worker"])
    return written


def _delete_tasks(
    client: OnfleetClient, task_ids: list[str], errors: list[dict[str, str]]
) -> list[str]:
    deleted = []
    for task_id in task_ids:
        try:
            client.delete_task(task_id)
        except VendorNotFound:
            deleted.append(task_id)  # already gone: the goal is reached
        except VendorError as exc:
            errors.append({"task": task_id, "error": str(exc)})
        else:
            deleted.append(task_id)
    return deleted


def apply_run(tenant_id: str, run_id: str, *, dry_run: bool) -> dict[str, Any]:
    """The plan (dry run), or write it to Onfleet and record what was done on the run."""
    run = finished_run(tenant_id, run_id)
    if run.kind != KIND_ONFLEET:
        raise InvalidInputError(
            f"run {run_id} is a plain router run: only Onfleet runs can be applied", field="run_id"
        )
    previous = run.details.get("apply")
    if not dry_run and previous and previous.get("ok"):
        raise ConflictError(f"run {run_id} was already applied at {previous['applied_at']}")
    result = load_json(run.result_key)
    containers = [{"worker": c["worker"], "tasks": c["tasks"]} for c in result["containers"]]
    deletions = list(result.get("unused_alternate_tasks") or [])
    _refuse_shared_tasks(containers)
    plan = {"dry_run": dry_run, "containers": containers, "delete_tasks": deletions}
    if dry_run:
        return plan

    integration = get_integration(tenant_id, str(run.details.get("integration_profile", "")))
    errors: list[dict[str, str]] = []
    with onfleet_client(profile_api_key(integration)) as client:
        written = _write_containers(client, containers, errors)
        plan_in_place = not errors
        deleted = _delete_tasks(client, deletions, errors) if plan_in_place else []
    outcome = {
        **plan,
        "applied_at": iso(utcnow()),
        "written_containers": written,
        "deleted_tasks": deleted,
        "skipped_deletions": [] if plan_in_place else deletions,
        "errors": errors,
        "ok": not errors,
    }
    details = {**run.details, "apply": {k: v for k, v in outcome.items() if k != "dry_run"}}
    RunRepository().save(run.model_copy(update={"details": details}))
    return outcome
