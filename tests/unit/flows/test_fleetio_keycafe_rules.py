"""Fleetio → Keycafe rules (issue: rules 1-5), as the pure `decide` function sees them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from fleetbridge.flows.fleetio_keycafe.rules import (
    Applied,
    Assignment,
    Book,
    Cancel,
    ChangeDates,
    ClearFields,
    Decision,
    Driver,
    NotifyFailure,
    Remind,
    VehicleLink,
    booking_name,
    booking_window,
    content_fingerprint,
    decide,
    instructions_text,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
START = NOW + timedelta(hours=2)
END = NOW + timedelta(hours=10)
DRIVER = Driver(contact_id=7, name="Dana Driver", email="dana@example.com", mobile="+15550100")
LINK = VehicleLink(vehicle_id=1, key_id=100, notification="automatic", key_name="Van 1 key")
ASSIGNMENT = Assignment(
    id=55,
    vehicle_id=1,
    vehicle_name="Van 1",
    contact_id=7,
    started_at=START,
    ended_at=END,
    updated_at="2026-11-23T11:00:00.000Z",
)


def run(
    assignment: Assignment = ASSIGNMENT,
    link: VehicleLink | None = LINK,
    driver: Driver | None = DRIVER,
    applied: Applied | None = None,
) -> Decision:
    return decide(assignment, link, driver, applied, now=NOW, default_hours=24)


def booked(
    assignment: Assignment = ASSIGNMENT, link: VehicleLink = LINK, **changes: object
) -> Applied:
    """What we remember after booking `assignment`."""
    state = Applied(
        status="booked",
        fingerprint=content_fingerprint(assignment, link, DRIVER),
        updated_at=assignment.updated_at,
        access_id=900,
        key_id=link.key_id,
        vehicle_id=assignment.vehicle_id,
        contact_id=assignment.contact_id,
    )
    return replace(state, **changes)  # type: ignore[arg-type]


def kinds(decision: Decision) -> list[type]:
    return [type(step) for step in decision.steps]


# ---------------------------------------------------------------- rule 1: created
def test_rule1_automatic_link_books_the_key_for_the_driver_over_the_assignment_window() -> None:
    decision = run()
    assert (decision.action, decision.reason, decision.status) == ("created", "booked", "booked")
    (step,) = decision.steps
    assert isinstance(step, Book)
    assert step.key_id == 100 and step.driver == DRIVER
    assert (step.window.start, step.window.end) == (START, END)
    assert step.name == "Fleetio · Van 1 · assignment 55"


def test_rule1_open_ended_assignment_books_the_default_length() -> None:
    decision = run(replace(ASSIGNMENT, ended_at=None))
    (step,) = decision.steps
    assert isinstance(step, Book)
    assert step.window.end - step.window.start == timedelta(hours=24)


def test_rule1_assignment_already_started_books_from_now() -> None:
    decision = run(replace(ASSIGNMENT, started_at=NOW - timedelta(hours=3)))
    (step,) = decision.steps
    assert isinstance(step, Book) and step.window.start == NOW


def test_rule1_prompt_link_reminds_admins_and_books_nothing() -> None:
    decision = run(link=replace(LINK, notification="prompt"))
    assert (decision.action, decision.reason, decision.status) == (
        "notified",
        "prompt_reminder",
        "prompted",
    )
    assert kinds(decision) == [Remind]


def test_rule1_prompt_switched_to_automatic_books_on_next_event() -> None:
    prompt_link = replace(LINK, notification="prompt")
    reminded = Applied(
        status="prompted",
        fingerprint=content_fingerprint(ASSIGNMENT, prompt_link, DRIVER),
        updated_at=ASSIGNMENT.updated_at,
        vehicle_id=1,
        contact_id=7,
        key_id=100,
    )
    assert run(link=prompt_link, applied=reminded).reason == "unchanged"
    decision = run(link=LINK, applied=reminded)
    assert decision.action == "created" and kinds(decision) == [Book]


# ---------------------------------------------------------------- rule 2: updated
def test_rule2_unchanged_content_makes_no_call() -> None:
    decision = run(applied=booked())
    assert (decision.action, decision.reason, decision.steps) == ("skipped", "unchanged", ())
    assert decision.status is None


def test_rule2_our_own_custom_field_write_back_is_not_a_change() -> None:
    later = replace(ASSIGNMENT, updated_at="2026-11-23T11:05:00.000Z")
    assert run(later, applied=booked()).reason == "unchanged"


def test_rule2_dates_changed_updates_the_booking_in_place() -> None:
    moved = replace(
        ASSIGNMENT, ended_at=END + timedelta(hours=5), updated_at="2026-11-23T11:10:00Z"
    )
    decision = run(moved, applied=booked())
    assert (decision.action, decision.reason) == ("updated", "dates_changed")
    (step,) = decision.steps
    assert isinstance(step, ChangeDates) and step.access_id == 900
    assert step.window.end == END + timedelta(hours=5)


def test_rule2_driver_changed_cancels_and_books_for_the_new_driver() -> None:
    other = Driver(contact_id=8, name="Eli", email="eli@example.com")
    moved = replace(ASSIGNMENT, contact_id=8, updated_at="2026-11-23T11:10:00Z")
    decision = run(moved, driver=other, applied=booked())
    assert decision.action == "updated" and decision.reason == "driver_changed:booked"
    assert kinds(decision) == [Cancel, Book]
    assert decision.steps[1].driver == other  # type: ignore[union-attr]


def test_rule2_vehicle_changed_cancels_and_books_the_new_vehicles_key() -> None:
    new_link = VehicleLink(vehicle_id=2, key_id=200, notification="automatic")
    moved = replace(
        ASSIGNMENT, vehicle_id=2, vehicle_name="Van 2", updated_at="2026-11-23T11:10:00Z"
    )
    decision = run(moved, link=new_link, applied=booked())
    assert decision.reason == "vehicle_changed:booked"
    assert kinds(decision) == [Cancel, Book]
    assert decision.steps[1].key_id == 200  # type: ignore[union-attr]


def test_rule2_vehicle_changed_to_a_prompt_vehicle_cancels_and_reminds() -> None:
    new_link = VehicleLink(vehicle_id=2, key_id=200, notification="prompt")
    moved = replace(ASSIGNMENT, vehicle_id=2, updated_at="2026-11-23T11:10:00Z")
    decision = run(moved, link=new_link, applied=booked())
    assert kinds(decision) == [Cancel, Remind] and decision.status == "prompted"


def test_rule2_vehicle_changed_to_an_unlinked_vehicle_cancels_and_clears() -> None:
    moved = replace(ASSIGNMENT, vehicle_id=3, updated_at="2026-11-23T11:10:00Z")
    decision = run(moved, link=None, applied=booked())
    assert kinds(decision) == [Cancel, ClearFields]
    assert decision.reason == "vehicle_changed:no_key_linked"


# ---------------------------------------------------------------- rule 3: deleted / ended early
def test_rule3_deleted_assignment_cancels_the_booking_without_touching_fields() -> None:
    gone = replace(ASSIGNMENT, exists=False)
    decision = run(gone, applied=booked())
    assert (decision.action, decision.reason) == ("deleted", "assignment_deleted")
    assert kinds(decision) == [Cancel]


def test_rule3_deleted_without_booking_is_a_skip() -> None:
    assert run(replace(ASSIGNMENT, exists=False)).action == "skipped"


def test_rule3_ended_early_cancels_and_clears_the_fields() -> None:
    ended = replace(
        ASSIGNMENT, ended_at=NOW - timedelta(minutes=1), updated_at="2026-11-23T11:10:00Z"
    )
    decision = run(ended, applied=booked())
    assert (decision.action, decision.reason) == ("deleted", "assignment_ended")
    assert kinds(decision) == [Cancel, ClearFields]


# ---------------------------------------------------------------- rule 4: skips and failures
def test_rule4_vehicle_without_linked_key_is_skipped_with_reason() -> None:
    decision = run(link=None)
    assert (decision.action, decision.reason, decision.steps) == ("skipped", "no_key_linked", ())


@pytest.mark.parametrize("driver", [None, Driver(contact_id=7, name="No Contact")])
def test_rule4_unreachable_driver_fails_and_notifies_admins(driver: Driver | None) -> None:
    decision = run(driver=driver)
    assert (decision.action, decision.reason) == ("failed", "driver_unreachable")
    assert kinds(decision) == [NotifyFailure]


def test_rule4_same_failure_is_not_renotified_until_the_assignment_changes() -> None:
    nobody = Driver(contact_id=7, name="No Contact")
    failed = Applied(status="failed", fingerprint=content_fingerprint(ASSIGNMENT, LINK, nobody))
    assert run(driver=nobody, applied=failed).reason == "unchanged"


def test_rule4_mobile_only_driver_is_bookable() -> None:
    assert run(driver=Driver(contact_id=7, name="M", mobile="+15550101")).action == "created"


# ---------------------------------------------------------------- rule 5: order and repeats
def test_rule5_older_state_than_applied_is_ignored() -> None:
    older = replace(
        ASSIGNMENT, updated_at="2026-11-23T10:00:00.000Z", ended_at=END + timedelta(hours=1)
    )
    decision = run(older, applied=booked())
    assert (decision.action, decision.reason, decision.steps) == ("skipped", "stale_event", ())


def test_rule5_same_state_twice_books_once() -> None:
    first = run()
    assert kinds(first) == [Book]
    second = run(applied=booked())
    assert second.steps == ()


# ---------------------------------------------------------------- helpers
def test_booking_window_and_name() -> None:
    assert booking_name(ASSIGNMENT) == "Fleetio · Van 1 · assignment 55"
    window = booking_window(replace(ASSIGNMENT, started_at=None, ended_at=None), NOW, 8)
    assert (window.start, window.end) == (NOW, NOW + timedelta(hours=8))


def test_instructions_name_box_code_window_and_link_in_local_time() -> None:
    window = booking_window(ASSIGNMENT, NOW, 24)
    text = instructions_text(
        key_name="Van 1 key",
        location="Depot North",
        code="123456",
        link="https://keycafe.com/c/abc",
        window=window,
        time_zone="America/New_York",
    )
    assert "Depot North" in text and "123456" in text and "https://keycafe.com/c/abc" in text
    assert "2026-11-23 09:00" in text  # 14:00 UTC in New York


# ---------------------------------------------------------------- issue 15: flow fidelity
def test_item8_unlinking_the_key_keeps_the_active_booking() -> None:
    """A driver on the road keeps key access when an admin unlinks the key."""
    later = replace(ASSIGNMENT, updated_at="2026-11-23T11:10:00Z")
    decision = run(later, link=None, applied=booked())
    assert (decision.action, decision.reason) == ("skipped", "booking_kept:key_unlinked")
    assert decision.steps == () and decision.status is None  # nothing to write either
    # Switching the key back to automatic is no change at all.
    assert run(later, applied=booked()).reason == "unchanged"


def test_item8_switching_to_prompt_keeps_the_active_booking_and_its_dates_follow() -> None:
    prompt = replace(LINK, notification="prompt")
    decision = run(replace(ASSIGNMENT, updated_at="2026-11-23T11:10:00Z"), prompt, DRIVER, booked())
    assert decision.reason == "booking_kept:switched_to_prompt" and decision.steps == ()
    # The assignment is extended while on Prompt: the same booking follows its dates.
    longer = replace(ASSIGNMENT, ended_at=END + timedelta(hours=3), updated_at="2026-11-23T12:00Z")
    moved = run(longer, prompt, DRIVER, booked())
    assert moved.reason == "dates_changed" and kinds(moved) == [ChangeDates]
    # Then unlinked: still the same booking, still nothing to do.
    after = booked(fingerprint=moved.fingerprint)
    assert run(longer, None, DRIVER, after).reason == "booking_kept:key_unlinked"


def test_item8_kept_booking_ends_when_the_assignment_ends_or_changes_driver() -> None:
    ended = replace(ASSIGNMENT, ended_at=NOW - timedelta(minutes=1), updated_at="2026-11-23T12:00Z")
    assert kinds(run(ended, link=None, applied=booked())) == [Cancel, ClearFields]
    other = Driver(contact_id=8, name="Eli", email="eli@example.com")
    moved = replace(ASSIGNMENT, contact_id=8, updated_at="2026-11-23T12:00Z")
    decision = run(moved, link=None, driver=other, applied=booked())
    assert decision.reason == "driver_changed:no_key_linked"
    assert kinds(decision) == [Cancel, ClearFields]
    prompted = run(moved, replace(LINK, notification="prompt"), other, booked())
    assert decision.reason.startswith("driver_changed") and kinds(prompted) == [Cancel, Remind]


def test_item10_new_email_or_mobile_of_the_same_contact_reissues_the_booking() -> None:
    applied = booked(identity=(DRIVER.email, DRIVER.mobile))
    for changed in (
        replace(DRIVER, email="dana.new@example.com"),
        replace(DRIVER, mobile="+1 415 555 0199"),
    ):
        later = replace(ASSIGNMENT, updated_at="2026-11-23T11:10:00Z")
        decision = run(later, driver=changed, applied=applied)
        assert decision.reason == "driver_contact_changed:booked"
        assert kinds(decision) == [Cancel, Book]
        assert decision.steps[1].driver == changed  # type: ignore[union-attr]


def test_item13_booking_name_carries_the_connection() -> None:
    assert booking_name(ASSIGNMENT, "con_abc") == "Fleetio · Van 1 · assignment 55 · con_abc"
    decision = decide(ASSIGNMENT, LINK, DRIVER, None, now=NOW, default_hours=24, marker="con_abc")
    assert decision.steps[0].name.endswith(" · con_abc")  # type: ignore[union-attr]


def test_item9_keycafe_account_holders_are_told_phone_and_pin_not_a_code() -> None:
    text = instructions_text(
        key_name="Van 1 key",
        location="Depot North",
        code="123456",
        link="https://keycafe.com/c/abc",
        window=booking_window(ASSIGNMENT, NOW, 24),
        time_zone="UTC",
        keycafe_account=True,
    )
    assert "phone number" in text and "PIN" in text and "123456" not in text
