"""Onfleet API v2 client: auth test, tasks, workers, teams and worker containers.

Auth is HTTP Basic with the API key as username and an empty password. The organization's limit
(20 requests/second) is shared by every process through `account_limiter`; Onfleet sends no
`Retry-After`, so a 429 backs off with the base client's jittered exponential delay.
Errors `{"code", "message": {"error", "message", "cause", "request"}}` map to the typed errors
(409 `VendorConflict` carries Onfleet's message, e.g. the phone already in use); the `cause` is
appended to the message when it adds something, and `request` becomes `request_id`.
Timestamps are Unix milliseconds; locations `[longitude, latitude]`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from fleetbridge.core.errors import VendorError
from fleetbridge.core.http import ErrorDetails, first_text, paginate, text_of
from fleetbridge.core.ratelimit import RateLimit
from fleetbridge.vendors.base import ConnectedClient

#: 20 requests/second per organization (onfleet.md).
RATE_LIMIT = RateLimit(requests=20, per_seconds=1)
UNASSIGNED, ASSIGNED, ACTIVE, COMPLETED = 0, 1, 2, 3


class OnfleetModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Metadata(OnfleetModel):
    name: str
    type: str
    value: Any = None
    subtype: str | None = None
    visibility: list[str] = Field(default_factory=lambda: ["api"])


class Destination(OnfleetModel):
    id: str | None = None
    address: dict[str, Any] = Field(default_factory=dict)
    location: list[float] | None = None
    notes: str | None = None


class Recipient(OnfleetModel):
    id: str | None = None
    name: str | None = None
    phone: str | None = None
    notes: str | None = None


class OnfleetTask(OnfleetModel):
    id: str
    short_id: str | None = Field(default=None, alias="shortId")
    tracking_url: str | None = Field(default=None, alias="trackingURL")
    worker: str | None = None
    state: int = UNASSIGNED
    complete_after: int | None = Field(default=None, alias="completeAfter")
    complete_before: int | None = Field(default=None, alias="completeBefore")
    notes: str | None = None
    destination: Destination | None = None
    recipients: list[Recipient] = Field(default_factory=list)
    metadata: list[Metadata] = Field(default_factory=list)
    container: dict[str, Any] | None = None
    time_created: int | None = Field(default=None, alias="timeCreated")
    time_last_modified: int | None = Field(default=None, alias="timeLastModified")

    @property
    def completed(self) -> bool:
        """Completed tasks cannot be modified nor deleted."""
        return self.state == COMPLETED

    def meta(self, name: str) -> Any:
        """The value of the metadata entry `name`, or None."""
        return next((m.value for m in self.metadata if m.name == name), None)


class OnfleetWorker(OnfleetModel):
    """A worker; with `filter=` only some fields are present, hence the defaults."""

    id: str
    name: str | None = None
    phone: str | None = None
    teams: list[str] = Field(default_factory=list)
    tasks: list[str] = Field(default_factory=list)
    active_task: str | None = Field(default=None, alias="activeTask")
    on_duty: bool | None = Field(default=None, alias="onDuty")
    metadata: list[Metadata] = Field(default_factory=list)


class OnfleetTeam(OnfleetModel):
    id: str
    name: str
    workers: list[str] = Field(default_factory=list)
    managers: list[str] = Field(default_factory=list)
    hub: str | None = None


class Container(OnfleetModel):
    id: str
    type: str
    worker: str | None = None
    team: str | None = None
    tasks: list[str] = Field(default_factory=list)
    active_task: str | None = Field(default=None, alias="activeTask")


class TasksPage(OnfleetModel):
    tasks: list[OnfleetTask] = Field(default_factory=list)
    last_id: str | None = Field(default=None, alias="lastId")


def _path_id(value: str) -> str:
    return quote(value, safe="")


def _csv(values: Iterable[Any] | None) -> str | None:
    return None if values is None else ",".join(str(v) for v in values)


class OnfleetClient(ConnectedClient):
    """One Onfleet organization's API."""

    vendor = "onfleet"
    default_url = "https://onfleet.com/api/v2"
    credential_args = {"api_key": "onfleet_api_key"}
    account_args = ("api_key",)  # one key per organization
    rate_limit = RATE_LIMIT

    def __init__(self, base: str, *, api_key: str, **kwargs: Any) -> None:
        """`kwargs`: the client base's options (rate limiter, transport...)."""
        super().__init__(base, auth=(api_key, ""), **kwargs)

    # ---------------------------------------------------------------- errors
    def error_details(self, body: Any) -> ErrorDetails | None:
        """`{"code", "message": {"error", "message", "cause", "request"}}`."""
        detail = body.get("message") if isinstance(body, dict) else None
        if not isinstance(detail, dict):
            return super().error_details(body)
        message = first_text(detail.get("message"), body.get("code"))
        if message is None:
            return None
        cause = detail.get("cause")
        if isinstance(cause, str) and cause and cause not in message:
            message = f"{message} ({cause})"
        return text_of(body.get("code")), message, None

    def _error(self, response: httpx.Response) -> VendorError:
        """The base mapping; Onfleet's request id comes from the body."""
        error = super()._error(response)
        body = error.body if isinstance(error.body, dict) else {}
        detail = body.get("message")
        if error.request_id is None and isinstance(detail, dict) and detail.get("request"):
            error.request_id = str(detail["request"])
        return error

    # ---------------------------------------------------------------- auth
    def auth_test(self) -> dict[str, Any]:
        """`GET /auth/test`: raises `AuthError` when the key is invalid."""
        return dict(self.get_json("/auth/test"))

    def check(self) -> None:
        """Cheapest authenticated call (connection test): `auth_test`."""
        self.auth_test()

    # ---------------------------------------------------------------- tasks
    def create_task(self, payload: Mapping[str, Any]) -> OnfleetTask:
        """`POST /tasks` (retried only on 429/503: a repeat after a timeout could duplicate it)."""
        response = self.request("POST", "/tasks", json=dict(payload))
        return OnfleetTask.model_validate(response.json())

    def get_task(self, task_id: str) -> OnfleetTask | None:
        """The task, or None when Onfleet has none with this id (e.g. deleted)."""
        return self.find_model(f"/tasks/{_path_id(task_id)}", OnfleetTask)

    def update_task(self, task_id: str, fields: Mapping[str, Any]) -> OnfleetTask:
        """`PUT /tasks/{id}`: a partial update (`container` reassigns)."""
        response = self.request("PUT", f"/tasks/{_path_id(task_id)}", json=dict(fields))
        return OnfleetTask.model_validate(response.json())

    def delete_task(self, task_id: str) -> None:
        """`DELETE /tasks/{id}` (a completed task cannot be deleted: VendorValidationError)."""
        self.request("DELETE", f"/tasks/{_path_id(task_id)}")

    def iter_tasks_all(
        self, params: Mapping[str, Any], page_limit: int | None = None
    ) -> Iterator[OnfleetTask]:
        """`GET /tasks/all` (`from` required), following `lastId`; at most `page_limit` pages.

        Onfleet answers at most 64 tasks a page; `page_limit` bounds a runaway listing.
        """
        query = {
            k: (_csv(v) if isinstance(v, list | tuple | set) else v) for k, v in params.items()
        }
        pages = 0

        def fetch(last_id: str | None) -> tuple[list[OnfleetTask], str | None]:
            nonlocal pages
            pages += 1
            page = self.get_model("/tasks/all", TasksPage, params={**query, "lastId": last_id})
            more = page.last_id and page.tasks and (page_limit is None or pages < page_limit)
            return page.tasks, page.last_id if more else None

        return paginate(fetch)

    # ---------------------------------------------------------------- workers
    def create_worker(self, fields: Mapping[str, Any]) -> OnfleetWorker:
        """`POST /workers` (`name`, `phone`, `teams`); a phone in use raises VendorConflict."""
        response = self.request("POST", "/workers", json=dict(fields))
        return OnfleetWorker.model_validate(response.json())

    def list_workers(
        self,
        *,
        filter: Iterable[str] | None = None,
        phones: Iterable[str] | None = None,
        teams: Iterable[str] | None = None,
        states: Iterable[int] | None = None,
    ) -> list[OnfleetWorker]:
        """`GET /workers` with optional field `filter`, `phones` (E.164), `teams` and `states`."""
        fields = None if filter is None else dict.fromkeys(["id", *filter])  # id always
        params = {
            "filter": _csv(fields),
            "phones": _csv(phones),
            "teams": _csv(teams),
            "states": _csv(states),
        }
        return [OnfleetWorker.model_validate(w) for w in self.get_json("/workers", params=params)]

    def get_worker(self, worker_id: str) -> OnfleetWorker | None:
        """The worker, or None."""
        return self.find_model(f"/workers/{_path_id(worker_id)}", OnfleetWorker)

    def update_worker(self, worker_id: str, fields: Mapping[str, Any]) -> OnfleetWorker:
        """`PUT /workers/{id}` (`teams` replaces the worker's teams)."""
        response = self.request("PUT", f"/workers/{_path_id(worker_id)}", json=dict(fields))
        return OnfleetWorker.model_validate(response.json())

    # ---------------------------------------------------------------- teams
    def list_teams(self) -> list[OnfleetTeam]:
        """Every team."""
        return [OnfleetTeam.model_validate(t) for t in self.get_json("/teams")]

    def create_team(
        self, name: str, workers: Iterable[str] = (), managers: Iterable[str] = ()
    ) -> OnfleetTeam:
        """`POST /teams` (names are unique: a taken name raises VendorConflict)."""
        body = {"name": name, "workers": list(workers), "managers": list(managers)}
        return OnfleetTeam.model_validate(self.request("POST", "/teams", json=body).json())

    def update_team(self, team_id: str, fields: Mapping[str, Any]) -> OnfleetTeam:
        """`PUT /teams/{id}` (`workers` replaces the members)."""
        response = self.request("PUT", f"/teams/{_path_id(team_id)}", json=dict(fields))
        return OnfleetTeam.model_validate(response.json())

    # ---------------------------------------------------------------- containers
    def get_worker_container(self, worker_id: str) -> Container:
        """The worker's ordered task list."""
        return self.get_model(f"/containers/workers/{_path_id(worker_id)}", Container)

    def set_worker_container(
        self, worker_id: str, task_ids: Iterable[str], *, consider_dependencies: bool = True
    ) -> Container:
        """Replace the worker's tasks with `task_ids`, in order (412 on a concurrent change)."""
        body = {"tasks": list(task_ids), "considerDependencies": consider_dependencies}
        response = self.request("PUT", f"/containers/workers/{_path_id(worker_id)}", json=body)
        return Container.model_validate(response.json())
