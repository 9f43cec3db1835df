"""Netradyne Driveri client: client-credential tokens and per-tenant drivers.

`POST /v1/auth/token` with HTTP Basic `client_id:client_secret` gives a Bearer token, cached on
the instance and fetched again once when a call answers 401. Answers are `{"data": ...}`; errors
`{"data": null, "error": {"code", "message", "field"?}}` map to the typed errors.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from fleetbridge.core.http import ClientCredentialsClient, ErrorDetails, nested_error, paginate
from fleetbridge.core.ratelimit import RateLimit
from fleetbridge.vendors.base import ConnectedClient

#: Not published; driveri.md assumes 10 requests/second per client (429s are honoured too).
RATE_LIMIT = RateLimit(requests=10, per_seconds=1)
PAGE_SIZE = 100
ACTIVE, INACTIVE = 1, 0


class DriveriDriver(BaseModel):
    """A Driveri driver (wire names as aliases)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    driver_id: str = Field(alias="driverId")
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    email: str | None = None
    phone: str | None = None
    license_number: str | None = Field(default=None, alias="licenseNumber")
    group: str | None = None
    status: int | None = ACTIVE


class DriversPage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    drivers: list[DriveriDriver]
    page: int = 0
    total_pages: int = Field(default=0, alias="totalPages")


class DriveriClient(ConnectedClient, ClientCredentialsClient):
    """Bearer token from client credentials; every driver path is under the tenant."""

    vendor = "driveri"
    default_url = "https://api.netradyne.com/driveri"
    token_path = "/v1/auth/token"
    #: driveri.md documents no token lifetime: the token is kept until a call answers 401.
    honours_expires_in = False
    credential_args = {
        "client_id": "driveri_client_id",
        "client_secret": "driveri_client_secret",
        "tenant": "driveri_tenant",
    }
    account_args = ("client_id",)
    rate_limit = RATE_LIMIT

    def __init__(self, base: str, *, tenant: str, **kwargs: Any) -> None:
        """`client_id`, `client_secret` and the client base's options are in `kwargs`."""
        super().__init__(base, **kwargs)
        self._tenant_path = f"/v1/tenants/{quote(tenant, safe='')}"

    def error_details(self, body: Any) -> ErrorDetails | None:
        """`{"error": {"code", "message", "field"?}}`."""
        details = nested_error(body, "error", message="message", code="code", field="field")
        return details or super().error_details(body)

    # ---------------------------------------------------------------- calls
    def call_path(self, path: str) -> str:
        """Every driver path is under the tenant (the token path is not: it is no `call`)."""
        return self._tenant_path + path

    def answer(self, response: httpx.Response) -> Any:
        """`data` of the `{"data": ...}` envelope."""
        return self.unwrap(response, "data")

    # ---------------------------------------------------------------- drivers
    def drivers_page(self, page: int = 0, size: int = PAGE_SIZE) -> DriversPage:
        """One page (0-based) of every driver, inactive ones included."""
        data = self.call("GET", "/drivers", params={"showAll": "true", "page": page, "size": size})
        return DriversPage.model_validate(data)

    def iter_drivers(self) -> Iterator[DriveriDriver]:
        """Every driver of the tenant, one page in memory at a time."""

        def fetch(page: int) -> tuple[list[DriveriDriver], int | None]:
            result = self.drivers_page(page)
            more = result.drivers and page + 1 < result.total_pages
            return result.drivers, page + 1 if more else None

        return paginate(fetch, first_cursor=0)

    def get_driver(self, driver_id: str) -> DriveriDriver | None:
        """The driver with this DriverID, or None."""
        return self.find_model("/driver", DriveriDriver, params={"driverId": driver_id})

    def create_driver(self, fields: Mapping[str, Any]) -> DriveriDriver:
        """Create (`driverId` and `firstName` required); a taken DriverID raises VendorConflict."""
        return DriveriDriver.model_validate(self.call("POST", "/drivers", json=dict(fields)))

    def update_driver(self, driver_id: str, fields: Mapping[str, Any]) -> DriveriDriver:
        """Partial update; a `driverId` in `fields` renames (VendorConflict when taken)."""
        data = self.call("PUT", f"/drivers/{quote(driver_id, safe='')}", json=dict(fields))
        return DriveriDriver.model_validate(data)

    def deactivate_driver(self, driver_id: str) -> DriveriDriver:
        """Set `status` 0 (the profile and its history stay)."""
        return self.update_driver(driver_id, {"status": INACTIVE})

    def delete_driver(self, driver_id: str) -> None:
        """Hard delete (whatever Driveri does on DELETE: see driveri.md's unknowns)."""
        self.call("DELETE", f"/drivers/{quote(driver_id, safe='')}")

    def check(self) -> None:
        """Fetch a token and read one page of one driver (connection test)."""
        self.authenticate()
        self.drivers_page(0, size=1)
