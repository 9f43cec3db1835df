"""`python -m local.serve` as a user runs it (child process, SIGTERM) and `python -m local.invoke`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local.stack.config import ROOT
from local.stack.process import ServeProcess

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEMPLATE = FIXTURES / "template.yaml"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    process = ServeProcess(
        tmp_path_factory.mktemp("served"),
        args=[f"--template={TEMPLATE}", "--no-sandboxes"],
        startup_timeout=60,
    )
    with process:
        yield process
    assert process.process is not None
    assert process.process.returncode == 0, process.tail()


def _invoke(served: ServeProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FLEETBRIDGE_AWS_ENDPOINT": served.urls["aws"],
        "FLEETBRIDGE_API_URL": served.urls["api"],
        "FLEETBRIDGE_LOCAL_LOG_DIR": str(served.log_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "local.invoke", *args, f"--template={TEMPLATE}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_prints_urls_and_answers(served: ServeProcess) -> None:
    assert set(served.urls) >= {"api", "docs", "aws", "sandboxes", "logs"}
    assert all(url.startswith("http://127.0.0.1:") for k, url in served.urls.items() if k != "logs")
    assert "API docs" in served.tail()
    assert httpx.get(f"{served.urls['api']}/other").json()["flavor"] == "echo-b"


def test_invoke_runs_one_function_against_the_running_stack(served: ServeProcess) -> None:
    done = _invoke(served, "EchoFunction", str(FIXTURES / "events/item.json"))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    body = json.loads(result["body"])
    assert body["event"]["pathParameters"] == {"id": "7"}
    assert body["env"]["WORK_QUEUE"] == f"{served.urls['aws']}/123456789012/WorkQueue"
    assert body["env"]["FLEETBRIDGE_PUBLIC_URL"] == served.urls["api"]
    assert "START RequestId" in done.stderr


def test_invoke_explains_a_missing_event_file(served: ServeProcess) -> None:
    done = _invoke(served, "EchoFunction", "events/nope.json")
    assert done.returncode == 2
    assert "event file not found: events/nope.json" in done.stderr


def test_invoke_reports_function_errors(served: ServeProcess, tmp_path: Path) -> None:
    event = tmp_path / "raise.json"
    event.write_text(json.dumps({"rawPath": "/echo/raise"}))
    done = _invoke(served, "EchoFunction", str(event))
    assert done.returncode == 1
    assert json.loads(done.stdout)["errorType"] == "RuntimeError"
