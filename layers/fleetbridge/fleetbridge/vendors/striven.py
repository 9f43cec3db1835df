"""Striven client: client-credential tokens, task search, employees, task types and teams.

`POST /accesstoken` with HTTP Basic `ClientID:ClientSecret` and the form
`grant_type=client_credentials` gives a Bearer token (about 24 h), cached on the instance until
shortly before it expires and fetched again once when a call answers 401.

The records it returns are parsed by the lenient models of `striven_models.py`.

Quotas: a minute 429 is retried by the base client (honouring `Retry-After`); a used-up day
quota raises `QuotaExhausted` at once, without retries. A 429 is the day quota when its body
`code` is `DailyQuotaExceeded`, its `X-RateLimit-Scope` header is `day`, or its message speaks of
a day/daily quota (the real API's wording is undocumented; the sandbox sends all three).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from fleetbridge.core.errors import RateLimited, VendorError
from fleetbridge.core.http import (
    ClientCredentialsClient,
    ErrorDetails,
    first_text,
    paginate,
    retry_after_seconds,
    text_of,
)
from fleetbridge.core.ratelimit import RateLimit
from fleetbridge.vendors.base import ConnectedClient
from fleetbridge.vendors.striven_models import (
    Page,
    StrivenEmployee,
    StrivenTask,
    StrivenTeam,
    TaskType,
)

#: Standard plan: 100 requests/minute per tenant (Enterprise: 500). Day quotas are not metered
#: here: the sandbox/vendor tells us with `QuotaExhausted`.
RATE_LIMIT = RateLimit(requests=100, per_seconds=60)
PAGE_SIZE = 500
MAX_PAGE_SIZE = 1000
DAY_WORDS = re.compile(r"\b(day|daily)\b", re.IGNORECASE)


class QuotaExhausted(RateLimited):
    """The tenant's day quota is used up: pause polling until `retry_after` seconds have passed."""

    code = "vendor_quota_exhausted"
    retryable = False  # not within this invocation: the quota comes back hours later

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


def is_day_quota(response: httpx.Response) -> bool:
    """Whether a 429 answer is the day quota (see the module docstring)."""
    if response.status_code != 429:
        return False
    if response.headers.get("x-ratelimit-scope", "").lower() == "day":
        return True
    try:
        body = response.json()
    except ValueError:
        return bool(DAY_WORDS.search(response.text))
    if not isinstance(body, dict):
        return False
    if str(body.get("code") or body.get("Code") or "").lower() == "dailyquotaexceeded":
        return True
    return bool(DAY_WORDS.search(str(body.get("message") or body.get("Message") or "")))


