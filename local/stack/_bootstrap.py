"""Function worker process: imports one handler once, then serves invocations over a pipe.

Run by `local.stack.runtime` as a script (never imported):
`python _bootstrap.py <request fd> <response fd> <config json>`. The config gives the handler
(`module.function`), the paths to put first on `sys.path` (the function's CodeUri, then its
layers) and the project roots, whose other directories are removed from `sys.path` so a
function only sees its own code and layers. Requests and responses are JSON lines.
stdout/stderr are the function's log.
"""

from __future__ import annotations

import decimal
import importlib
import json
import os
import random
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """The attributes and method of the Lambda Python runtime's context object."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.function_name: str = fields["function_name"]
        self.function_version: str = fields.get("function_version", "$LATEST")
        self.invoked_function_arn: str = fields["invoked_function_arn"]
        self.memory_limit_in_mb: str = str(fields["memory_limit_in_mb"])
        self.aws_request_id: str = fields["aws_request_id"]
        self.log_group_name: str = fields["log_group_name"]
        self.log_stream_name: str = fields.get("log_stream_name", "local")
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline_ms: int = int(fields["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _set_path(paths: list[str], project_roots: list[str]) -> None:
    own_dir = os.path.dirname(os.path.abspath(__file__))
    roots = tuple(os.path.abspath(root) + os.sep for root in project_roots)

    # the interpreter's own directories stay even when the virtualenv lives in the project
    interpreter = tuple(
        os.path.abspath(prefix) + os.sep
        for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}
    )

    def foreign(entry: str) -> bool:
        path = os.path.abspath(entry or ".") + os.sep
        if path.startswith(interpreter) or "site-packages" in path.split(os.sep):
            return False
        return path == own_dir + os.sep or path.startswith(roots)

    sys.path[:] = [*paths, *(entry for entry in sys.path if not foreign(entry))]


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def _load(handler: str) -> Any:
    module_name, _, function_name = handler.rpartition(".")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise _InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise _InitError(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    return function


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _send(stream: Any, message: dict[str, Any]) -> None:
    stream.write(json.dumps(message).encode() + b"\n")
    stream.flush()


class _Crash:
    """The local stack's crash fault (`POST /_local/faults`): after a vendor write has been
    answered, and before the function's next step, the process is killed (exit 137), as Lambda
    kills a function at its timeout. Nothing is caught or cleaned up; the poller sees the
    invocation fail and SQS delivers the batch again."""

    probability = 0.0
    rng = random.Random()
    installed = False

    @classmethod
    def configure(cls, faults: dict[str, Any]) -> None:
        probability = float(faults.get("crash_after_vendor_write") or 0.0)
        if probability != cls.probability:
            seed = faults.get("seed")  # per process: each worker draws its own sequence
            cls.rng = random.Random(None if seed is None else f"{seed}:{os.getpid()}")
        cls.probability = probability
        if probability and not cls.installed:
            cls._install()

    @classmethod
    def _install(cls) -> None:
        import httpx

        vendor_urls = tuple(json.loads(os.environ.get("FLEETBRIDGE_VENDOR_URLS") or "{}").values())
        send = httpx.Client.send

        def send_then_maybe_crash(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            response = send(self, request, *args, **kwargs)
            url = str(request.url)
            write = request.method in ("POST", "PUT", "PATCH", "DELETE")
            if write and url.startswith(vendor_urls) and cls.rng.random() < cls.probability:
                print(f"[CRASH] killed after {request.method} {request.url.path}", flush=True)
                os._exit(137)
            return response

        httpx.Client.send = send_then_maybe_crash  # type: ignore[method-assign]
        cls.installed = True


def _invoke(handler: Any, request: dict[str, Any]) -> dict[str, Any]:
    _Crash.configure(request.get("faults") or {})
    context = LambdaContext(request["context"])
    request_id = context.aws_request_id
    print(f"START RequestId: {request_id} Version: $LATEST", flush=True)
    started = time.monotonic()
    try:
        result = handler(request["event"], context)
        try:
            response: dict[str, Any] = {
                "ok": True,
                "result": json.loads(json.dumps(result, default=_json_default)),
            }
        except (TypeError, ValueError) as exc:
            response = {
                "ok": False,
                "error": _error(exc, "Runtime.MarshalError")
                | {"errorMessage": f"Unable to marshal response: {exc}"},
            }
    except Exception as exc:
        print(f"[ERROR] {type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exc()
        response = {"ok": False, "error": _error(exc)}
    duration = (time.monotonic() - started) * 1000
    print(f"END RequestId: {request_id}", flush=True)
    print(f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms", flush=True)
    sys.stderr.flush()
    return response


def main() -> int:
    """Import the handler, report readiness, then answer requests until the pipe closes."""
    request_fd, response_fd, raw_config = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    config = json.loads(raw_config)
    _set_path(config["paths"], config["project_roots"])
    responses = os.fdopen(response_fd, "wb")
    started = time.monotonic()
    try:
        handler = _load(config["handler"])
    except _InitError as exc:
        print(f"[ERROR] {exc.error_type}: {exc}", file=sys.stderr)
        traceback.print_exc()
        _send(responses, {"ready": False, "error": _error(exc, exc.error_type)})
        return 1
    except Exception as exc:
        traceback.print_exc()
        _send(responses, {"ready": False, "error": _error(exc, "Runtime.Unknown")})
        return 1
    init_ms = (time.monotonic() - started) * 1000
    print(f"INIT_REPORT Init Duration: {init_ms:.2f} ms", flush=True)
    _send(responses, {"ready": True, "init_ms": init_ms})
    with os.fdopen(request_fd, "rb") as requests:
        for line in requests:
            if line.strip():
                _send(responses, _invoke(handler, json.loads(line)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
