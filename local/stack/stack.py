"""`LocalStack`: moto, the vendor sandboxes, the API emulator, the SQS poller and the
schedules of one template, started and stopped together (in-process; `local.serve` is the CLI).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path
from typing import Any

import httpx
from werkzeug.serving import BaseWSGIServer

from local.stack.apigw import ApiGateway, bind, json_response, start_serving
from local.stack.aws import MotoServer, create_resources, scaled_visibility
from local.stack.config import HOST, Endpoints, StackSettings, function_environment
from local.stack.emails import sent_emails
from local.stack.functions import FunctionSpec, global_function_spec, load_functions
from local.stack.local_api import TASKS_FUNCTION, LocalApi
from local.stack.poller import QueuePoller, SqsPoller
from local.stack.routes import RouteTable
from local.stack.runtime import FunctionRuntime, Invocation
from local.stack.schedules import Scheduler
from local.stack.template import Resolver, Template

logger = logging.getLogger(__name__)

TASKS_DIR = Path(__file__).with_name("tasks")


class LocalStack:
    """The whole local stack of a template, on 127.0.0.1 only; usable as a context manager."""

    def __init__(self, settings: StackSettings | None = None, **changes: Any) -> None:
        self.settings = dataclasses.replace(settings or StackSettings(), **changes)
        self.template = Template.load(self.settings.template, self.settings.parameters)
        self.log_dir = self.settings.log_dir.resolve()
        self.functions: dict[str, FunctionSpec] = {}
        self.endpoints: Endpoints | None = None
        self._moto: MotoServer | None = None
        self._sandbox: tuple[BaseWSGIServer, threading.Thread] | None = None
        self._api_server: BaseWSGIServer | None = None
        self._api_thread: threading.Thread | None = None
        self._gateway: ApiGateway | None = None
        self.resolver: Resolver | None = None
        self.runtime: FunctionRuntime
        self.poller: SqsPoller
        self.scheduler: Scheduler

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> LocalStack:
        """Start everything; on failure whatever started is stopped again."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        settings = self.settings
        self._moto = MotoServer(settings.aws_port)
        self._moto.start()
        aws_url = self._moto.url
        httpx.post(f"{aws_url}/moto-api/reset", timeout=10, trust_env=False).raise_for_status()
        self.resolver = Resolver(self.template, aws_url)
        create_resources(self.resolver, aws_url, settings.visibility_scale)
        sandbox_url = self._start_sandboxes()
        self._api_server = bind(self._dispatch, settings.api_port)
        api_url = f"http://{HOST}:{self._api_server.server_port}"
        self.resolver.api_url = api_url
        self.endpoints = Endpoints(aws_url, api_url, sandbox_url, settings.time_factor)
        self.functions = load_functions(self.template, self.resolver)
        if settings.max_timeout > 0:
            self.functions = {
                name: dataclasses.replace(spec, timeout=min(spec.timeout, settings.max_timeout))
                for name, spec in self.functions.items()
            }
        self.runtime = FunctionRuntime(
            self.functions, self.environment, self.log_dir, settings.concurrency
        )
        self.runtime.add(
            global_function_spec(
                self.template, self.resolver, TASKS_FUNCTION, TASKS_DIR, "local_tasks.handler"
            )
        )
        routes = [route for spec in self.functions.values() for route in spec.routes]
        self._gateway = ApiGateway(RouteTable(routes), self.runtime, LocalApi(self))
        self._api_thread = start_serving(self._api_server)
        self.poller = SqsPoller(
            [
                QueuePoller(
                    source,
                    self.resolver.ref(source.queue_id),
                    self.runtime,
                    aws_url,
                    self._visibility(source.queue_id),
                    batches_in_flight=settings.concurrency,
                )
                for spec in self.functions.values()
                for source in spec.sqs
                if source.enabled
            ],
            aws_url,
        )
        self.poller.start()
        schedules = [s for spec in self.functions.values() for s in spec.schedules]
        self.scheduler = Scheduler(schedules, self.runtime)
        if settings.schedules:
            self.scheduler.start()
        logger.info("local stack up: API %s, AWS %s, sandboxes %s", api_url, aws_url, sandbox_url)

    def _visibility(self, queue_id: str) -> tuple[float, float]:
        """(local, template) visibility timeouts of a queue."""
        assert self.resolver is not None
        props = self.resolver.resolve(self.template.resources[queue_id].get("Properties") or {})
        configured = float(props.get("VisibilityTimeout", 30))
        return float(scaled_visibility(configured, self.settings.visibility_scale)), configured

    def _start_sandboxes(self) -> str:
        port = self.settings.sandbox_port
        if self.settings.sandboxes:
            try:
                from local.sandboxes.app import run_sandboxes
            except ImportError:
                logger.warning("local.sandboxes is not available: no vendor sandboxes")
                self.settings.sandboxes = False
            else:
                self._sandbox = run_sandboxes(HOST, port, self.settings.time_factor)
                port = self._sandbox[0].server_port
        return f"http://{HOST}:{port}"

    def stop(self) -> None:
        """Stop everything that runs (idempotent)."""
        for name in ("scheduler", "poller"):
            part = getattr(self, name, None)
            if part is not None:
                part.stop()
        if self._api_server is not None and self._api_thread is not None:
            self._api_server.shutdown()
        if self._api_server is not None:
            self._api_server.server_close()
        self._api_server = self._api_thread = None
        runtime = getattr(self, "runtime", None)
        if runtime is not None:
            runtime.close()
        if self._sandbox is not None:
            self._sandbox[0].shutdown()
            self._sandbox[0].server_close()
            self._sandbox = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- use
    def _dispatch(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self._gateway is None:
            return json_response({"message": "Service Unavailable"}, 503)(environ, start_response)
        return self._gateway(environ, start_response)

    def environment(self, spec: FunctionSpec) -> dict[str, str]:
        """The environment a function's workers run with."""
        assert self.endpoints is not None, "start() first"
        return function_environment(spec, self.endpoints, self.settings.env_overrides)

    @property
    def api_url(self) -> str:
        """The API emulator's base URL."""
        assert self.endpoints is not None, "start() first"
        return self.endpoints.api_url

    @property
    def aws_url(self) -> str:
        """moto's endpoint URL."""
        assert self.endpoints is not None, "start() first"
        return self.endpoints.aws_url

    @property
    def sandbox_url(self) -> str:
        """The vendor sandboxes' base URL."""
        assert self.endpoints is not None, "start() first"
        return self.endpoints.sandbox_url

    def urls(self) -> dict[str, str]:
        """Every URL of the stack, by name."""
        return {
            "api": self.api_url,
            "docs": f"{self.api_url}/docs",
            "aws": self.aws_url,
            "sandboxes": self.sandbox_url,
            "logs": str(self.log_dir),
        }

    def invoke(self, logical_id: str, event: Any) -> Invocation:
        """Invoke a function synchronously."""
        return self.runtime.invoke(logical_id, event)

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every queue is empty and no batch is in flight (TimeoutError if not)."""
        self.poller.drain(timeout)

    def emails(self) -> list[dict[str, Any]]:
        """The emails sent through SES."""
        return sent_emails(self._moto.recorder if self._moto else None)

    def health(self) -> dict[str, bool]:
        """Which parts are up."""
        checks = {
            "aws": bool(self._moto and self._moto.alive),
            "api": self._gateway is not None,
            "poller": self.poller.alive if hasattr(self, "poller") else False,
        }
        if self.settings.sandboxes:
            checks["sandboxes"] = bool(self._sandbox and self._sandbox[1].is_alive())
        return checks
