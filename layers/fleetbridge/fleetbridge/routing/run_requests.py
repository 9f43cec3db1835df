"""Routing runs as the API asks for them (issue 7, §3, §9): start, status, result and map.

The Runs table itself is `core.runs` (`RunRepository`); the solve is `routing.solver_worker`.

- A run is a row of the Runs table, kind `onfleet` (`POST /v1/integrations/onfleet/run`) or
  `router` (`POST /v0/run`). The request body goes to the results bucket first, under
  `routing/<tenant>/inputs/<id>.json` (an input whose run was never created just expires with
  the bucket's lifecycle); the result goes under `routing/<tenant>/results/<run id>.json`.
- The run is queued on the `routing` queue as a `WorkMessage` whose `event_id` is the run id
  (the solver's idempotency key) and whose `connection_id` is the tenant (a run belongs to a
  tenant, not to a connection). The API never solves.
- The API refuses what it can judge alone, with a 422 naming the field: the Onfleet request's
  schema, its `routing.options`/`routing.defaults` and run profile; the router input's schema
  and cross-references (ids, matrices). What needs Onfleet (missing ids, the page limit, bad
  metadata or native values, infeasibility) fails the run with a clear `error` naming the
  task/worker; the profile may change between the request and the solve, so the solver checks
  it again.
- Status words are the legacy Nextmv API's: `requested` (stored `queued`), `started`
  (`running`), `succeeded`, `failed`, `timed_out` (a run still running after its solver
  invocation must have ended is recorded failed with error code `timed_out`).
- The result is readable once the run succeeded; before, or after a failure, it is a 409 that
  says why (`run_not_finished` / `run_failed`).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from fleetbridge.core.errors import ConflictError, InvalidInputError, NotFoundError
from fleetbridge.core.models import Run, iso, new_id, utcnow
from fleetbridge.core.queue import WorkMessage, publish
from fleetbridge.core.results import get_result, presigned_url, put_result, result_size
from fleetbridge.core.runs import RunRepository
from fleetbridge.routing.errors import field_path

ROUTING_QUEUE = "routing"  # the FLEETBRIDGE_QUEUES key of the solver's queue
KIND_ONFLEET = "onfleet"
KIND_ROUTER = "router"
FINISHED = frozenset({"succeeded", "failed", "canceled"})
#: Stored (platform) status -> the legacy Nextmv word clients poll for.
NEXTMV_STATUS = {"queued": "requested", "running": "started"}
TIMED_OUT = "timed_out"
#: Bodies up to Lambda's 6 MB invocation payload are posted directly (api/guard.py); larger
#: inputs go through an upload URL, results through a result URL.
MAX_DIRECT_RESULT_BYTES = 5 * 1024 * 1024  # an answer carries the JSON (< 6 MB with headers)
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
MAX_CHECKED_UPLOAD_BYTES = 6 * 1024 * 1024  # checked at POST like a direct body; larger: solver
UPLOAD_URL_EXPIRES_S = 3600
#: Longer than any solver invocation lives (function timeout 900 s) plus a margin.
STALE_RUNNING_S = 900 + 120


class RunNotFinished(ConflictError):
    """The run has no result yet."""

    code = "run_not_finished"


class RunFailed(ConflictError):
    """The run failed: there is no result, only its error."""

    code = "run_failed"


def result_key(run: Run) -> str:
    """Where a run's result is stored in the results bucket."""
    return f"routing/{run.tenant_id}/results/{run.id}.json"


def load_bytes(key: str | None) -> bytes:
    """A stored document of the results bucket (NotFoundError when missing)."""
    raw = get_result(key) if key else None
    if raw is None:
        raise NotFoundError(f"stored document {key} is missing")
    return raw


def load_json(key: str | None) -> Any:
    """A JSON document of the results bucket (NotFoundError when missing)."""
    return json.loads(load_bytes(key))


def parse_onfleet_request(body: Any) -> Any:
    """The body as an `OnfleetRunRequest`, or InvalidInputError naming the first bad field."""
    from fleetbridge.routing.onfleet.request import OnfleetRunRequest

    try:
        return OnfleetRunRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = field_path(tuple(first["loc"])) or None
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInputError(f"{field or 'body'}: {message}", field=field) from None


