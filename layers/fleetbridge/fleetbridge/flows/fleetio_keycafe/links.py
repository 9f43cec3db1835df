"""Vehicle ↔ key links: one key per vehicle, one vehicle per key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from fleetbridge.core.activity import ActivityLog
from fleetbridge.core.errors import ConflictError, NotFoundError, VendorNotFound
from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Connection, Mapping
from fleetbridge.flows.fleetio_keycafe import LINK
from fleetbridge.flows.fleetio_keycafe.settings import Notification

if TYPE_CHECKING:  # annotations only: the clients (and httpx) load when a call needs them
    from fleetbridge.vendors.fleetio import FleetioClient
    from fleetbridge.vendors.keycafe import KeycafeClient


class LinkOut(BaseModel):
    """A vehicle's key link as the API shows it."""

    vehicle_id: int
    vehicle_name: str
    key_id: int
    key_name: str
    key_location: str | None = None
    notification: Notification


class VehicleOut(BaseModel):
    id: int
    name: str
    license_plate: str | None = None
    vin: str | None = None
    link: LinkOut | None = None


def _out(mapping: Mapping) -> LinkOut:
    return LinkOut(
        vehicle_id=int(mapping.external_id),
        vehicle_name=mapping.data.get("vehicle_name", ""),
        key_id=int(mapping.other_id or 0),
        key_name=mapping.data.get("key_name", ""),
        key_location=mapping.data.get("key_location"),
        notification=mapping.data.get("notification", "automatic"),
    )


def list_vehicles(
    connection: Connection,
    fleetio: FleetioClient,
    *,
    query: str | None,
    cursor: str | None,
    per_page: int,
) -> tuple[list[VehicleOut], str | None]:
    """A page of Fleetio vehicles (name search) with their linked key."""
    page = fleetio.vehicles_page(name_like=query, per_page=per_page, cursor=cursor)
    links = {m.external_id: m for m in MappingRepository(connection.id).list(LINK)}
    vehicles = [
        VehicleOut(
            id=v.id,
            name=v.name,
            license_plate=v.license_plate,
            vin=v.vin,
            link=_out(links[str(v.id)]) if str(v.id) in links else None,
        )
        for v in page.records
    ]
    return vehicles, page.next_cursor


def link_key(
    connection: Connection,
    fleetio: FleetioClient,
    keycafe: KeycafeClient,
    *,
    vehicle_id: int,
    key_id: int,
    notification: Notification,
) -> LinkOut:
    """Link `key_id` to the vehicle (replacing its previous key); 409 if another vehicle has it."""
    mappings = MappingRepository(connection.id)
    holder = mappings.find_by_other_id(LINK, str(key_id))
    if holder is not None and holder.external_id != str(vehicle_id):
        name = holder.data.get("vehicle_name") or holder.external_id
        raise ConflictError(
            f"key {key_id} is already linked to vehicle {holder.external_id} ({name})",
            field="key_id",
        )
    try:
        vehicle = fleetio.get_vehicle(vehicle_id)
    except VendorNotFound as exc:
        raise NotFoundError(f"Fleetio vehicle {vehicle_id} not found") from exc
    try:
        key = keycafe.get_key(key_id)
    except VendorNotFound as exc:
        raise NotFoundError(f"Keycafe key {key_id} not found", field="key_id") from exc
    current = mappings.get(LINK, str(vehicle_id))
    location = key.location.name or key.location.address if key.location else None
    mapping = (
        current or Mapping(connection_id=connection.id, entity=LINK, external_id=str(vehicle_id))
    ).model_copy(
        update={
            "other_id": str(key_id),
            "data": {
                "notification": notification,
                "key_name": key.name,
                "key_location": location,
                "vehicle_name": vehicle.name,
            },
        }
    )
    saved = mappings.save(mapping)
    ActivityLog().record(
        connection,
        action="linked",
        entity=f"vehicle {vehicle_id}",
        source_event="api",
        reason=f"key {key.name} ({notification})",
        vendor_ids={"fleetio_vehicle_id": vehicle_id, "keycafe_key_id": key_id},
    )
    return _out(saved)


def set_notification(
    connection: Connection, vehicle_id: int, notification: Notification
) -> LinkOut:
    """Switch a link between automatic and prompt."""
    mappings = MappingRepository(connection.id)
    current = mappings.get(LINK, str(vehicle_id))
    if current is None or not current.other_id:
        raise NotFoundError(f"vehicle {vehicle_id} has no linked key")
    saved = mappings.save(
        current.model_copy(update={"data": {**current.data, "notification": notification}})
    )
    ActivityLog().record(
        connection,
        action="updated",
        entity=f"vehicle {vehicle_id}",
        source_event="api",
        reason=f"notification set to {notification}",
        vendor_ids={"fleetio_vehicle_id": vehicle_id},
    )
    return _out(saved)


def unlink(connection: Connection, vehicle_id: int) -> None:
    """Remove the vehicle's key link (existing bookings stay until their assignment changes)."""
    mappings = MappingRepository(connection.id)
    current = mappings.get(LINK, str(vehicle_id))
    if current is None:
        raise NotFoundError(f"vehicle {vehicle_id} has no linked key")
    mappings.delete(current)
    ActivityLog().record(
        connection,
        action="deleted",
        entity=f"vehicle {vehicle_id}",
        source_event="api",
        reason="key unlinked",
        vendor_ids={"fleetio_vehicle_id": vehicle_id},
    )


def search_keys(
    keycafe: KeycafeClient, query: str, page: int
) -> tuple[list[dict[str, Any]], int | None]:
    """Keycafe keys matching `query` by name."""
    keys, next_page = keycafe.search_keys(query, page)
    return [
        {
            "id": k.id,
            "name": k.name,
            "serial_number": k.serial_number,
            "status": k.status,
            "location": (k.location.name if k.location else None),
        }
        for k in keys
    ], next_page
