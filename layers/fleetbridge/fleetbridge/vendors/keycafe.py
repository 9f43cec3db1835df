"""Keycafe API client: keys, users and accesses (bookings)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from fleetbridge.core.http import ErrorDetails, first_text, paginate, text_of
from fleetbridge.core.ratelimit import RateLimit
from fleetbridge.vendors.base import ConnectedClient

#: 60 requests/minute per account; exceeding it blocks the account for a minute.
RATE_LIMIT = RateLimit(requests=60, per_seconds=60)


class KeycafeModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Location(KeycafeModel):
    id: int | str | None = None
    name: str | None = None
    address: str | None = None


class Key(KeycafeModel):
    id: int
    name: str
    serial_number: str | None = Field(default=None, alias="serialNumber")
    status: str | None = None
    location: Location | None = Field(default=None, alias="keycafeLocation")


class User(KeycafeModel):
    id: int
    email: str | None = None
    mobile: str | None = None
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")


class Access(KeycafeModel):
    id: int
    booking_code: str | None = Field(default=None, alias="bookingCode")
    checkin_link: str | None = Field(default=None, alias="checkinLink")
    status: str | None = None
    name: str | None = None
    access_start_date: str | None = Field(default=None, alias="accessStartDate")
    access_start_time: str | None = Field(default=None, alias="accessStartTime")
    access_end_date: str | None = Field(default=None, alias="accessEndDate")
    access_end_time: str | None = Field(default=None, alias="accessEndTime")
    user: dict[str, Any] | None = None
    key: dict[str, Any] | None = None


class AccessRequest(BaseModel):
    """`POST /access` body. `user` is {"id"} for account holders, else {"email"|"mobile"}."""

    user: dict[str, Any]
    key: dict[str, Any]
    access_start_date: str = Field(serialization_alias="accessStartDate")
    access_start_time: str = Field(serialization_alias="accessStartTime")
    access_end_date: str = Field(serialization_alias="accessEndDate")
    access_end_time: str = Field(serialization_alias="accessEndTime")
    time_zone: str = Field(serialization_alias="timeZone")
    name: str
    return_reminder: bool = Field(default=True, serialization_alias="returnReminder")
    suppress_guest_notifications: bool = Field(
        default=False, serialization_alias="suppressGuestNotifications"
    )


def _next_page(response: httpx.Response) -> int | None:
    link = response.links.get("next")
    if not link:
        return None
    query = httpx.URL(link["url"]).params.get("page")
    return int(query) if query else None


class KeycafeClient(ConnectedClient):
    """HTTP Basic `<email>/token` + API token."""

    vendor = "keycafe"
    default_url = "https://www.keycafe.com/v0"
    credential_args = {"email": "keycafe_email", "token": "keycafe_token"}
    account_args = ("email",)
    rate_limit = RATE_LIMIT

    def __init__(self, base: str, *, email: str, token: str, **kwargs: Any) -> None:
        """`kwargs`: the client base's options (rate limiter, transport...)."""
        super().__init__(base, auth=(f"{email}/token", token), **kwargs)

    def error_details(self, body: Any) -> ErrorDetails | None:
        """`{"error": {"errorId", "errorMessage"}, "fieldErrors": [{"field", "message"}]}`.

        `error` may also be a plain string (seen on some 4xx answers).
        """
        if not isinstance(body, dict):
            return None
        error = body.get("error")
        field_errors = [e for e in body.get("fieldErrors") or [] if isinstance(e, dict)]
        field = text_of(field_errors[0].get("field")) if field_errors else None
        if isinstance(error, dict):
            code, message = text_of(error.get("errorId")), first_text(error.get("errorMessage"))
        else:
            code, message = None, first_text(error, body.get("message"))
        if field_errors:
            detail = f"{field_errors[0].get('field')} {field_errors[0].get('message')}"
            message = f"{message}: {detail}" if message else detail
        return (code, message, field) if message else None

    # ---------------------------------------------------------------- keys
    def search_keys(self, query: str = "", page: int = 1) -> tuple[list[Key], int | None]:
        """One page of keys whose name matches `query` (Keycafe's fuzzy search)."""
        response = self.request("GET", "/key", params={"query": query or None, "page": page})
        return [Key.model_validate(item) for item in response.json()], _next_page(response)

    def iter_keys(self, query: str = "") -> Iterator[Key]:
        """Every matching key, following the Link header."""
        return paginate(lambda page: self.search_keys(query, page), first_cursor=1)

    def get_key(self, key_id: int) -> Key:
        return self.get_model(f"/key/{key_id}", Key)

    # ---------------------------------------------------------------- users
    def find_user(self, query: str) -> User | None:
        """The Keycafe user with this email or phone, if the person has an account."""
        response = self.request("GET", "/user", params={"query": query})
        items = response.json()
        return User.model_validate(items[0]) if items else None

    def users_page(self, page: int = 1) -> tuple[list[User], int | None]:
        """One page of the account's users."""
        response = self.request("GET", "/user", params={"page": page})
        return [User.model_validate(item) for item in response.json()], _next_page(response)

    def iter_users(self) -> Iterator[User]:
        """Every user of the account."""
        return paginate(self.users_page, first_cursor=1)

    # ---------------------------------------------------------------- accesses
    def create_access(self, request: AccessRequest) -> Access:
        response = self.request("POST", "/access", json=request.model_dump(by_alias=True))
        return Access.model_validate(response.json())

    def update_access(self, access_id: int, changes: dict[str, Any]) -> Access:
        """Dates and name only (Keycafe refuses anything else)."""
        response = self.request("PUT", f"/access/{access_id}", json=changes)
        return Access.model_validate(response.json())

    def cancel_access(self, access_id: int) -> None:
        self.request("DELETE", f"/access/{access_id}")

    def accesses_page(self, page: int = 1) -> tuple[list[Access], int | None]:
        """One page of the account's accesses."""
        response = self.request("GET", "/access", params={"page": page})
        return [Access.model_validate(item) for item in response.json()], _next_page(response)

    def iter_accesses(self) -> Iterator[Access]:
        """Every access of the account (reconciliation reads them to find drift)."""
        return paginate(self.accesses_page, first_cursor=1)

    def get_access(self, access_id: int) -> Access:
        return self.get_model(f"/access/{access_id}", Access)

    def check(self) -> None:
        """Cheapest authenticated call (connection test)."""
        self.search_keys("", 1)