def check_onfleet_request(tenant_id: str, request: Any) -> None:
    """What can be judged at POST (a 422 naming the field): `routing.options` and
    `routing.defaults` against the router schema, and the run profile (it exists, has an
    Onfleet integration whose profile exists). Onfleet data is only read when the run is solved."""
    from fleetbridge.routing.profiles_rules import check_routing_defaults_and_options
    from fleetbridge.routing.profiles_run import onfleet_setup

    routing = request.routing
    check_routing_defaults_and_options(routing.defaults, routing.options, "routing.")
    try:
        onfleet_setup(tenant_id, routing.run_profile.id)
    except NotFoundError as exc:
        raise InvalidInputError(exc.message, field="routing.run_profile.id") from None


def start_onfleet_run(tenant_id: str, body: dict[str, Any]) -> Run:
    """Validate an Onfleet run request, store it and queue the run."""
    request = parse_onfleet_request(body)
    check_onfleet_request(tenant_id, request)
    return _queue(tenant_id, KIND_ONFLEET, body, {"run_profile": request.routing.run_profile.id})


def _check_router_input(body: Any) -> None:
    from fleetbridge.routing.model import check_references
    from fleetbridge.routing.schema import parse_input

    inp = parse_input(body)  # raises InvalidRouterInput (a 422) naming the field
    inp.time_limit_s()
    check_references(inp)


def upload_key(tenant_id: str, upload_id: str) -> str:
    """Where an uploaded router input lives in the results bucket."""
    return f"routing/{tenant_id}/uploads/{upload_id}.json"


def create_upload(tenant_id: str) -> dict[str, Any]:
    """`{upload_id, upload_url, expires_in}`: PUT the router input (JSON) to `upload_url`, then
    `POST /v0/run` with `{"upload_id"}` (as Nextmv's current API does for large inputs)."""
    upload_id = new_id("upload")
    url = presigned_url(upload_key(tenant_id, upload_id), "PUT", UPLOAD_URL_EXPIRES_S)
    return {"upload_id": upload_id, "upload_url": url, "expires_in": UPLOAD_URL_EXPIRES_S}


def _start_uploaded_run(tenant_id: str, body: dict[str, Any]) -> Run:
    upload_id = body.get("upload_id")
    if not isinstance(upload_id, str) or not re.fullmatch(r"upload_[0-9a-f]+", upload_id):
        raise InvalidInputError(
            "upload_id: not an id POST /v0/run/uploadurl gave", field="upload_id"
        )
    if extra := sorted(set(body) - {"upload_id"}):
        raise InvalidInputError(
            f"{extra[0]}: with upload_id, the whole input is the uploaded document",
            field=extra[0],
        )
    key = upload_key(tenant_id, upload_id)
    size = result_size(key)
    if size is None:
        raise InvalidInputError(
            f"upload_id: nothing was uploaded under {upload_id} (PUT the input to its upload_url "
            "first; the URL expires after an hour)",
            field="upload_id",
        )
    if size > MAX_UPLOAD_BYTES:
        raise InvalidInputError(
            f"upload_id: the upload is {size} bytes, more than {MAX_UPLOAD_BYTES}",
            field="upload_id",
        )
    if size <= MAX_CHECKED_UPLOAD_BYTES:  # larger ones are checked by the solver (run fails)
        try:
            document = json.loads(load_bytes(key))
        except ValueError:
            raise InvalidInputError(
                "upload_id: the upload is not JSON", field="upload_id"
            ) from None
        _check_router_input(document)
    details = {"upload_id": upload_id, "input_bytes": size}
    return _queue(tenant_id, KIND_ROUTER, None, details, input_key=key)


def start_router_run(tenant_id: str, body: Any) -> Run:
    """Validate a plain router input (schema and cross-references), store it and queue the run.
    A body `{"upload_id"}` names an input uploaded through `create_upload` instead."""
    if isinstance(body, dict) and "upload_id" in body:
        return _start_uploaded_run(tenant_id, body)
    _check_router_input(body)
    return _queue(tenant_id, KIND_ROUTER, body, {})


def _queue(
    tenant_id: str, kind: str, body: Any, details: dict[str, Any], input_key: str | None = None
) -> Run:
    key = input_key or put_result(
        f"routing/{tenant_id}/inputs/{new_id('input')}.json", json.dumps(body)
    )
    repository = RunRepository()
    run = repository.create(tenant_id=tenant_id, kind=kind, input_key=key, details=details)
    message = WorkMessage(
        flow=ROUTING_QUEUE,
        connection_id=tenant_id,
        kind="run",
        event_id=run.id,
        event=f"{kind}_run",
        payload={"run_id": run.id, "tenant_id": tenant_id},
    )
    try:
        publish(message)
    except Exception:  # never leave a queued run nobody will solve
        failed = {"status": "failed", "error": "the run could not be queued; submit it again"}
        repository.save(run.model_copy(update=failed))
        raise
    return run


