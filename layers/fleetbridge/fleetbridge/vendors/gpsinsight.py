"""GPS Insight portal API v2 client: session login, drivers and account users.

Every call is the documented form: a GET with its parameters in the query string, the login
`GET /userauth/login?username=&password=` and every later call `?session_token=`. Since the
credentials and the token therefore sit in URLs, no URL with its query string leaves this
process: our log lines and errors name the path only, httpx's request log lines are stripped
of query strings (`core.http`), and the X-Ray httpx patch records URLs without them. The token
is cached on the instance; a 401 (expired session) logs in again once.
Answers are wrapped in `{"head": {"status", "code", "error_string"}, "data"}`: `data` is returned,
an `ERROR` head becomes the typed error for `head.code` with `error_string` as the message.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, field_validator

from fleetbridge.core.http import ErrorDetails, TokenClient, decoded_answer, nested_error
from fleetbridge.core.ratelimit import RateLimit
from fleetbridge.vendors.base import ConnectedClient

#: GPS Insight publishes no limit. The flow makes few portal calls (one list per poll, a user
#: list on opt-in), so 5/s is ample and well under the 10/s the sandbox assumes.
RATE_LIMIT = RateLimit(requests=5, per_seconds=1)
DEFAULT_DRIVER_ID_FIELD = "driveri_driver_id"


def _text(value: Any) -> str | None:
    """Portal values as trimmed text; blank means absent."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _status(code: Any) -> int:
    """The HTTP status an `ERROR` head's `code` stands for (400 when it names none)."""
    try:
        return int(code or 400)
    except (TypeError, ValueError):
        return 400


class GpsInsightModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PortalDriver(GpsInsightModel):
    """A portal driver. `driveri_driver_id` holds the configured DriverID field, whatever its key."""

    driver_id: str
    ref_id: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    phone: str | None = None
    license_number: str | None = None
    group: str | None = None
    driveri_driver_id: str | None = None
    updated_at: str | None = None

    @field_validator("driver_id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> str:
        return str(value)

    @field_validator(
        "ref_id",
        "firstname",
        "lastname",
        "email",
        "phone",
        "license_number",
        "group",
        "driveri_driver_id",
        mode="before",
    )
    @classmethod
    def _optional_text(cls, value: Any) -> str | None:
        return _text(value)


def portal_driver(
    item: dict[str, Any], driver_id_field: str = DEFAULT_DRIVER_ID_FIELD
) -> PortalDriver:
    """A portal driver record (listed or pushed), its DriverID read from the configured field."""
    return PortalDriver.model_validate({**item, "driveri_driver_id": item.get(driver_id_field)})


class PortalUser(GpsInsightModel):
    username: str
    is_master: bool = False
    email: str | None = None


class GpsInsightClient(ConnectedClient, TokenClient):
    """Username/password (or app token) login; `session_token` on every later call."""

    vendor = "gpsinsight"
    default_url = "https://api.gpsinsight.com/v2"
    credential_args = {
        "username": "gpsinsight_username",
        "password": "gpsinsight_password",
        "app_token": "gpsinsight_app_token",
    }
    optional_args = frozenset(credential_args)  # username and password, or an app token
    account_args = ("username", "app_token")
    rate_limit = RATE_LIMIT

    def __init__(
        self,
        base: str,
        *,
        username: str | None = None,
        password: str | None = None,
        app_token: str | None = None,
        driver_id_field: str = DEFAULT_DRIVER_ID_FIELD,
        **kwargs: Any,
    ) -> None:
        """`kwargs`: the client base's options (rate limiter, transport...)."""
        if not app_token and not (username and password):
            raise ValueError("GPS Insight needs username and password, or an app token")
        super().__init__(base, **kwargs)
        self._username = username
        self._password = password
        self._app_token = app_token
        self.driver_id_field = driver_id_field

    def error_details(self, body: Any) -> ErrorDetails | None:
        """`{"head": {"status": "ERROR", "code", "error_string"}}`."""
        details = nested_error(body, "head", message="error_string", code="code")
        return details or super().error_details(body)

    # ---------------------------------------------------------------- session
    def fetch_token(self) -> tuple[str, float | None]:
        """A new session token (username/password, else the app token), kept until a 401."""
        params: dict[str, Any] = {"username": self._username}
        if self._app_token:
            params["app_token"] = self._app_token
        else:
            params["password"] = self._password
        response = self.request("GET", "/userauth/login", params=params)
        return self.token_in(self._unwrap(response), "token", response), None

    def login(self) -> str:
        """Log in now and keep the new session token."""
        return self.authenticate()

    def token_carrier(
        self, token: str, params: dict[str, Any] | None
    ) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """The documented form: `?session_token=` on every call."""
        return {**(params or {}), "session_token": token}, {}

    def answer(self, response: httpx.Response) -> Any:
        """`data` of the answer (`call` logs in again once if the session expired)."""
        return self._unwrap(response)

    def _unwrap(self, response: httpx.Response) -> Any:
        """`data` of the answer; an `ERROR` head (sent with HTTP 200) is the typed error."""
        body = decoded_answer(response)
        head = body.get("head") if isinstance(body, dict) else None
        if isinstance(head, dict) and head.get("status") == "ERROR":
            status = _status(head.get("code"))
            raise self._error(httpx.Response(status, json=body, request=response.request))
        return self.unwrap(response, "data")

    # ---------------------------------------------------------------- drivers and users
    def list_drivers(self) -> list[PortalDriver]:
        """Every portal driver (the API has no paging and no modified-since filter)."""
        return [
            portal_driver(item, self.driver_id_field)
            for item in self.call("GET", "/driver/list") or []
        ]

    def list_users(self) -> list[PortalUser]:
        """The account's users, with `is_master`."""
        return [PortalUser.model_validate(item) for item in self.call("GET", "/user/list") or []]

    def is_master_user(self, username: str) -> bool:
        """Whether `username` (exact match) is the account's Master User."""
        return any(user.username == username and user.is_master for user in self.list_users())

    def check(self) -> None:
        """Log in and make one authenticated call (connection test)."""
        self.login()
        self.call("GET", "/user/list")
