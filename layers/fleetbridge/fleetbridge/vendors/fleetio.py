"""Fleetio API client: vehicles, contacts, vehicle assignments (cursor paging)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fleetbridge.core.http import ErrorDetails, paginate
from fleetbridge.core.ratelimit import RateLimit
from fleetbridge.vendors.base import ConnectedClient

API_VERSION = "2024-06-30"
#: Fleetio does not publish a number; this is conservative and configurable per deployment.
RATE_LIMIT = RateLimit(requests=10, per_seconds=1)


class FleetioModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Vehicle(FleetioModel):
    id: int
    name: str
    vin: str | None = None
    license_plate: str | None = None
    make: str | None = None
    model: str | None = None
    year: int | None = None
    group_name: str | None = None
    vehicle_status_name: str | None = None
    archived_at: str | None = None


class Contact(FleetioModel):
    id: int
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    email: str | None = None
    mobile_phone_number: str | None = None
    employee: bool | None = None

    @property
    def display_name(self) -> str:
        """Full name as Fleetio shows it."""
        return (
            self.name or " ".join(p for p in (self.first_name, self.last_name) if p) or str(self.id)
        )


class Summary(FleetioModel):
    id: int
    name: str | None = None


class ContactSummary(Summary):
    email: str | None = None
    mobile_phone_number: str | None = None


class VehicleAssignment(FleetioModel):
    id: int
    vehicle_id: int
    contact_id: int | None = None
    started_at: str | None = None
    ended_at: str | None = None
    current: bool | None = None
    future: bool | None = None
    comments: str | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    contact: ContactSummary | None = None
    vehicle: Summary | None = None
    created_at: str | None = None
    updated_at: str | None = None


class Page[T](BaseModel):
    records: list[T]
    next_cursor: str | None = None


class FleetioClient(ConnectedClient):
    """`Authorization: Token`, `Account-Token` and a dated `X-Api-Version` on every call."""

    vendor = "fleetio"
    default_url = "https://secure.fleetio.com/api"
    credential_args = {"api_key": "fleetio_api_key", "account_token": "fleetio_account_token"}
    account_args = ("account_token",)
    rate_limit = RATE_LIMIT

    def __init__(self, base: str, *, api_key: str, account_token: str, **kwargs: Any) -> None:
        """`kwargs`: the client base's options (rate limiter, transport...)."""
        headers = {"Authorization": f"Token {api_key}", "Account-Token": account_token}
        super().__init__(base, headers={**headers, "X-Api-Version": API_VERSION}, **kwargs)

    def error_details(self, body: Any) -> ErrorDetails | None:
        """422 `{"errors": {"field": ["msg"]}}`, 401 `{"error": "..."}`."""
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, dict) and errors:
            field, messages = next(iter(errors.items()))
            text = messages[0] if isinstance(messages, list) and messages else messages
            return "validation", f"{field} {text}", str(field)
        return super().error_details(body)

    # ---------------------------------------------------------------- vehicles
    def vehicles_page(
        self, *, name_like: str | None = None, per_page: int = 50, cursor: str | None = None
    ) -> Page[Vehicle]:
        """One page of vehicles, optionally filtered by a name substring."""
        params: dict[str, Any] = {"per_page": per_page, "start_cursor": cursor}
        if name_like:
            params["filter[name][like]"] = name_like
        return Page[Vehicle].model_validate(self.get_json("/v1/vehicles", params=params))

    def iter_vehicles(self, *, name_like: str | None = None) -> Iterator[Vehicle]:
        """Every vehicle, walking the cursors."""

        def fetch(cursor: str | None) -> tuple[list[Vehicle], str | None]:
            page = self.vehicles_page(name_like=name_like, per_page=100, cursor=cursor)
            return page.records, page.next_cursor

        return paginate(fetch)

    def get_vehicle(self, vehicle_id: int) -> Vehicle:
        return self.get_model(f"/v1/vehicles/{vehicle_id}", Vehicle)

    # ---------------------------------------------------------------- contacts
    def get_contact(self, contact_id: int) -> Contact:
        return self.get_model(f"/v2/contacts/{contact_id}", Contact)

    # ---------------------------------------------------------------- assignments
    def get_assignment(self, assignment_id: int) -> VehicleAssignment:
        return self.get_model(f"/v1/vehicle_assignments/{assignment_id}", VehicleAssignment)

    def iter_assignments(self, *, where: str | None = None) -> Iterator[VehicleAssignment]:
        """Vehicle assignments, walking the cursors: every one, or only those whose boolean
        field `where` (`current` or `future`) is true (`filter[<field>][eq]=true`)."""
        params: dict[str, Any] = {"per_page": 100}
        if where is not None:
            params[f"filter[{where}][eq]"] = "true"

        def fetch(cursor: str | None) -> tuple[list[VehicleAssignment], str | None]:
            page = Page[VehicleAssignment].model_validate(
                self.get_json("/v1/vehicle_assignments", params={**params, "start_cursor": cursor})
            )
            return page.records, page.next_cursor

        return paginate(fetch)

    def update_custom_fields(self, assignment_id: int, fields: dict[str, Any]) -> VehicleAssignment:
        """PATCH only the given custom fields (Fleetio merges them)."""
        response = self.request(
            "PATCH",
            f"/v1/vehicle_assignments/{assignment_id}",
            json={"custom_fields": fields},
            idempotent=True,
        )
        return VehicleAssignment.model_validate(response.json())

    def check(self) -> None:
        """Cheapest authenticated call (connection test)."""
        self.vehicles_page(per_page=2)