def get_run(tenant_id: str, run_id: str) -> Run:
    """The tenant's routing run (404 for anyone else's, or for other kinds of runs)."""
    run = RunRepository().get(run_id, tenant_id=tenant_id)
    if run.kind not in (KIND_ONFLEET, KIND_ROUTER):
        raise NotFoundError(f"run {run_id} not found")
    return run


def _timed_out(run: Run) -> Run:
    """A run still `running` long after any solver invocation could have ended (the function
    was killed at its timeout): record it as failed, `timed_out`, so nothing solves it again."""
    started = run.details.get("started_at")
    if run.status != "running" or not started:
        return run
    if (utcnow() - datetime.fromisoformat(started)).total_seconds() < STALE_RUNNING_S:
        return run
    details = {**run.details, "error_code": TIMED_OUT, "finished_at": iso(utcnow())}
    error = (
        f"timed out: the solver function stopped before the run finished (started {started}); "
        "lower options.solver.limits.duration or split the run, and submit it again"
    )
    changes = {"status": "failed", "error": error, "details": details}
    try:
        return RunRepository().save(run.model_copy(update=changes))
    except ConflictError:  # the solver wrote meanwhile: its word wins
        return RunRepository().get(run.id, tenant_id=run.tenant_id)


def nextmv_status(run: Run) -> str:
    """The run's status in the legacy Nextmv words (see the module doc)."""
    if run.status == "failed" and run.details.get("error_code") == TIMED_OUT:
        return TIMED_OUT
    return NEXTMV_STATUS.get(run.status, run.status)


def run_status(tenant_id: str, run_id: str) -> dict[str, Any]:
    """`{status, error?, infeasible?}` as `GET /v0/run/{id}/status` answers."""
    run = _timed_out(get_run(tenant_id, run_id))
    status: dict[str, Any] = {"status": nextmv_status(run)}
    if run.error:
        status["error"] = run.error
    if run.details.get("infeasible"):
        status["infeasible"] = run.details["infeasible"]
    if run.details.get("apply"):
        status["apply"] = run.details["apply"]
    return status


def finished_run(tenant_id: str, run_id: str) -> Run:
    """The run if it succeeded; a 409 saying why not otherwise."""
    run = get_run(tenant_id, run_id)
    if run.status == "failed":
        raise RunFailed(f"run {run_id} failed: {run.error}")
    if run.status != "succeeded":
        raise RunNotFinished(
            f"run {run_id} is {nextmv_status(run)}: poll GET /v0/run/{run_id}/status until it succeeded"
        )
    return run


def run_result(tenant_id: str, run_id: str, fmt: str = "json") -> dict[str, Any]:
    """The stored result of a succeeded run (solution under `state`); a result larger than an
    answer may carry (or `fmt="url"`) as `{run_id, result_url, size_bytes, expires_in}`, a
    presigned GET of the stored JSON."""
    run = finished_run(tenant_id, run_id)
    size = result_size(run.result_key) if run.result_key else None
    if size is None:
        raise NotFoundError(f"stored document {run.result_key} is missing")
    if fmt == "url" or size > MAX_DIRECT_RESULT_BYTES:
        return {
            "run_id": run.id,
            "result_url": presigned_url(str(run.result_key), "GET", UPLOAD_URL_EXPIRES_S),
            "size_bytes": size,
            "expires_in": UPLOAD_URL_EXPIRES_S,
        }
    result: dict[str, Any] = load_json(run.result_key)
    return result


def run_map(tenant_id: str, run_id: str, fmt: Literal["geojson", "svg"]) -> str:
    """The routes of a succeeded run as GeoJSON (JSON text) or an SVG picture."""
    from fleetbridge.routing.maps import routes_geojson, routes_svg

    run = finished_run(tenant_id, run_id)
    result = load_json(run.result_key)
    router_input = result.get("input") or load_json(run.input_key)
    if fmt == "svg":
        return routes_svg(router_input, result["state"], title=f"run {run.id}")
    return json.dumps(routes_geojson(router_input, result["state"]))