def _day_seconds(response: httpx.Response) -> float | None:
    """The uncapped `Retry-After` of a day-quota answer."""
    value = response.headers.get("retry-after", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return retry_after_seconds(response)


def _listing(data: Any) -> list[Any]:
    """A plain array, or the `data` of a `{totalCount, data}` envelope."""
    if isinstance(data, dict):
        return list(data.get("data") or [])
    return list(data or [])


class StrivenClient(ConnectedClient, ClientCredentialsClient):
    """One tenant's Striven API: Bearer token from client credentials, streamed task pages."""

    vendor = "striven"
    default_url = "https://api.striven.com"
    token_path = "/accesstoken"
    token_form = {"grant_type": "client_credentials"}
    default_token_lifetime = 86400.0  # about 24 h when the answer names no `expires_in`
    calls_idempotent = True  # searches are POSTs that write nothing; the client only reads
    credential_args = {"client_id": "striven_client_id", "client_secret": "striven_client_secret"}
    account_args = ("client_id",)
    rate_limit = RATE_LIMIT  # the Standard plan's; a connection may name its plan's own

    def __init__(
        self,
        base: str,
        *,
        time_zone: str | ZoneInfo = "UTC",
        page_size: int = PAGE_SIZE,
        **kwargs: Any,
    ) -> None:
        """`client_id`, `client_secret` and the client base's options are in `kwargs`."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        super().__init__(base, **kwargs)
        self.zone = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)
        self.page_size = page_size

    # ---------------------------------------------------------------- errors
    def error_details(self, body: Any) -> ErrorDetails | None:
        """`{"code", "message"}` (also `Message`, ASP.NET style)."""
        if not isinstance(body, dict):
            return None
        message = first_text(body.get("message"), body.get("Message"), body.get("error"))
        code = text_of(body.get("code")) or text_of(body.get("Code"))
        return (code, message, None) if message else None

    def final_error(self, response: httpx.Response) -> VendorError | None:
        """A used-up day quota is `QuotaExhausted` at once: it will not come back in seconds."""
        if not is_day_quota(response):
            return None
        error = self._error(response)
        return QuotaExhausted(
            error.message,
            retry_after=_day_seconds(response),
            vendor=self.vendor,
            status_code=error.status_code,
            vendor_code=error.vendor_code,
            request_id=error.request_id,
            body=error.body,
        )

    # ---------------------------------------------------------------- tasks
    def local(self, value: datetime | str) -> str:
        """A search date: tenant-local ISO text without offset (aware values are converted)."""
        if isinstance(value, str):
            return value
        if value.tzinfo is not None:
            value = value.astimezone(self.zone).replace(tzinfo=None)
        return value.isoformat(timespec="milliseconds")

    def _range(self, start: datetime | str | None, end: datetime | str | None) -> dict[str, str]:
        bounds = {"DateFrom": start, "DateTo": end}
        return {key: self.local(value) for key, value in bounds.items() if value is not None}

    def search_tasks(
        self, criteria: Mapping[str, Any], page_index: int = 0, page_size: int | None = None
    ) -> Page[StrivenTask]:
        """One page of `POST /v2/tasks/search` (criteria in Striven's own keys)."""
        body = {**criteria, "PageIndex": page_index, "PageSize": page_size or self.page_size}
        return Page[StrivenTask].model_validate(self.call("POST", "/v2/tasks/search", json=body))

    def iter_tasks(
        self,
        updated_from: datetime | str | None = None,
        updated_to: datetime | str | None = None,
        type_ids: Iterable[int] | None = None,
        *,
        status_ids: Iterable[int] | None = None,
        assigned_to_ids: Iterable[int] | None = None,
        customer_id: int | None = None,
        created_from: datetime | str | None = None,
        created_to: datetime | str | None = None,
        page_size: int | None = None,
    ) -> Iterator[StrivenTask]:
        """Every task matching the filters, one page in memory at a time.

        Give `updated_to` (e.g. now) when polling: a task updated while the pages are read then
        cannot move between pages; it is read on the next poll.
        """
        criteria: dict[str, Any] = {}
        for key, values in (
            ("TypeIDs", type_ids),
            ("StatusIDs", status_ids),
            ("AssignedToIDs", assigned_to_ids),
        ):
            if values is not None:
                criteria[key] = list(values)
        if customer_id is not None:
            criteria["CustomerID"] = customer_id
        if updated_from is not None or updated_to is not None:
            criteria["LastUpdatedDateRange"] = self._range(updated_from, updated_to)
        if created_from is not None or created_to is not None:
            criteria["DateCreatedRange"] = self._range(created_from, created_to)
        size = page_size or self.page_size

        def fetch(index: int) -> tuple[list[StrivenTask], int | None]:
            result = self.search_tasks(criteria, index, size)
            more = len(result.data) == size and (index + 1) * size < result.total_count
            return result.data, index + 1 if more else None

        return paginate(fetch, first_cursor=0)

    def get_task(self, task_id: int) -> StrivenTask | None:
        """The task, or None when Striven has no such task."""
        return self.find_model(f"/v2/tasks/{int(task_id)}", StrivenTask)

    # ---------------------------------------------------------------- employees, types, teams
    def iter_employees(self, page_size: int | None = None) -> Iterator[StrivenEmployee]:
        """Every employee, one page in memory at a time."""
        size = page_size or self.page_size

        def fetch(index: int) -> tuple[list[StrivenEmployee], int | None]:
            data = self.call("GET", "/v1/employees", params={"PageIndex": index, "PageSize": size})
            result = Page[StrivenEmployee].model_validate(data)
            more = len(result.data) == size and (index + 1) * size < result.total_count
            return result.data, index + 1 if more else None

        return paginate(fetch, first_cursor=0)

    def get_employee(self, employee_id: int) -> StrivenEmployee | None:
        """The employee, or None."""
        return self.find_model(f"/v1/employees/{int(employee_id)}", StrivenEmployee)

    def task_types(self) -> list[TaskType]:
        """Every task type."""
        return [TaskType.model_validate(t) for t in _listing(self.call("GET", "/v1/task-types"))]

    def teams(self) -> list[StrivenTeam]:
        """Teams from `GET /v1/teams` (the sandbox's stand-in: Striven has no teams endpoint)."""
        return [StrivenTeam.model_validate(t) for t in _listing(self.call("GET", "/v1/teams"))]

    def check(self) -> None:
        """Fetch a token and read one task (connection test)."""
        self.authenticate()
        self.search_tasks({}, 0, 1)
