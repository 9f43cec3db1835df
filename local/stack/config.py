"""Local stack settings (ports, directories, scales) and the environment functions run with."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from local.stack.functions import FunctionSpec
from local.stack.template import REGION

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = ROOT / "template.yaml"
HOST = "127.0.0.1"

#: Each vendor's base URL below the sandbox root (their real path after their real host).
VENDOR_PATHS: dict[str, str] = {
    "onfleet": "/onfleet/api/v2",
    "fleetio": "/fleetio/api",
    "keycafe": "/keycafe/v0",
    "striven": "/striven",
    "gpsinsight": "/gpsinsight/v2",
    "driveri": "/driveri",
    "servicetrade": "/servicetrade/api",
    "azuga": "/azuga",
}

#: Environment variables the local process passes on to function workers (nothing else leaks).
PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _aws_port_default() -> int:
    """FLEETBRIDGE_AWS_PORT, else the port of FLEETBRIDGE_AWS_ENDPOINT, else 5000."""
    if os.environ.get("FLEETBRIDGE_AWS_PORT", "").strip():
        return _env_int("FLEETBRIDGE_AWS_PORT", 5000)
    endpoint = os.environ.get("FLEETBRIDGE_AWS_ENDPOINT", "").strip()
    return urlsplit(endpoint).port or 5000 if endpoint else 5000


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


@dataclass
class StackSettings:
    """What `LocalStack` needs; every field defaults from its environment variable."""

    template: Path = field(
        default_factory=lambda: Path(os.environ.get("FLEETBRIDGE_TEMPLATE", DEFAULT_TEMPLATE))
    )
    api_port: int = field(default_factory=lambda: _env_int("FLEETBRIDGE_API_PORT", 3000))
    aws_port: int = field(default_factory=_aws_port_default)
    sandbox_port: int = field(default_factory=lambda: _env_int("FLEETBRIDGE_SANDBOX_PORT", 4010))
    log_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("FLEETBRIDGE_LOCAL_LOG_DIR", ".local/logs"))
    )
    time_factor: float = field(
        default_factory=lambda: _env_float("FLEETBRIDGE_SANDBOX_TIME_FACTOR", 1.0)
    )
    visibility_scale: float = field(
        default_factory=lambda: _env_float("FLEETBRIDGE_LOCAL_VISIBILITY_SCALE", 1.0)
    )
    concurrency: int = field(default_factory=lambda: _env_int("FLEETBRIDGE_LOCAL_CONCURRENCY", 3))
    #: caps every function's Timeout (seconds; 0: the template's): with scaled visibility
    #: timeouts, keeps a redelivery after a killed invocation later than its timeout, as in AWS
    max_timeout: float = field(
        default_factory=lambda: _env_float("FLEETBRIDGE_LOCAL_MAX_TIMEOUT", 0.0)
    )
    sandboxes: bool = True
    schedules: bool = False
    parameters: dict[str, str] = field(default_factory=dict)
    env_overrides: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoints:
    """The URLs a function talks to locally."""

    aws_url: str
    api_url: str
    sandbox_url: str
    time_factor: float = 1.0

    @classmethod
    def from_env(cls) -> Endpoints:
        """Endpoints of an already running stack (`local.invoke`), from env vars or defaults."""
        aws = os.environ.get("FLEETBRIDGE_AWS_ENDPOINT") or f"http://{HOST}:{_aws_port_default()}"
        api = os.environ.get("FLEETBRIDGE_API_URL") or (
            f"http://{HOST}:{_env_int('FLEETBRIDGE_API_PORT', 3000)}"
        )
        sandbox = os.environ.get("FLEETBRIDGE_SANDBOX_URL") or (
            f"http://{HOST}:{_env_int('FLEETBRIDGE_SANDBOX_PORT', 4010)}"
        )
        return cls(aws, api, sandbox, _env_float("FLEETBRIDGE_SANDBOX_TIME_FACTOR", 1.0))

    def vendor_urls(self) -> dict[str, str]:
        """vendor -> its sandbox base URL."""
        return {vendor: self.sandbox_url + path for vendor, path in VENDOR_PATHS.items()}


def function_environment(
    spec: FunctionSpec, endpoints: Endpoints, overrides: dict[str, str] | None = None
) -> dict[str, str]:
    """The complete environment of a function worker process.

    A minimal base (PATH, HOME, ...), the Lambda runtime variables, the function's own
    variables (template Globals + Environment, resolved), then the local endpoints and fake
    credentials, then `overrides`.
    """
    env = {name: os.environ[name] for name in PASS_THROUGH if name in os.environ}
    env.update(
        AWS_LAMBDA_FUNCTION_NAME=spec.logical_id,
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(spec.memory),
        AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{spec.logical_id}",
        AWS_LAMBDA_LOG_STREAM_NAME="local",
        AWS_EXECUTION_ENV=f"AWS_Lambda_{spec.runtime}",
        LAMBDA_TASK_ROOT=str(spec.code_dir),
        _HANDLER=spec.handler,
        TZ=":UTC",
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(spec.environment)
    env.update(
        AWS_ENDPOINT_URL=endpoints.aws_url,
        FLEETBRIDGE_AWS_ENDPOINT=endpoints.aws_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_DEV="false",
        FLEETBRIDGE_VENDOR_URLS=json.dumps(endpoints.vendor_urls()),
        FLEETBRIDGE_PUBLIC_URL=endpoints.api_url,
        FLEETBRIDGE_RATE_TIME_FACTOR=str(endpoints.time_factor),
        FLEETBRIDGE_LOCAL="true",
    )
    env.update(overrides or {})
    return env
