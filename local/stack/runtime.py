"""Run functions in long-lived worker subprocesses, like Lambda execution environments.

Each function gets a small pool of workers (started lazily). A worker is the same Python
interpreter running `_bootstrap.py` with the function's own environment and `sys.path`
(CodeUri, then its layers), so every handler can be called `app` without clashing. The handler
is imported once (cold start); invocations travel over a pipe as JSON lines. A worker that
overruns the function's Timeout is killed and replaced on the next invocation. stdout and
stderr go to `<log dir>/<LogicalId>.log`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.stack.config import ROOT
from local.stack.functions import FunctionSpec

logger = logging.getLogger(__name__)

BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
INIT_TIMEOUT = float(os.environ.get("FLEETBRIDGE_LOCAL_INIT_TIMEOUT", "60"))


@dataclass
class Invocation:
    """The outcome of one invocation: `result` when ok, else a Lambda-style `error` dict."""

    request_id: str
    ok: bool
    result: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0

    @property
    def payload(self) -> Any:
        """What Lambda's Invoke API returns: the result, or the error document."""
        return self.result if self.ok else self.error


class WorkerDied(Exception):
    """The worker process exited (or closed its pipe) before answering."""


class Worker:
    """One execution environment: a subprocess with the function imported."""

    def __init__(self, spec: FunctionSpec, env: dict[str, str], log_path: Path) -> None:
        self.spec = spec
        self.log_path = log_path
        request_read, self._request = os.pipe()
        self._response, response_write = os.pipe()
        config = {
            "handler": spec.handler,
            "paths": [str(spec.code_dir), *(str(p) for p in spec.layers)],
            "project_roots": [str(ROOT)],
        }
        try:
            with log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    [
                        sys.executable,
                        "-u",
                        str(BOOTSTRAP),
                        str(request_read),
                        str(response_write),
                        json.dumps(config),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(request_read, response_write),
                    cwd=spec.code_dir,
                    env=env,
                    start_new_session=True,
                )
        except BaseException:
            for fd in (request_read, self._request, self._response, response_write):
                os.close(fd)
            raise
        os.close(request_read)
        os.close(response_write)
        self._buffer = b""
        self.ready: dict[str, Any] = {}

    def wait_ready(self, timeout: float = INIT_TIMEOUT) -> dict[str, Any]:
        """Wait for the cold start; returns the bootstrap's ready message."""
        self.ready = self._read(time.monotonic() + timeout)
        return self.ready

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.poll() is None

    def invoke(
        self, event: Any, request_id: str, faults: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send one event; returns the bootstrap's response or raises TimeoutError/WorkerDied.

        `faults`: the local crash fault for this invocation (see `_bootstrap._Crash`)."""
        deadline = time.time() + self.spec.timeout
        context = {
            "function_name": self.spec.logical_id,
            "invoked_function_arn": self.spec.arn,
            "memory_limit_in_mb": self.spec.memory,
            "aws_request_id": request_id,
            "log_group_name": f"/aws/lambda/{self.spec.logical_id}",
            "deadline_ms": int(deadline * 1000),
        }
        request = {"event": event, "context": context, "faults": faults or {}}
        data = json.dumps(request).encode() + b"\n"
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._request, view) :]
        except OSError as exc:
            raise WorkerDied(str(exc)) from exc
        return self._read(time.monotonic() + self.spec.timeout)

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            readable, _, _ = select.select([self._response], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(self._response, 1 << 16)
            if not chunk:
                raise WorkerDied(f"exit status {self.process.wait()}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def close(self, grace: float = 2.0) -> None:
        """Close the request pipe (the worker exits), then kill it if it lingers."""
        for fd in (self._request, self._response):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._request = self._response = -1
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """Stop the worker at once (timeouts)."""
        if self.alive:
            self.process.kill()
        self.close()


class FunctionPool:
    """Up to `size` concurrent workers of one function, reused between invocations."""

    def __init__(self, spec: FunctionSpec, env: dict[str, str], log_dir: Path, size: int) -> None:
        self.spec = spec
        self.env = env
        self.log_path = log_dir / f"{spec.logical_id}.log"
        self._slots = threading.BoundedSemaphore(max(1, size))
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        #: injected faults (`FunctionRuntime.set_faults`), sent with each invocation
        self.faults: dict[str, Any] = {}

    def _log(self, text: str) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"{stamp} {text}\n")

    def _take(self) -> tuple[Worker, dict[str, Any]]:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    return worker, worker.ready
                self._discard(worker)
            if self._closed:
                raise RuntimeError("the local stack is shutting down")
            worker = Worker(self.spec, self.env, self.log_path)
            self._all.add(worker)
        return worker, worker.wait_ready()

    def _discard(self, worker: Worker) -> None:
        self._all.discard(worker)
        worker.kill()

    def invoke(self, event: Any) -> Invocation:
        """Run the function once (waits for a free worker when all are busy)."""
        request_id = str(uuid.uuid4())
        with self._slots:
            started = time.monotonic()
            worker: Worker | None = None
            try:
                worker, ready = self._take()
                if not ready.get("ready"):
                    with self._lock:
                        self._discard(worker)
                    return Invocation(request_id, False, error=ready.get("error"))
                response = worker.invoke(event, request_id, self.faults)
            except TimeoutError:
                seconds = self.spec.timeout
                message = (
                    f"RequestId: {request_id} Error: Task timed out after {seconds:.2f} seconds"
                )
                self._log(message)
                logger.warning("%s: %s", self.spec.logical_id, message)
                if worker is not None:
                    with self._lock:
                        self._discard(worker)
                return Invocation(
                    request_id,
                    False,
                    error={"errorType": "Sandbox.Timedout", "errorMessage": message},
                )
            except WorkerDied as exc:
                message = f"RequestId: {request_id} Error: Runtime exited with error: {exc}"
                self._log(message)
                if worker is not None:
                    with self._lock:
                        self._discard(worker)
                return Invocation(
                    request_id,
                    False,
                    error={"errorType": "Runtime.ExitError", "errorMessage": message},
                )
            duration = (time.monotonic() - started) * 1000
            with self._lock:
                if self._closed:
                    self._discard(worker)
                else:
                    self._idle.append(worker)
        if response.get("ok"):
            return Invocation(request_id, True, result=response.get("result"), duration_ms=duration)
        return Invocation(request_id, False, error=response.get("error"), duration_ms=duration)

    @property
    def worker_pids(self) -> list[int]:
        """The process ids of the current workers (tests, diagnostics)."""
        with self._lock:
            return [w.process.pid for w in self._all if w.alive]

    def close(self) -> None:
        """Stop every worker (busy ones are killed)."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
        for worker in workers:
            worker.close(grace=1.0)


class FunctionRuntime:
    """All functions of the stack; `invoke(logical_id, event)` is what every emulator calls."""

    def __init__(
        self,
        functions: dict[str, FunctionSpec],
        environment: Callable[[FunctionSpec], dict[str, str]],
        log_dir: Path,
        concurrency: int = 3,
    ) -> None:
        self.functions = dict(functions)
        self._environment = environment
        self.log_dir = log_dir
        self.concurrency = concurrency
        self._pools: dict[str, FunctionPool] = {}
        self._lock = threading.Lock()
        self.faults: dict[str, Any] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def add(self, spec: FunctionSpec) -> None:
        """Register a function that is not in the template (local helpers)."""
        self.functions[spec.logical_id] = spec

    def pool(self, logical_id: str) -> FunctionPool:
        """The worker pool of a function (created on first use)."""
        with self._lock:
            if logical_id not in self._pools:
                spec = self.functions[logical_id]
                pool = FunctionPool(spec, self._environment(spec), self.log_dir, self.concurrency)
                self._pools[logical_id] = pool
                pool.faults = self._faults_of(logical_id)
            return self._pools[logical_id]

    def set_faults(self, faults: dict[str, Any]) -> None:
        """The crash fault (`{"crash_after_vendor_write": p, "seed"?, "functions"?}`) for the
        queue workers (or the `functions` listed); `{}` clears it."""
        self.faults = dict(faults)
        for logical_id in self.functions:
            self.pool(logical_id).faults = self._faults_of(logical_id)

    def _faults_of(self, logical_id: str) -> dict[str, Any]:
        targets = self.faults.get("functions")
        if targets is not None:
            return self.faults if logical_id in targets else {}
        return self.faults if logical_id.endswith("WorkerFunction") else {}

    def invoke(self, logical_id: str, event: Any) -> Invocation:
        """Invoke a function synchronously (RequestResponse)."""
        if logical_id not in self.functions:
            raise KeyError(f"no function {logical_id!r}")
        return self.pool(logical_id).invoke(event)

    def close(self) -> None:
        """Stop every worker of every function."""
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()
