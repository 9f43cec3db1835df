"""Issue 15 item 6: one phone helper (`core.phones`, libphonenumber) wherever a phone is matched,
national numbers read in the connection's `default_region`. The Striven → Onfleet side is
covered in `test_striven_onfleet_flow.py` (and the rules' unit tests); here the Keycafe user
directory, through the Keycafe sandbox."""

from __future__ import annotations

from itertools import count
from typing import Any

import httpx
import pytest

from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Connection
from fleetbridge.core.phones import normalize_phone
from fleetbridge.flows.fleetio_keycafe import keycafe_users
from fleetbridge.flows.fleetio_keycafe.context import FlowContext
from fleetbridge.flows.fleetio_keycafe.rules import Driver
from fleetbridge.flows.fleetio_keycafe.settings import FleetioKeycafeSettings
from fleetbridge.vendors.fleetio import FleetioClient
from fleetbridge.vendors.keycafe import KeycafeClient
from tests.integration.conftest import FLEETIO_KEYCAFE_CREDENTIALS

_CONNECTIONS = count(1)


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(312) 555-0107", "US", "+13125550107"),
        ("312-555-0107 ext. 12", "US", "+13125550107"),
        ("020 7946 0000", "GB", "+442079460000"),
        ("020 7946 0000", "US", None),
        ("+44 20 7946 0000", "US", "+442079460000"),
        ("not a phone", "US", None),
    ],
)
def test_one_helper_reads_national_numbers_in_the_default_region(
    raw: str, region: str, e164: str | None
) -> None:
    assert normalize_phone(raw, region) == e164


def _context(sandbox: httpx.Client, **settings: Any) -> FlowContext:
    """A context on a connection of its own: its Keycafe user directory is read afresh."""
    connection = Connection(
        id=f"con_phone_matching_{next(_CONNECTIONS)}",
        tenant_id="t",
        flow="fleetio-keycafe",
        name="x",
        settings=settings,
        secret_arn="unused",
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
    )
    creds = FLEETIO_KEYCAFE_CREDENTIALS
    return FlowContext(
        connection=connection,
        settings=FleetioKeycafeSettings.model_validate(settings),
        fleetio=FleetioClient.for_connection(connection, creds),
        keycafe=KeycafeClient.for_connection(connection, creds),
        mappings=MappingRepository(connection.id),
    )


def test_keycafe_users_are_matched_by_mobile_in_e164(
    aws: dict[str, Any], sandbox: httpx.Client
) -> None:
    sandbox.post(
        "/_sandbox/keycafe/seed",
        json={
            "users": [
                {"id": 501, "email": "ann@example.com", "mobile": "+1 312-555-0107"},
                {"id": 502, "email": "bo@example.com", "mobile": "+44 20 7946 0000"},
            ]
        },
    ).raise_for_status()
    us = _context(sandbox)
    # an extension is not part of the line: the old last-ten-digits match missed this driver
    found = keycafe_users.find_keycafe_user(
        us, Driver(contact_id=7, name="Ann", mobile="(312) 555-0107 x12")
    )
    assert found is not None and found.id == 501
    unparsable = Driver(contact_id=8, name="X", mobile="call the office")
    assert keycafe_users.find_keycafe_user(us, unparsable) is None

    london = Driver(contact_id=9, name="Bo", mobile="020 7946 0000")
    assert keycafe_users.find_keycafe_user(us, london) is None  # not a US number
    gb = _context(sandbox, default_region="GB")
    found = keycafe_users.find_keycafe_user(gb, london)
    assert found is not None and found.id == 502
