"""Fetching a run's Onfleet tasks and workers: query params, paging, picking the requested ids.

Pure: the caller does the HTTP (`walk_task_pages` takes the page fetcher as a function).
- Query params: snake_case or camelCase keys; lists are sent comma-separated; a workers `filter`
  always gets the fields the transform reads.
- `/tasks/all` is walked up to a page limit (`DEFAULT_TASK_PAGE_LIMIT` pages of 64, or
  `tasks.page_limit`), stopping early once every requested id was seen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from fleetbridge.routing.onfleet.metadata import RunInputError
from fleetbridge.routing.onfleet.request import (
    TaskParams,
    TaskSelection,
    WorkerParams,
    show_ids,
    unique_ids,
)

__all__ = [
    "DEFAULT_TASK_PAGE_LIMIT",
    "WORKER_FIELDS",
    "select_requested",
    "task_query_params",
    "walk_task_pages",
    "worker_query_params",
]

DEFAULT_TASK_PAGE_LIMIT = 50  # x 64 tasks a page = 3,200 tasks scanned
WORKER_FIELDS = ("id", "name", "tasks", "activeTask", "location", "capacity", "metadata")


# ----------------------------------------------------------------------------- query params
def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_query_value(item) for item in value)
    return str(value)


def task_query_params(params: TaskParams, last_id: str | None = None) -> dict[str, str]:
    """`GET /tasks/all` query string values, camelCase, with `lastId` when paging on."""
    query = {
        k: _query_value(v) for k, v in params.model_dump(by_alias=True).items() if v is not None
    }
    if last_id:
        query["lastId"] = last_id
    return query


def worker_query_params(params: WorkerParams) -> dict[str, str]:
    """`GET /workers` query string values; a `filter` keeps the fields the transform needs."""
    dumped = params.model_dump(by_alias=True, exclude_none=True)
    if "filter" in dumped:
        asked = dumped["filter"] if isinstance(dumped["filter"], list) else [dumped["filter"]]
        fields = [f.strip() for item in asked for f in item.split(",") if f.strip()]
        dumped["filter"] = unique_ids(fields + list(WORKER_FIELDS))
    return {key: _query_value(value) for key, value in dumped.items()}


# ----------------------------------------------------------------------------- fetch results
FetchPage = Callable[[dict[str, str]], Mapping[str, Any]]


def walk_task_pages(
    fetch_page: FetchPage, selection: TaskSelection, page_limit: int | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """Walk `GET /tasks/all` pages through `fetch_page(query)` by `lastId`.

    Stops at the last page, once every requested id was seen, or at the page limit (the
    request's `page_limit`, else `page_limit`, else `DEFAULT_TASK_PAGE_LIMIT`). Returns the tasks
    seen and whether the limit stopped the walk with ids still unseen.
    """
    limit = selection.page_limit or page_limit or DEFAULT_TASK_PAGE_LIMIT
    wanted, seen, last_id = set(selection.ids), list[dict[str, Any]](), None
    for _ in range(limit):
        page = fetch_page(task_query_params(selection.params, last_id))
        batch = list(page.get("tasks") or [])
        seen.extend(batch)
        wanted.difference_update(task.get("id") for task in batch)
        last_id = page.get("lastId")
        if not wanted or not last_id:
            return seen, False
    return seen, True


def select_requested(
    items: Iterable[Mapping[str, Any]],
    ids: Sequence[str],
    page_limit_hit: bool = False,
    *,
    kind: str = "task",
    page_limit: int | None = None,
) -> list[dict[str, Any]]:
    """The fetched Onfleet objects with the requested ids, in request order.

    Raises `RunInputError` naming every id not found (and, for tasks, that the page limit hit).
    """
    by_id = {item.get("id"): dict(item) for item in items}
    missing = [i for i in ids if i not in by_id]
    if missing:
        message = f"onfleet {kind}s not found: {show_ids(missing)}"
        if page_limit_hit:
            pages = f"{page_limit} pages" if page_limit else "the page limit"
            message += (
                f" (stopped at {pages} of GET /tasks/all before seeing them: narrow "
                "tasks.params such as from/to/state, or raise tasks.page_limit)"
            )
        raise RunInputError(message, ids=missing, field=f"onfleet.{kind}s.ids")
    return [by_id[i] for i in ids]
