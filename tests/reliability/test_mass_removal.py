"""Issue 12 item 4: an empty (or truncated) source list does not delete everything.

The rule (`core.mass_removal.check`, one pure function for every flow) is table-tested; then
each flow that removes by absence holds a mass removal, emails the admins once, removes within
the threshold as before, and applies a held removal after `POST /sync?confirm_mass_removal=true`.
Counts are read from the sandboxes and SES.
"""

# ruff: noqa: F811 (the harness fixtures are imported, then named as parameters)
from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import (  # noqa: F401 (fixtures)
    Api,
    aws,
    make_connection,
    sandbox,
    sandbox_server,
    tenant,
)
from tests.integration.conftest import api as api
from tests.integration.test_fleetio_keycafe_flow import Harness as FleetioHarness
from tests.integration.test_fleetio_keycafe_flow import flow  # noqa: F401
from tests.integration.test_gpsinsight_driveri_flow import Harness as GpsHarness
from tests.integration.test_gpsinsight_driveri_flow import harness as gps  # noqa: F401
from tests.integration.test_gpsinsight_driveri_flow import portal_driver
from tests.integration.test_striven_onfleet_flow import Harness as StrivenHarness
from tests.integration.test_striven_onfleet_flow import harness as striven  # noqa: F401
from tests.integration.test_striven_onfleet_flow import striven_task
from tests.support import outages


def emails(subject_part: str = "") -> list[Any]:
    from moto.ses.models import ses_backends

    sent = ses_backends["123456789012"]["us-east-1"].sent_messages
    return [m for m in sent if subject_part in m.subject]


# ----------------------------------------------------------------------------- the rule
@pytest.mark.parametrize(
    ("removals", "linked", "percent", "minimum", "confirmed", "hold"),
    [
        (0, 0, 20, 5, False, False),
        (5, 5, 20, 5, False, False),  # small fleets: up to `minimum` may always go
        (6, 6, 20, 5, False, True),  # everything of a small fleet: held
        (20, 100, 20, 5, False, False),  # 20 % of 100
        (21, 100, 20, 5, False, True),
        (100, 100, 20, 5, False, True),  # the empty list
        (100, 100, 20, 5, True, False),  # confirmed by an admin
        (30, 100, 50, 0, False, False),  # the connection's own threshold
        (1, 3, 0, 0, False, True),
    ],
)
def test_the_threshold_rule(
    removals: int, linked: int, percent: float, minimum: int, confirmed: bool, hold: bool
) -> None:
    from fleetbridge.core.mass_removal import MassRemovalThreshold, check

    threshold = MassRemovalThreshold(percent=percent, minimum=minimum)
    assert check(removals, linked, threshold, confirmed=confirmed).hold is hold


def test_the_threshold_is_a_validated_setting_of_every_flow_that_removes_by_absence() -> None:
    from pydantic import ValidationError

    from fleetbridge.core.registry import get_flow

    for flow_id in ("fleetio-keycafe", "gpsinsight-driveri", "striven-onfleet"):
        model = get_flow(flow_id).settings_model
        fields = model.model_fields
        assert "mass_removal_threshold" in fields, flow_id
    from fleetbridge.core.mass_removal import MassRemovalThreshold

    assert MassRemovalThreshold() == MassRemovalThreshold(percent=20, minimum=5)
    with pytest.raises(ValidationError):
        MassRemovalThreshold.model_validate({"percent": 120})


# ----------------------------------------------------------------------------- GPS Insight → Driveri
def _gps_fleet(gps: GpsHarness, size: int) -> list[dict[str, Any]]:
    status, body = gps.api(
        "PATCH",
        f"/connections/{gps.connection_id}",
        {"settings": {"admin_emails": ["fleet@example.com"]}},
    )
    assert status == 200, body
    drivers = gps.seed_portal(*(portal_driver(n) for n in range(1, size + 1)))
    gps.opt_in()
    assert len(gps.driveri()) == size
    return drivers


def _active(gps: GpsHarness) -> int:
    return sum(1 for d in gps.driveri().values() if d["status"] == 1)


