"""ServiceTrade client: session login, appointments, techs, clock events and Service Link.

`POST /auth {"username", "password"}` answers with the session cookie `PHPSESSID`; every later
call sends it (`Cookie` header), and a 401 (expired session) logs in again once (`TokenClient`).
The session is kept on the instance only: httpx's own cookie jar is emptied after the login, so
no other cookie a response sets travels with later calls.

Every answer is `{"messages": {...}, "data": ...}`: `data` is returned; an error's text is the
first of `messages.error`. Lists page by `page`/`limit` with `data: {"totalPages", "page",
"<items>"}`; the iterators here read every page, one in memory at a time. Records are parsed by
the models of `servicetrade_models.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import httpx

from fleetbridge.core.errors import VendorError
from fleetbridge.core.http import ErrorDetails, TokenClient, first_text, paginate
from fleetbridge.core.ratelimit import RateLimit
from fleetbridge.vendors.base import ConnectedClient
from fleetbridge.vendors.servicetrade_models import (
    Activity,
    Appointment,
    ClockEvent,
    User,
)

#: ServiceTrade publishes no limit: 2 requests/s per account is conservative for a flow that
#: polls appointments and clock events and writes a few clock events and messages.
RATE_LIMIT = RateLimit(requests=120, per_seconds=60)
SESSION_COOKIE = "PHPSESSID"
PAGE_SIZE = 100
SERVICE_LINK_TEMPLATE = "ServiceLink"

Moment = datetime | int | float


def unix_seconds(value: Moment | None) -> int | None:
    """A moment as unix seconds (an int or float is taken as unix seconds already)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a datetime sent to ServiceTrade must be timezone aware")
        return int(value.timestamp())
    return int(value)


