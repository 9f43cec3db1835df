"""How `POST /connections/{id}/test` asks each vendor, and what credentials a flow's vendors need.

Core knows no vendor: the vendor clients are found through the catalogue module, imported by
name when a connection is tested or its credentials checked (not with a flow, for cold start).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from fleetbridge.core.errors import VendorError
from fleetbridge.core.models import Connection

if TYPE_CHECKING:  # httpx loads with the first vendor client, not with this module
    from fleetbridge.core.http import VendorClient

#: The module listing every vendor client (`CLIENTS`), imported by name: core knows no vendor.
VENDOR_CATALOGUE = "fleetbridge.vendors.catalogue"


class VendorCheck(BaseModel):
    """Result of testing one vendor's credentials."""

    vendor: str
    ok: bool
    error: str | None = None


def vendor_client(vendor: str) -> Any:
    """The client class of `vendor` (from the catalogue)."""
    clients = importlib.import_module(VENDOR_CATALOGUE).CLIENTS
    return next(client for client in clients if client.vendor == vendor)


def vendor_credentials(vendors: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, optional) credential keys of these vendors' clients, in their order."""
    required: list[str] = []
    optional: list[str] = []
    for vendor in vendors:
        client = vendor_client(vendor)
        for arg, key in client.credential_args.items():
            (optional if arg in client.optional_args else required).append(key)
    return tuple(required), tuple(optional)


#: (vendor, build the client from connection + credentials, the call that proves they work;
#: None: the client's `check()`)
VendorProbe = tuple[
    str,
    Callable[[Connection, dict[str, Any]], "VendorClient"],
    Callable[[Any], object] | None,
]


def check_vendors(
    connection: Connection, credentials: dict[str, Any], probes: Iterable[VendorProbe]
) -> list[VendorCheck]:
    """One authenticated call per vendor; each vendor's outcome, never an exception.

    A client that cannot be built (a credential or URL missing or refused) is `not configured`;
    a vendor's refusal or failure is its sanitised error text.
    """
    checks = []
    for vendor, build, call in probes:
        try:
            client = build(connection, credentials)
        except (KeyError, ValueError) as exc:
            checks.append(VendorCheck(vendor=vendor, ok=False, error=f"not configured: {exc}"))
            continue
        try:
            (call or _check)(client)
            checks.append(VendorCheck(vendor=vendor, ok=True))
        except VendorError as exc:
            checks.append(VendorCheck(vendor=vendor, ok=False, error=str(exc)))
        finally:
            client.close()
    return checks


def _check(client: Any) -> object:
    return client.check()


def vendor_test(
    *vendors: str,
) -> Callable[[Connection, dict[str, Any]], list[VendorCheck]]:
    """A flow's `test_connection` when each vendor's client `check()` proves the credentials:
    `check_vendors` with each client's `for_connection(connection, credentials)`.

    The clients (and httpx) are imported when a connection is tested, not with the flow.
    """

    def test_connection(connection: Connection, credentials: dict[str, Any]) -> list[VendorCheck]:
        probes = [(vendor, vendor_client(vendor).for_connection, None) for vendor in vendors]
        return check_vendors(connection, credentials, probes)

    return test_connection
