"""`ServeProcess`: `python -m local.serve` as a child process on free ports.

For the e2e fixture, `local.demo` and anything else that wants the stack exactly as a user
runs it: it passes port 0 everywhere, reads the URLs from the ready file, waits for
`/_local/health` and stops the stack with SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from local.stack.config import ROOT


class StackStartError(RuntimeError):
    """The stack did not come up; the message ends with the tail of its output."""


class ServeProcess:
    """A local stack in a child process; `urls` is filled once it is healthy."""

    def __init__(
        self,
        log_dir: Path,
        *,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.log_dir = Path(log_dir).resolve()
        self.env = {**os.environ, **(env or {})}
        self.args = list(args or [])
        self.startup_timeout = startup_timeout
        self.output = self.log_dir / "serve.log"
        self.ready_file = self.log_dir / "serve-ready.json"
        self.process: subprocess.Popen[bytes] | None = None
        self.urls: dict[str, str] = {}

    def start(self) -> ServeProcess:
        """Start the stack and wait until it is healthy (StackStartError otherwise)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.ready_file.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "local.serve",
            "--api-port=0",
            "--aws-port=0",
            "--sandbox-port=0",
            f"--log-dir={self.log_dir}",
            f"--ready-file={self.ready_file}",
            *self.args,
        ]
        with self.output.open("ab") as output:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT
            )
        try:
            self._wait_healthy(time.monotonic() + self.startup_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self, deadline: float) -> None:
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StackStartError(
                    f"local.serve exited with {self.process.returncode}\n{self.tail()}"
                )
            if self.ready_file.exists():
                self.urls = json.loads(self.ready_file.read_text())
                try:
                    if (
                        httpx.get(
                            f"{self.urls['api']}/_local/health", timeout=5, trust_env=False
                        ).status_code
                        == 200
                    ):
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        raise StackStartError(
            f"local stack not healthy after {self.startup_timeout} s\n{self.tail()}"
        )

    def tail(self, lines: int = 60) -> str:
        """The last lines of the stack's own output."""
        if not self.output.exists():
            return ""
        return "\n".join(self.output.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