class ServiceTradeClient(ConnectedClient, TokenClient):
    """One ServiceTrade account: a session cookie, paged reads, clock events, Service Link."""

    vendor = "servicetrade"
    default_url = "https://api.servicetrade.com/api"
    credential_args = {"username": "servicetrade_username", "password": "servicetrade_password"}
    account_args = ("username",)
    rate_limit = RATE_LIMIT

    def __init__(
        self,
        base: str,
        *,
        username: str,
        password: str,
        page_size: int = PAGE_SIZE,
        **kwargs: Any,
    ) -> None:
        """`kwargs`: the client base's options (rate limiter, transport...)."""
        if not username or not password:
            raise ValueError("ServiceTrade needs a username and a password")
        if page_size < 1:
            raise ValueError("page_size must be positive")
        super().__init__(base, **kwargs)
        self._username = username
        self._password = password
        self.page_size = page_size

    # ---------------------------------------------------------------- envelope and errors
    def error_details(self, body: Any) -> ErrorDetails | None:
        """`{"messages": {"error": ["..."]}}` (a list, or one text)."""
        messages = body.get("messages") if isinstance(body, dict) else None
        errors = messages.get("error") if isinstance(messages, dict) else None
        message = first_text(*errors) if isinstance(errors, list) else first_text(errors)
        if message:
            return None, message, None
        return super().error_details(body)

    def answer(self, response: httpx.Response) -> Any:
        """`data` of the envelope."""
        return self.unwrap(response, "data")

    # ---------------------------------------------------------------- session
    def fetch_token(self) -> tuple[str, float | None]:
        """`POST /auth`: the `PHPSESSID` session cookie, kept until a call answers 401."""
        response = self.request(
            "POST",
            "/auth",
            json={"username": self._username, "password": self._password},
            idempotent=True,  # a second login only opens another session
        )
        session = response.cookies.get(SESSION_COOKIE)
        self._http.cookies.clear()  # the session travels only as `token_carrier` says
        if not session:
            raise VendorError(
                f"{self.vendor} answered the login without a {SESSION_COOKIE} cookie",
                vendor=self.vendor,
                status_code=response.status_code,
            )
        return session, None

    def token_carrier(
        self, token: str, params: dict[str, Any] | None
    ) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """The session cookie on every call."""
        return params, {"Cookie": f"{SESSION_COOKIE}={token}"}

    def check(self) -> None:
        """Log in and read one tech (connection test)."""
        self.authenticate()
        self.call("GET", "/user", {"isTech": "true", "page": 1, "limit": 1})

    # ---------------------------------------------------------------- paging
    def pages(self, path: str, key: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a paged listing, one page in memory at a time."""

        def fetch(page: int) -> tuple[list[dict[str, Any]], int | None]:
            data = self.call("GET", path, {**params, "page": page, "limit": self.page_size})
            data = data if isinstance(data, dict) else {}
            items = list(data.get(key) or [])
            total = int(data.get("totalPages") or 0)
            return items, page + 1 if items and page < total else None

        return paginate(fetch, first_cursor=1)

    # ---------------------------------------------------------------- appointments and techs
    def appointments(
        self,
        *,
        updated_after: Moment | None = None,
        status: str | Iterable[str] | None = None,
        window_begins_after: Moment | None = None,
        window_ends_before: Moment | None = None,
    ) -> Iterator[Appointment]:
        """Every appointment matching the filters (`GET /appointment`), over all pages."""
        statuses = [status] if isinstance(status, str) else status
        params = {
            "updatedAfter": unix_seconds(updated_after),
            "status": ",".join(statuses) if statuses is not None else None,
            "windowBeginsAfter": unix_seconds(window_begins_after),
            "windowEndsBefore": unix_seconds(window_ends_before),
        }
        for item in self.pages("/appointment", "appointments", params):
            yield Appointment.model_validate(item)

    def appointment(self, appointment_id: int) -> Appointment | None:
        """`GET /appointment/{id}`, or None when ServiceTrade has no such appointment."""
        return self.find_model(f"/appointment/{int(appointment_id)}", Appointment)

    def techs(self) -> list[User]:
        """Every user who is a tech (`GET /user?isTech=true`)."""
        return [User.model_validate(u) for u in self.pages("/user", "users", {"isTech": "true"})]

    # ---------------------------------------------------------------- clock events
    def _clock(
        self,
        direction: str,
        job_id: int,
        user_id: int,
        activity: Activity,
        appointment_id: int | None,
        at: Moment | None,
    ) -> ClockEvent:
        body: dict[str, Any] = {"userId": int(user_id), "activity": activity}
        if appointment_id is not None:
            body["appointmentId"] = int(appointment_id)
        if at is not None:
            body["time"] = unix_seconds(at)
        data = self.call("POST", f"/job/{int(job_id)}/{direction}", json=body)
        return ClockEvent.model_validate(data)

    def clock_in(
        self,
        job_id: int,
        user_id: int,
        activity: Activity,
        appointment_id: int | None = None,
        at: Moment | None = None,
    ) -> ClockEvent:
        """`POST /job/{jobId}/clockin` (not repeated after a lost answer: look it up with
        `clock_events(..., clocked_in=True)` first, a second clock-in is refused)."""
        return self._clock("clockin", job_id, user_id, activity, appointment_id, at)

    def clock_out(
        self,
        job_id: int,
        user_id: int,
        activity: Activity,
        appointment_id: int | None = None,
        at: Moment | None = None,
    ) -> ClockEvent:
        """`POST /job/{jobId}/clockout`: closes the tech's open event for the job and activity."""
        return self._clock("clockout", job_id, user_id, activity, appointment_id, at)

    def clock_events(
        self,
        *,
        user_id: int | None = None,
        job_id: int | None = None,
        activity: Activity | None = None,
        clocked_in: bool | None = None,
    ) -> list[ClockEvent]:
        """`GET /clock`: clock events, open only (`clocked_in=True`), closed only (False) or all."""
        params = {
            "userId": user_id,
            "jobId": job_id,
            "activity": activity,
            "clockedIn": None if clocked_in is None else str(clocked_in).lower(),
        }
        return [ClockEvent.model_validate(e) for e in self.pages("/clock", "clockEvents", params)]

    # ---------------------------------------------------------------- Service Link
    def send_service_link(
        self,
        *,
        job_id: int,
        appointment_id: int,
        tracking_url: str,
        emails: Iterable[str] | None = None,
        contact_ids: Iterable[int] | None = None,
        reply_to: str | None = None,
    ) -> str:
        """Send the Service Link email (`POST /message`) to `emails` or `contact_ids` (exactly
        one); the message id. Its real shape is unconfirmed (servicetrade.md): only here. The
        sender is the logged-in (admin) user; `reply_to` travels as `params.replyTo`."""
        if (emails is None) == (contact_ids is None):
            raise ValueError("give exactly one of emails or contact_ids")
        recipients: dict[str, list[Any]] = (
            {"emails": list(emails)}
            if emails is not None
            else {"contactIds": list(contact_ids or [])}
        )
        if not next(iter(recipients.values())):
            raise ValueError("a Service Link needs at least one recipient")
        body = {
            **recipients,
            "mode": "email",
            "template": SERVICE_LINK_TEMPLATE,
            "send": True,
            "params": {
                "jobId": int(job_id),
                "appointmentId": int(appointment_id),
                "trackingUrl": tracking_url,
                **({"replyTo": reply_to} if reply_to else {}),
            },
        }
        data = self.call("POST", "/message", json=body)
        message_id = first_text(data.get("id") if isinstance(data, dict) else data)
        if message_id is None:
            raise VendorError(
                f"{self.vendor} answered the message without an id", vendor=self.vendor
            )
        return message_id
