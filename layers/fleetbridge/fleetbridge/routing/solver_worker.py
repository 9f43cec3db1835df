"""The solver function's work (issue 7, §3, §10): one queued routing run → result or clear error.

- Trigger: SQS `RoutingQueue` (batch size 1: a solve may take minutes), partial batch failures.
- Batch, idempotency and last retry: core's worker (`core.worker`: `run_batch`, `Once` keyed on
  the message's `event_id`, the run id, `measured`, `receive_count`). A redelivered message returns the stored
  outcome; a duplicate delivered while the first still solves is refused (in progress) and
  retried later. A run already finished is never solved again either.
- Outcomes: a run whose input, profiles, Onfleet data or rules are at fault (`FleetbridgeError`,
  e.g. unknown profile, missing ids, the page limit, bad metadata, infeasible) fails at once
  with a clear `error` and is not retried. Transient failures (Onfleet 429/5xx after the
  client's retries, AWS errors, bugs) raise, so SQS redelivers; the last receive marks the run
  failed before the message goes to the dead-letter queue.
- Time: `options.solver.limits.duration` (default 10 s, at most 600 s), cut to what the Lambda
  invocation has left minus a margin for storing the result.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from fleetbridge.core.errors import FleetbridgeError, NotFoundError, VendorError
from fleetbridge.core.models import Run, iso, utcnow
from fleetbridge.core.observability import FAILED, count, logger
from fleetbridge.core.queue import WorkMessage
from fleetbridge.core.results import put_result
from fleetbridge.core.runs import RunRepository
from fleetbridge.core.worker import Once, measured, receive_count, run_batch
from fleetbridge.routing.run_requests import FINISHED, KIND_ONFLEET, load_json, result_key

#: Must match RoutingQueue's RedrivePolicy maxReceiveCount in template.yaml.
MAX_RECEIVES = int(os.environ.get("MAX_RECEIVE_COUNT", "3"))
MIN_SOLVE_S = 1.0
MAX_MARGIN_S = 60.0  # kept back from the invocation's time to store the result
MAX_INFEASIBLE_LISTED = 50  # reasons kept on the run (a DynamoDB item holds 400 KB)


def time_limit(router_input: dict[str, Any], deadline: float) -> float:
    """The requested solve time (or the engine's default), within what is left until
    `deadline` (a `time.monotonic()` value)."""
    from fleetbridge.routing.engine import DEFAULT_TIME_LIMIT_S, MAX_TIME_LIMIT_S
    from fleetbridge.routing.schema import parse_input

    requested = parse_input(router_input).time_limit_s() or DEFAULT_TIME_LIMIT_S
    left = deadline - time.monotonic()
    return max(MIN_SOLVE_S, min(requested, MAX_TIME_LIMIT_S, left))


def _solver(deadline: float, notes: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def solve(router_input: dict[str, Any]) -> dict[str, Any]:
        from fleetbridge.routing.engine import solve as engine_solve

        notes["time_limit_s"] = round(time_limit(router_input, deadline), 3)
        return engine_solve(router_input, time_limit_s=notes["time_limit_s"])

    return solve


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    stats = result.get("statistics") or {}
    keys = ("value", "backend", "duration_s", "vehicles_used", "unassigned", "distance")
    return {key: stats[key] for key in keys if key in stats}


def _error_text(exc: FleetbridgeError) -> str:
    return str(exc) if isinstance(exc, VendorError) else exc.message


def _finish(run: Run, status: str, **changes: Any) -> Run:
    details = {**run.details, **changes.pop("details", {}), "finished_at": iso(utcnow())}
    return RunRepository().save(
        run.model_copy(update={"status": status, **changes, "details": details})
    )


def execute(message: dict[str, Any], deadline: float) -> dict[str, Any]:
    """Solve the run named by `message` (a routing `WorkMessage`) and record the outcome."""
    from fleetbridge.routing.errors import InfeasibleRun

    run_id = WorkMessage.model_validate(message).event_id
    repository = RunRepository()
    run = repository.get(run_id)
    if run.status in FINISHED:
        return {"skipped": f"run {run_id} already {run.status}"}
    started = {"started_at": iso(utcnow())}
    run = repository.save(
        run.model_copy(update={"status": "running", "details": {**run.details, **started}})
    )
    notes: dict[str, Any] = {}
    try:
        body = load_json(run.input_key)
        if run.kind == KIND_ONFLEET:
            from fleetbridge.routing.solve_onfleet import solve_onfleet_run

            result, recorded = solve_onfleet_run(run.tenant_id, body, _solver(deadline, notes))
        else:
            result, recorded = _solver(deadline, notes)(body), {}
    except FleetbridgeError as exc:
        if isinstance(exc, VendorError) and exc.retryable:
            raise  # Onfleet busy or down: SQS redelivers
        details: dict[str, Any] = {**notes, "error_code": exc.code}
        if isinstance(exc, InfeasibleRun):
            details["infeasible"] = [r.as_dict() for r in exc.reasons[:MAX_INFEASIBLE_LISTED]]
        logger.info("routing run failed", extra={"run_id": run.id, "error_code": exc.code})
        count(FAILED)
        _finish(run, "failed", error=_error_text(exc), details=details)
        return {"failed": run.id}
    key = put_result(result_key(run), json.dumps(result))
    details = {**recorded, **notes, "statistics": _summary(result)}
    _finish(run, "succeeded", result_key=key, error=None, details=details)
    return {"succeeded": run.id}


_SOLVE = Once(execute, "event_id")


def _give_up(run_id: str, error: Exception, receives: int) -> None:
    """The last receive failed: the message goes to the DLQ; the run says why."""
    try:
        run = RunRepository().get(run_id)
        if run.status not in FINISHED:
            text = f"gave up after {receives} attempts: {error}"
            _finish(run, "failed", error=text, details={"error_code": "retries_exhausted"})
    except Exception:  # the original error matters more than a failed status write
        logger.exception("could not mark the routing run failed")


def _record_handler(record: SQSRecord, deadline: float) -> Any:
    work = WorkMessage.model_validate_json(record.body)
    with measured(work):
        return _handle_record(record, work, deadline)


def _handle_record(record: SQSRecord, work: WorkMessage, deadline: float) -> Any:
    if work.kind == "apply":
        return _apply_handler(record, work, deadline)
    logger.append_keys(run_id=work.event_id)
    try:
        return _SOLVE(message=work.model_dump(), deadline=deadline)
    except NotFoundError:
        logger.info("dropped: no such run")
        return {"dropped": "run not found"}
    except IdempotencyAlreadyInProgressError:
        raise  # another invocation is solving it: retry later, never fail the run for that
    except Exception as exc:
        receives = receive_count(record)
        if receives >= MAX_RECEIVES:
            _give_up(work.event_id, exc, receives)
        raise
    finally:
        logger.remove_keys(["run_id"])


def _apply_handler(record: SQSRecord, work: WorkMessage, deadline: float) -> Any:
    """A queued apply (`routing.apply_worker`): unexpected errors are retried by SQS."""
    from fleetbridge.routing.apply_worker import execute_apply, give_up

    logger.append_keys(run_id=work.payload.get("run_id"))
    try:
        return execute_apply(work.model_dump(), deadline)
    except NotFoundError:
        logger.info("dropped: no such run")
        return {"dropped": "run not found"}
    except Exception as exc:
        logger.exception("apply failed; SQS retries it")
        receives = receive_count(record)
        if receives >= MAX_RECEIVES:
            give_up(work.model_dump(), exc, receives)
        raise
    finally:
        logger.remove_keys(["run_id"])


def solve_batch(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Solve each queued run (or do each queued apply) of an SQS batch; failed records are
    reported back to SQS."""
    from fleetbridge.routing.apply_worker import WRITE_CONTAINER

    left = context.get_remaining_time_in_millis() / 1000
    deadline = time.monotonic() + left - min(MAX_MARGIN_S, 0.2 * left)
    return run_batch(
        event, context, lambda record: _record_handler(record, deadline), _SOLVE, WRITE_CONTAINER
    )