def test_gpsinsight_driveri_an_empty_portal_list_removes_nothing_until_confirmed(
    gps: GpsHarness,
) -> None:
    gps.clear_requests()
    counts = outages.gpsinsight_driveri_empty_source_list(gps, portal_driver, size=8)
    assert counts["removed"] == 0  # two polls and a daily run on an empty list
    assert counts["emails"] == 1  # once, not once per poll
    assert [w for w in gps.driveri_writes() if w.startswith(("PUT", "DELETE"))] == []
    [held] = emails("removals held")
    assert "8 of the 8 portal drivers" in held.body
    reasons = {(a["action"], a["reason"]) for a in gps.activity()}
    assert ("skipped", "mass_removal_held") in reasons

    status, body = gps.api(
        "POST",
        f"/connections/{gps.connection_id}/sync",
        query={"confirm_mass_removal": "true"},
    )
    assert status == 202, body
    gps.work()
    assert _active(gps) == 0  # the admins meant it: deactivated (delete_mode)


def test_gpsinsight_driveri_removals_within_the_threshold_go_as_before(gps: GpsHarness) -> None:
    drivers = _gps_fleet(gps, 8)
    gps.portal("/driver/delete", driver_id=drivers[0]["driver_id"])
    gps.poll()
    gps.work()
    assert _active(gps) == 7
    assert emails("removals held") == []


# ----------------------------------------------------------------------------- Striven → Onfleet
def test_striven_onfleet_tasks_gone_from_striven_are_held_above_the_threshold(
    striven: StrivenHarness,
) -> None:
    counts = outages.striven_onfleet_empty_source_list(striven, striven_task, size=7)
    assert counts["removed"] == 0 and counts["emails"] == 1  # two daily runs: one email

    status, _ = striven.api(
        "POST",
        f"/connections/{striven.connection_id}/sync",
        query={"confirm_mass_removal": "true"},
    )
    assert status == 202
    striven.work()
    assert striven.onfleet_tasks() == {}


def test_striven_onfleet_a_task_deleted_in_striven_still_goes(striven: StrivenHarness) -> None:
    striven.seed_striven(tasks=[striven_task(n) for n in range(1, 8)])
    striven.poll()
    striven.seed_striven(deleted_tasks=[1])
    striven.daily()
    assert set(striven.onfleet_tasks()) == {2, 3, 4, 5, 6, 7}
    assert emails("removals held") == []


# ----------------------------------------------------------------------------- Fleetio → Keycafe
def test_fleetio_keycafe_orphan_bookings_are_held_above_the_threshold(
    flow: FleetioHarness,
) -> None:
    """Our records of six bookings are lost (and their assignments gone): the daily run would
    cancel every booking of the connection; it holds them and asks instead."""
    from fleetbridge.core.mappings import MappingRepository

    assignments = [flow.assign(hours=(2 + 10 * n, 10 + 10 * n)) for n in range(6)]
    flow.sync()
    assert len(flow.active_accesses()) == 6
    mappings = MappingRepository(flow.connection_id)
    for assignment in assignments:
        flow.fleetio("DELETE", f"/v1/vehicle_assignments/{assignment['id']}")
        lost = mappings.get("assignment", str(assignment["id"]))
        assert lost is not None
        mappings.delete(lost)
    status, _ = flow.api(
        "POST", f"/connections/{flow.connection_id}/sync", query={"dry_run": "false"}
    )
    assert status == 202
    flow.work()
    assert len(flow.active_accesses()) == 6  # nothing cancelled
    assert len(emails("removals held")) == 1

    status, _ = flow.api(
        "POST", f"/connections/{flow.connection_id}/sync", query={"confirm_mass_removal": "true"}
    )
    assert status == 202
    flow.work()
    assert flow.active_accesses() == []


def test_the_threshold_is_set_per_connection_and_bad_values_are_422(flow: FleetioHarness) -> None:
    path = f"/connections/{flow.connection_id}"
    status, body = flow.api(
        "PATCH", path, {"settings": {"mass_removal_threshold": {"percent": 120}}}
    )
    assert status == 422 and body["error"]["field"].startswith("settings.mass_removal_threshold")
    status, body = flow.api(
        "PATCH", path, {"settings": {"mass_removal_threshold": {"percent": 50, "minimum": 2}}}
    )
    assert status == 200, body
    assert body["settings"]["mass_removal_threshold"] == {"percent": 50, "minimum": 2}
