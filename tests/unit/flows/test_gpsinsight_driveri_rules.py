"""GPS Insight → Driveri rules (issue 6: rules 1-5, 7, 8), as the pure functions see them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fleetbridge.flows.gpsinsight_driveri.rules import (
    UNKNOWN,
    Applied,
    Create,
    Deactivate,
    Decision,
    Delete,
    Difference,
    Fields,
    Portal,
    Remote,
    Rename,
    Update,
    content_fingerprint,
    decide,
    desired,
    iter_reconciliation,
    rejection,
    taken,
)
from fleetbridge.flows.gpsinsight_driveri.settings import GpsInsightDriveriSettings

FIELDS = Fields(
    first_name="Dana",
    last_name="Driver",
    email="dana@example.com",
    phone="+15550100",
    license_number="L-1",
    group="North",
)
PORTAL = Portal(portal_id="17", driveri_id="DRV-1", fields=FIELDS, ref_id="R-9")
WIRE = {
    "firstName": "Dana",
    "lastName": "Driver",
    "email": "dana@example.com",
    "phone": "+15550100",
    "licenseNumber": "L-1",
    "group": "North",
    "status": 1,
}
SETTINGS = GpsInsightDriveriSettings()


def synced(portal: Portal = PORTAL, **changes: object) -> Applied:
    """The mapping after `portal` was synced to its DriverID."""
    state = Applied("synced", content_fingerprint(portal), portal.driveri_id)
    return replace(state, **changes)  # type: ignore[arg-type]


def remote(driver_id: str = "DRV-1", fields: Fields = FIELDS, status: int = 1) -> Remote:
    return Remote(driver_id, fields, status)


def summary(decision: Decision) -> tuple[str, str, tuple[object, ...]]:
    return decision.action, decision.reason, decision.steps


# ---------------------------------------------------------------- rule 1: identity
def test_rule1_identity_is_the_driveri_id_ref_id_is_not_matched_nor_fingerprinted() -> None:
    assert content_fingerprint(replace(PORTAL, ref_id="other")) == content_fingerprint(PORTAL)
    assert content_fingerprint(replace(PORTAL, driveri_id="DRV-2")) != content_fingerprint(PORTAL)
    decision = decide(replace(PORTAL, ref_id="R-new"), synced())
    assert summary(decision) == ("skipped", "unchanged", ())


# ---------------------------------------------------------------- rule 2: create or link
@pytest.mark.parametrize("target", [UNKNOWN, None], ids=["not_asked", "absent"])
def test_rule2_new_portal_driver_creates_the_driveri_driver(target: object) -> None:
    decision = decide(PORTAL, None, target)  # type: ignore[arg-type]
    assert summary(decision) == (
        "created",
        "created",
        (Create("DRV-1", {"driverId": "DRV-1", **WIRE}),),
    )
    assert (decision.status, decision.driveri_id) == ("synced", "DRV-1")
    assert decision.fingerprint == content_fingerprint(PORTAL)


def test_rule2_existing_driveri_id_links_and_brings_fields_in_line() -> None:
    existing = remote(fields=replace(FIELDS, phone="000", group=None))
    decision = decide(PORTAL, None, existing)
    assert summary(decision) == (
        "linked",
        "linked_existing",
        (Update("DRV-1", {"phone": "+15550100", "group": "North"}),),
    )
    assert decision.differences == (
        Difference("phone", "+15550100", "000"),
        Difference("group", "North", None),
    )
    assert (decision.status, decision.driveri_id) == ("synced", "DRV-1")


def test_rule2_existing_driveri_id_already_in_line_links_without_a_call() -> None:
    decision = decide(PORTAL, None, remote(fields=replace(FIELDS, email="DANA@example.com ")))
    assert summary(decision) == ("linked", "linked_existing_in_line", ())


def test_rule2_linking_an_inactive_profile_reactivates_it() -> None:
    decision = decide(PORTAL, None, remote(status=0))
    assert decision.steps == (Update("DRV-1", {"status": 1}),)


# ---------------------------------------------------------------- rule 3: update
def test_rule3_portal_update_updates_the_linked_driver_with_one_call() -> None:
    before = synced()
    changed = replace(PORTAL, fields=replace(FIELDS, phone="+15550199"))
    decision = decide(changed, before)
    assert summary(decision) == (
        "updated",
        "portal_updated",
        (Update("DRV-1", {**WIRE, "phone": "+15550199"}),),
    )
    assert decision.fingerprint == content_fingerprint(changed)


def test_rule3_unchanged_content_makes_no_call_and_keeps_the_mapping() -> None:
    decision = decide(PORTAL, synced(), UNKNOWN)
    assert summary(decision) == ("skipped", "unchanged", ())
    assert decision.status is None


def test_rule3_blank_and_padded_values_are_the_same_content() -> None:
    padded = replace(PORTAL, fields=replace(FIELDS, first_name=" Dana ", group="North"))
    assert content_fingerprint(padded) == content_fingerprint(PORTAL)
    assert content_fingerprint(replace(PORTAL, fields=replace(FIELDS, group=""))) == (
        content_fingerprint(replace(PORTAL, fields=replace(FIELDS, group=None)))
    )


# ---------------------------------------------------------------- rule 4: DriverID changed
@pytest.mark.parametrize("target", [UNKNOWN, None], ids=["not_asked", "absent"])
def test_rule4_new_driver_id_absent_in_driveri_renames_the_linked_profile(target: object) -> None:
    moved = replace(PORTAL, driveri_id="DRV-2")
    decision = decide(moved, synced(), target)  # type: ignore[arg-type]
    assert summary(decision) == (
        "updated",
        "driver_id_renamed",
        (Rename("DRV-1", "DRV-2", {"driverId": "DRV-2", **WIRE}),),
    )
    assert (decision.driveri_id, decision.notes) == ("DRV-2", {"old_driveri_id": "DRV-1"})


def test_rule4_new_driver_id_present_relinks_and_leaves_the_old_profile_untouched() -> None:
    moved = replace(PORTAL, driveri_id="DRV-2")
    decision = decide(moved, synced(), remote("DRV-2", replace(FIELDS, last_name="Old")))
    assert summary(decision) == (
        "linked",
        "relinked_old_profile_untouched",
        (Update("DRV-2", {"lastName": "Driver"}),),
    )
    assert all(getattr(step, "driver_id", None) != "DRV-1" for step in decision.steps)
    assert (decision.driveri_id, decision.notes) == ("DRV-2", {"old_driveri_id": "DRV-1"})


def test_rule4_rename_when_the_old_profile_is_gone_creates_the_new_id() -> None:
    moved = replace(PORTAL, driveri_id="DRV-2")
    decision = decide(moved, synced(), None, linked_exists=False)
    assert (decision.action, decision.reason) == ("created", "recreated_missing_in_driveri")
    assert decision.steps == (Create("DRV-2", {"driverId": "DRV-2", **WIRE}),)


# ---------------------------------------------------------------- rule 5: delete
@pytest.mark.parametrize(
    ("mode", "step"),
    [("deactivate", Deactivate("DRV-1")), ("delete", Delete("DRV-1"))],
)
def test_rule5_portal_delete_removes_the_linked_driver_per_setting(mode: str, step: object) -> None:
    decision = decide(replace(PORTAL, exists=False), synced(), delete_mode=mode)  # type: ignore[arg-type]
    assert summary(decision) == ("deleted", f"portal_deleted:{mode}", (step,))
    assert (decision.status, decision.driveri_id) == ("deleted", "DRV-1")


@pytest.mark.parametrize("applied", [None, Applied("deleted", "", "DRV-1")], ids=["never", "done"])
def test_rule5_delete_of_an_unlinked_or_already_removed_driver_is_skipped(
    applied: Applied | None,
) -> None:
    decision = decide(replace(PORTAL, exists=False), applied)
    assert summary(decision) == ("skipped", "portal_deleted_not_linked", ())


# ---------------------------------------------------------------- rule 8: skips and rejections
@pytest.mark.parametrize("driveri_id", [None, "", "  "])
def test_rule8_portal_driver_without_driver_id_is_skipped(driveri_id: str | None) -> None:
    decision = decide(replace(PORTAL, driveri_id=driveri_id), None)
    assert summary(decision) == ("skipped", "no_driveri_driver_id", ())
    assert decision.status == "skipped"


def test_rule8_driver_id_removed_drops_the_link_and_touches_nothing() -> None:
    decision = decide(replace(PORTAL, driveri_id=None), synced())
    assert summary(decision) == ("skipped", "no_driveri_driver_id", ())
    assert decision.driveri_id is None and decision.notes == {"previous_driveri_id": "DRV-1"}


def test_rule8_rejection_is_recorded_with_the_vendor_message() -> None:
    planned = decide(PORTAL, None)
    failed = rejection(planned, None, "firstName is required")
    assert (failed.action, failed.reason, failed.status) == (
        "failed",
        "driveri_rejected",
        "rejected",
    )
    assert failed.fingerprint == planned.fingerprint and failed.notes == {
        "message": "firstName is required"
    }


def test_rule8_rejected_driver_is_retried_only_when_it_changes_again() -> None:
    rejected = Applied("rejected", content_fingerprint(PORTAL), None)
    assert summary(decide(PORTAL, rejected)) == ("skipped", "previously_rejected", ())
    assert summary(decide(PORTAL, rejected, check_drift=True))[1] == "previously_rejected"
    changed = replace(PORTAL, fields=replace(FIELDS, first_name="Dane"))
    assert decide(changed, rejected).action == "created"


# ---------------------------------------------------------------- rule 7: reconciliation
def plan(
    portal: list[Portal], driveri: list[Remote], mappings: dict[str, Applied], **settings: object
) -> dict[tuple[str | None, str | None], Decision]:
    items = iter_reconciliation(
        portal,
        {d.driver_id: d for d in driveri},
        mappings,
        GpsInsightDriveriSettings(**settings),  # type: ignore[arg-type]
    )
    return {(item.portal_id, item.driveri_id): item.decision for item in items}


def test_rule7_portal_wins_over_driveri_edits_and_lists_what_differed() -> None:
    edited = remote(fields=replace(FIELDS, email="other@example.com", license_number="L-X"))
    (decision,) = plan([PORTAL], [edited], {"17": synced()}).values()
    assert summary(decision) == (
        "updated",
        "driveri_differs",
        (Update("DRV-1", {"email": "dana@example.com", "licenseNumber": "L-1"}),),
    )
    assert [d.field for d in decision.differences] == ["email", "licenseNumber"]
    assert decision.differences[0] == Difference("email", "dana@example.com", "other@example.com")


def test_rule7_in_line_driver_makes_no_call() -> None:
    (decision,) = plan([PORTAL], [remote()], {"17": synced()}).values()
    assert summary(decision) == ("skipped", "in_line", ())


def test_rule7_linked_profile_missing_in_driveri_is_recreated() -> None:
    (decision,) = plan([PORTAL], [], {"17": synced()}).values()
    assert (decision.action, decision.reason) == ("created", "recreated_missing_in_driveri")


@pytest.mark.parametrize(
    ("mode", "status", "expected"),
    [
        ("deactivate", 1, ("deleted", "portal_deleted:deactivate", (Deactivate("DRV-1"),))),
        ("delete", 0, ("deleted", "portal_deleted:delete", (Delete("DRV-1"),))),
        ("deactivate", 0, ("skipped", "already_removed_in_driveri", ())),
    ],
)
def test_rule7_driveri_driver_linked_to_a_deleted_portal_driver_is_removed(
    mode: str, status: int, expected: tuple[object, ...]
) -> None:
    result = plan([], [remote(status=status)], {"17": synced()}, delete_mode=mode)
    assert summary(result[("17", "DRV-1")]) == expected


def test_rule7_removed_profile_is_not_listed_again() -> None:
    gone = Applied("deleted", "", "DRV-1")
    assert plan([], [remote(status=0)], {"17": gone}) == {}


def test_rule7_unlinked_driveri_drivers_are_left_alone_but_listed() -> None:
    result = plan([PORTAL], [remote(), remote("BY-HAND")], {"17": synced()})
    assert summary(result[(None, "BY-HAND")]) == ("skipped", "unlinked_in_driveri", ())
    assert len(result) == 2


def test_rule7_rename_and_relink_in_the_daily_run() -> None:
    renamed = replace(PORTAL, driveri_id="DRV-2")
    result = plan([renamed], [remote()], {"17": synced()})
    assert result[("17", "DRV-2")].reason == "driver_id_renamed"
    assert len(result) == 1  # the renamed profile is not listed as unlinked

    result = plan([renamed], [remote(), remote("DRV-2")], {"17": synced()})
    assert result[("17", "DRV-2")].reason == "relinked_old_profile_untouched"
    assert summary(result[(None, "DRV-1")]) == ("skipped", "unlinked_in_driveri", ())


def test_rule7_new_portal_drivers_are_created_or_linked_and_duplicates_skipped() -> None:
    second = Portal("18", "DRV-9", FIELDS)
    twin = Portal("19", "DRV-9", FIELDS)
    result = plan([PORTAL, second, twin], [remote("DRV-9")], {})
    assert result[("17", "DRV-1")].action == "created"
    assert result[("18", "DRV-9")].reason == "linked_existing_in_line"
    assert result[("19", "DRV-9")].reason == "duplicate_driveri_driver_id"
    assert result[("19", "DRV-9")].notes == {"claimed_by": "18"}


def test_rule7_plan_is_linear_and_streams_over_the_portal() -> None:
    count = 10_000
    portal = (Portal(str(i), f"D{i}", FIELDS) for i in range(count))
    driveri = {f"D{i}": remote(f"D{i}") for i in range(count)}
    mappings = {str(i): synced(Portal(str(i), f"D{i}", FIELDS)) for i in range(count)}
    items = list(iter_reconciliation(portal, driveri, mappings, SETTINGS))
    assert len(items) == count and {i.decision.reason for i in items} == {"in_line"}


def test_desired_fields_mark_the_driver_active() -> None:
    assert desired(PORTAL) == WIRE


def test_item16_a_driver_id_linked_to_another_portal_driver_is_refused() -> None:
    """Issue 15 item 16: the DriverID changed to one portal driver 18 is linked to."""
    moved = replace(PORTAL, driveri_id="DRV-2")
    decision = taken(moved, synced(), "18")
    assert decision is not None
    assert (decision.action, decision.reason) == ("failed", "driveri_driver_id_taken")
    assert decision.steps == () and decision.driveri_id == "DRV-1"  # the old link is kept
    assert decision.status == "rejected" and decision.notes["claimed_by"] == "18"
    # Unchanged afterwards: waits for the next change, no second refusal.
    later = decide(moved, replace(synced(), status="rejected", fingerprint=decision.fingerprint))
    assert later.reason == "previously_rejected"
    assert taken(moved, synced(), "17") is None and taken(moved, synced(), None) is None
