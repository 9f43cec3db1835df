"""Striven → Onfleet rules (issue 5: rules 1, 3-8) as the pure functions see them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from fleetbridge.core.models import fingerprint
from fleetbridge.core.phones import normalize_phone
from fleetbridge.flows.striven_onfleet import (
    FLOW_ID,
    TASK_METADATA,
    driver_rules,
    task_rules,
    team_rules,
)
from fleetbridge.flows.striven_onfleet.failure_rules import failure_fingerprint, should_notify
from fleetbridge.flows.striven_onfleet.settings import StrivenOnfleetSettings
from fleetbridge.flows.striven_onfleet.task_rules import (
    SKIP_REASONS,
    SyncedTask,
    destination,
    eligibility,
    eligible_from,
    epoch_ms,
    task_fingerprint,
    task_parts,
    task_payload,
    task_version,
    update_payload,
)
from fleetbridge.vendors.striven_models import StrivenEmployee, StrivenTask

ZONE = "America/Chicago"  # UTC-5 in May (CDT)
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)  # 07:00 in Chicago
SETTINGS = StrivenOnfleetSettings(
    time_zone=ZONE, task_type_ids=[1, 2], team_ids=[10], teams=[{"id": 10, "name": "North"}]
)
MEMBERS = {10: {7, 8}, 20: {9}}
LOCATION = {
    "name": "HQ",
    "address": {
        "address1": "1 Main St",
        "address2": "Suite 4",
        "city": "Springfield",
        "state": "IL",
        "postalCode": "62701",
        "country": "US",
    },
    "latitude": 39.8,
    "longitude": -89.6,
}
BASE_TASK: dict[str, Any] = {
    "id": 100,
    "title": "Fix boiler",
    "description": "Basement, blue door",
    "status": {"id": 1, "name": "Open"},
    "type": {"id": 1, "name": "Service"},
    "customer": {"id": 9, "name": "Acme", "phone": "(312) 201-0000"},
    "assignedTo": [{"id": 7, "name": "Ann Lee"}],
    "startDate": "2024-05-01T09:00:00",
    "dueDate": "2024-05-01T17:00:00",
    "dateCreated": "2024-04-01T08:00:00",
    "lastUpdatedDate": "2024-04-30T10:00:00",
    "location": LOCATION,
}


def task(**changes: Any) -> StrivenTask:
    return StrivenTask.model_validate(BASE_TASK | changes)


def local(hours: float) -> str:
    """A tenant-local (Chicago, no offset) date `hours` after NOW."""
    moment = (NOW + timedelta(hours=hours)).astimezone(SETTINGS.zone)
    return moment.replace(tzinfo=None).isoformat()


def ms(value: str) -> int:
    return int(datetime.fromisoformat(value).replace(tzinfo=SETTINGS.zone).timestamp() * 1000)


def synced_for(t: StrivenTask, **changes: Any) -> SyncedTask:
    parts = task_parts(t, 7, ZONE)
    values: dict[str, Any] = {"onfleet_task_id": "OT1", "parts": parts, "version": task_version(t)}
    return SyncedTask(**(values | changes))


# ---------------------------------------------------------------- rule 1: eligibility
@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, None),
        ({"type": {"id": 3, "name": "Sales"}}, "type_not_selected"),
        ({"type": None}, "type_not_selected"),
        ({"startDate": local(25), "dueDate": local(30)}, "not_in_window"),
        ({"startDate": None, "dueDate": None, "dateCreated": None}, "not_in_window"),
        ({"assignedTo": []}, "not_assigned"),
        ({"assignedTo": [{"name": "No id"}]}, "not_assigned"),
        ({"assignedTo": [{"id": 9, "name": "Other team"}]}, "assignee_not_in_selected_team"),
        ({"assignedTo": [{"id": 99, "name": "No team"}]}, "assignee_not_in_selected_team"),
        ({"status": {"id": 2, "name": "In Progress"}}, "status_not_open"),
        ({"status": {"id": 4, "name": "Completed"}}, "status_not_open"),
        ({"status": None}, "status_not_open"),
        ({"status": {"id": 1, "name": " open "}}, None),
        ({"customer": None}, "no_customer"),
        ({"customer": {}}, "no_customer"),
        ({"customer": {"id": 5}}, None),
        ({"assignedTo": [{"id": 9}, {"id": 8}]}, None),  # any assignee in a selected team
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_rule1_each_condition_has_its_reason(changes: dict[str, Any], reason: str | None) -> None:
    assert eligibility(task(**changes), SETTINGS, MEMBERS, NOW) == reason


def test_rule1_first_failing_condition_wins_in_the_issue_order() -> None:
    everything_wrong = task(
        type={"id": 3},
        startDate=local(48),
        dueDate=None,
        assignedTo=[],
        status="Completed",
        customer=None,
    )
    assert eligibility(everything_wrong, SETTINGS, MEMBERS, NOW) == "type_not_selected"
    assert set(SKIP_REASONS) == {
        "type_not_selected",
        "not_in_window",
        "not_assigned",
        "assignee_not_in_selected_team",
        "status_not_open",
        "no_customer",
    }


@pytest.mark.parametrize(
    ("start", "created", "due", "eligible"),
    [
        # start date decides when present
        (local(24), local(-100), None, True),  # exactly 24 h: counts
        (local(24 + 1 / 3600), local(-100), None, False),  # one second later: does not
        (local(-5), None, None, True),  # already started
        (local(48), local(-100), None, False),  # created long ago does not help
        # created date when there is no start date
        (None, local(24), None, True),
        (None, local(24 + 1 / 3600), None, False),
        (None, local(-1), None, True),
        # OR due date within 24 h
        (local(48), None, local(24), True),
        (local(48), None, local(24 + 1 / 3600), False),
        (None, None, local(2), True),
        (None, None, None, False),
    ],
)
def test_rule1_window_start_or_created_fallback_or_due(
    start: str | None, created: str | None, due: str | None, eligible: bool
) -> None:
    t = task(startDate=start, dateCreated=created, dueDate=due)
    reason = eligibility(t, SETTINGS, MEMBERS, NOW)
    assert (reason is None) is eligible and reason in (None, "not_in_window")


def test_rule1_dates_are_tenant_local_and_offsets_are_respected() -> None:
    # 2024-05-02T07:00 Chicago is exactly NOW + 24 h; in UTC it would be 5 hours earlier
    assert eligibility(task(startDate="2024-05-02T07:00:00"), SETTINGS, MEMBERS, NOW) is None
    late = task(startDate="2024-05-02T07:00:01", dueDate=None)
    assert eligibility(late, SETTINGS, MEMBERS, NOW) == "not_in_window"
    utc_start = task(startDate="2024-05-02T12:00:00Z", dueDate=None)  # an explicit offset
    assert eligibility(utc_start, SETTINGS, MEMBERS, NOW) is None
    tokyo = SETTINGS.model_copy(update={"time_zone": "Asia/Tokyo"})
    assert eligibility(late, tokyo, MEMBERS, NOW) is None  # 07:00:01 Tokyo is long past


def test_rule1_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        eligibility(task(), SETTINGS, MEMBERS, datetime(2024, 5, 1, 12))


def test_rule2_eligible_from_for_the_recheck_poll() -> None:
    t = task(startDate=local(30), dueDate=local(40))
    assert eligible_from(t, ZONE) == NOW + timedelta(hours=6)
    assert eligible_from(task(startDate=None, dateCreated=None, dueDate=None), ZONE) is None
    due_first = task(startDate=local(50), dueDate=local(26))
    assert eligible_from(due_first, ZONE) == NOW + timedelta(hours=2)


# ---------------------------------------------------------------- rule 3: payload
def test_rule3_payload_has_destination_recipient_notes_times_worker_and_metadata() -> None:
    body = task_payload(task(), "W1", ZONE)
    assert body == {
        "destination": {
            "address": {
                "unparsed": "1 Main St, Springfield, IL 62701, US",
                "apartment": "Suite 4",
                "name": "HQ",
            },
            "location": [-89.6, 39.8],
        },
        "recipients": [{"name": "Acme", "phone": "+13122010000"}],
        "notes": "Fix boiler\n\nBasement, blue door",
        "container": {"type": "WORKER", "worker": "W1"},
        "metadata": [
            {"name": TASK_METADATA, "type": "number", "value": 100, "visibility": ["api"]}
        ],
        "completeAfter": 1714572000000,  # 2024-05-01T09:00 CDT = 14:00 UTC
        "completeBefore": 1714600800000,  # 17:00 CDT = 22:00 UTC
    }
    assert body["completeAfter"] == ms("2024-05-01T09:00:00")


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (None, None),
        ({"name": "Nowhere"}, None),
        ({"latitude": 0, "longitude": 0, "address": {}}, None),  # 0,0 is "not geocoded"
        (
            {"latitude": 41.9, "longitude": -87.6},
            {"address": {"unparsed": ""}, "location": [-87.6, 41.9]},
        ),
        (
            {"address": {"address1": "2 Elm", "city": "Joliet"}},
            {"address": {"unparsed": "2 Elm, Joliet"}},
        ),
        (
            {"address": {"fullAddress": "3 Oak, Peoria IL"}, "latitude": 91, "longitude": 1},
            {"address": {"unparsed": "3 Oak, Peoria IL"}},  # latitude out of range: dropped
        ),
    ],
)
def test_rule3_destination_address_and_coordinates_when_present(
    location: dict[str, Any] | None, expected: dict[str, Any] | None
) -> None:
    assert destination(task(location=location).location) == expected


def test_rule3_customer_without_phone_goes_to_the_notes() -> None:
    body = task_payload(task(customer={"id": 9, "name": "Acme"}), "W1", ZONE)
    assert body["recipients"] == []
    assert body["notes"] == "Fix boiler\n\nBasement, blue door\n\nCustomer: Acme"


def test_rule3_times_missing_or_out_of_order() -> None:
    no_dates = task_payload(task(startDate=None, dueDate=None), "W1", ZONE)
    assert "completeAfter" not in no_dates and "completeBefore" not in no_dates
    same = task_payload(task(dueDate=BASE_TASK["startDate"]), "W1", ZONE)
    assert "completeAfter" not in same and same["completeBefore"] == ms("2024-05-01T09:00:00")
    with pytest.raises(ValueError, match="no usable location"):
        task_payload(task(location=None), "W1", ZONE)


def test_rule3_epoch_ms_across_dst() -> None:
    assert epoch_ms(datetime(2024, 1, 15, 9), ZONE) == 1705330800000  # CST, UTC-6
    assert epoch_ms(datetime(2024, 7, 15, 9), ZONE) == 1721052000000  # CDT, UTC-5
    assert epoch_ms(None, ZONE) is None


# ---------------------------------------------------------------- rule 4: fingerprint
@pytest.mark.parametrize(
    ("changes", "same"),
    [
        ({"description": "other"}, True),
        ({"lastUpdatedDate": "2024-05-01T00:00:00"}, True),
        ({"customer": {"id": 1, "name": "Other"}}, True),
        ({"status": {"id": 1, "name": "OPEN"}}, True),
        ({"type": {"id": 2, "name": "Install"}}, True),
        ({"title": "Fix boiler now"}, False),
        ({"startDate": "2024-05-01T10:00:00"}, False),
        ({"dueDate": "2024-05-01T18:00:00"}, False),
        ({"location": LOCATION | {"latitude": 39.81}}, False),
        ({"location": LOCATION | {"address": {"address1": "2 Main St"}}}, False),
    ],
)
def test_rule4_fingerprint_covers_only_assignment_location_dates_title(
    changes: dict[str, Any], same: bool
) -> None:
    base = task_fingerprint(task(), 7, ZONE)
    assert (task_fingerprint(task(**changes), 7, ZONE) == base) is same
    assert task_fingerprint(task(), 8, ZONE) != base  # assignment


# ---------------------------------------------------------------- task_rules.decide
@dataclass(frozen=True)
class Case:
    name: str
    changes: dict[str, Any]
    synced: str  # none | live | failed_same | failed_older | deleted | create_failed
    onfleet_state: int | None
    action: str
    reason: str
    changed: tuple[str, ...] = ()


CASES = [
    Case("new eligible task", {}, "none", None, "create", "eligible"),
    Case("new ineligible task", {"customer": None}, "none", None, "skip", "no_customer"),
    Case("unchanged", {"description": "x"}, "live", 1, "skip", "unchanged"),
    Case("title", {"title": "New"}, "live", 1, "update", "striven_changed", ("title",)),
    Case(
        "dates",
        {"startDate": "2024-05-01T10:00:00", "dueDate": "2024-05-01T18:00:00"},
        "live",
        None,
        "update",
        "striven_changed",
        ("start", "due"),
    ),
    Case(
        "location",
        {"location": LOCATION | {"latitude": 40.0}},
        "live",
        1,
        "update",
        "striven_changed",
        ("location",),
    ),
    Case(
        "reassigned",
        {"assignedTo": [{"id": 8}], "title": "New"},
        "live",
        1,
        "reassign",
        "assignee_changed",
        ("assignment", "title"),
    ),
    Case(
        "synced task moved out of the window still updates",
        {"startDate": local(72), "dueDate": local(80)},
        "live",
        1,
        "update",
        "striven_changed",
        ("start", "due"),
    ),
    # issue 15 item 2: a synced task leaving Open or its assignee
    Case("synced task in progress", {"status": "In Progress"}, "live", 1, "skip", "unchanged"),
    Case(
        "in progress still follows",
        {"status": "In Progress", "title": "N"},
        "live",
        2,
        "update",
        "striven_changed",
        ("title",),
    ),
    Case("on hold", {"status": "On Hold"}, "live", 1, "unassign", "on_hold_in_striven"),
    Case("on hold again", {"status": "On Hold"}, "unassigned", 0, "skip", "unchanged"),
    Case("reopened", {}, "unassigned", 0, "reassign", "assignee_changed", ("assignment",)),
    Case("completed", {"status": "Completed"}, "live", 1, "delete", "completed_in_striven"),
    Case("nobody", {"assignedTo": []}, "live", 1, "unassign", "unassigned_in_striven"),
    Case(
        "reassigned outside",
        {"assignedTo": [{"id": 99}]},
        "live",
        1,
        "unassign",
        "assignee_not_in_selected_team",
    ),
    Case(
        "type unselected",
        {"type": {"id": 3, "name": "X"}},
        "live",
        1,
        "delete",
        "type_not_selected",
    ),
    Case("canceled", {"status": "Canceled"}, "live", 1, "delete", "canceled_in_striven"),
    Case("cancelled spelling", {"status": "Cancelled"}, "live", 0, "delete", "canceled_in_striven"),
    Case("canceled, never synced", {"status": "Canceled"}, "none", None, "skip", "status_not_open"),
    Case(
        "canceled after delete", {"status": "Canceled"}, "deleted", None, "skip", "status_not_open"
    ),
    Case(
        "canceled but completed in onfleet",
        {"status": "Canceled"},
        "live",
        3,
        "skip",
        "completed_in_onfleet",
    ),
    Case("completed in onfleet", {"title": "New"}, "live", 3, "skip", "completed_in_onfleet"),
    Case("failed, same version", {}, "failed_same", None, "skip", "previously_failed"),
    Case("failed, task updated", {}, "create_failed", None, "create", "eligible"),
    Case(
        "failed update, task updated",
        {"title": "T"},
        "failed_older",
        1,
        "update",
        "striven_changed",
        ("title",),
    ),
    Case("no location", {"location": None}, "none", None, "fail", "no_location"),
    Case("deleted mapping, eligible again", {}, "deleted", None, "create", "eligible"),
]


def _synced(kind: str, current: StrivenTask) -> SyncedTask | None:
    original = task()
    older = "2024-01-01T00:00:00"
    return {
        "none": None,
        "live": synced_for(original),
        "failed_same": SyncedTask(None, status="failed", version=task_version(current)),
        "create_failed": SyncedTask(None, status="failed", version=older),
        "failed_older": synced_for(original, status="failed", version=older),
        "deleted": synced_for(original, status="deleted"),
        "unassigned": _unassigned(original),
    }[kind]


def _unassigned(original: StrivenTask) -> SyncedTask:
    live = synced_for(original)
    parts = {**(live.parts or {}), "assignment": None}
    return SyncedTask(live.onfleet_task_id, parts, "unassigned", fingerprint=fingerprint(parts))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_task_decide(case: Case) -> None:
    current = task(**case.changes)
    decision = task_rules.decide(
        current, SETTINGS, MEMBERS, NOW, _synced(case.synced, current), case.onfleet_state
    )
    assert (decision.action, decision.reason, decision.changed) == (
        case.action,
        case.reason,
        case.changed,
    )


def test_task_decide_carries_what_the_orchestration_stores() -> None:
    created = task_rules.decide(task(), SETTINGS, MEMBERS, NOW)
    assert created.assignee_id == 7 and created.activity == "created"
    assert created.fingerprint == task_fingerprint(task(), 7, ZONE)
    assert created.parts == task_parts(task(), 7, ZONE)
    skipped = task_rules.decide(task(customer=None), SETTINGS, MEMBERS, NOW)
    assert skipped.activity == "skipped" and skipped.fingerprint is None
    moved = task_rules.decide(
        task(assignedTo=[{"id": 8}]), SETTINGS, MEMBERS, NOW, synced_for(task())
    )
    assert moved.activity == "updated" and moved.assignee_id == 8
    assert update_payload(task(assignedTo=[{"id": 8}]), "W8", ZONE, moved.changed) == {
        "container": {"type": "WORKER", "worker": "W8"}
    }


def test_update_payload_sends_only_the_changed_fields() -> None:
    t = task(title="New", dueDate="2024-05-01T18:00:00")
    assert update_payload(t, "W1", ZONE, ("title",)) == {"notes": "New\n\nBasement, blue door"}
    assert update_payload(t, "W1", ZONE, ("due",)) == {
        "completeAfter": ms("2024-05-01T09:00:00"),
        "completeBefore": ms("2024-05-01T18:00:00"),
    }
    assert update_payload(t, "W1", ZONE, ("location",))["destination"]["location"] == [
        -89.6,
        39.8,
    ]
    assert update_payload(t, "W1", ZONE, ()) == {}


# ---------------------------------------------------------------- rule 6: drivers
@dataclass(frozen=True)
class Worker:
    id: str
    name: str | None


def employee(phones: list[dict[str, Any]], **fields: Any) -> StrivenEmployee:
    values = {"id": 7, "firstName": "Ann", "lastName": "Lee", "phones": phones}
    return StrivenEmployee.model_validate(values | fields)


MOBILE = {"phoneType": {"id": 1, "name": "Mobile"}, "number": "(312) 201-1234", "active": True}
WORK = {"phoneType": {"id": 2, "name": "Work"}, "number": "312-201-9999", "active": True}


@pytest.mark.parametrize(
    ("phones", "workers", "expected"),
    [
        ([MOBILE], {}, ("create", "no_worker_with_phone", "+13122011234", None)),
        (
            [MOBILE],
            {"+13122011234": Worker("W1", "ann  LEE")},
            ("link", "phone_and_name_match", "+13122011234", "W1"),
        ),
        (
            [MOBILE],
            {"+13122011234": Worker("W1", "Anne Lee")},
            ("conflict", "name_mismatch", "+13122011234", "W1"),
        ),
        (
            [MOBILE],
            {"+13122011234": Worker("W1", None)},
            ("conflict", "name_mismatch", "+13122011234", "W1"),
        ),
        ([WORK], {}, ("fail", "no_phone_of_type", None, None)),
        ([], {}, ("fail", "no_phone_of_type", None, None)),
        ([MOBILE | {"active": False}], {}, ("fail", "no_phone_of_type", None, None)),
        ([MOBILE | {"number": "12"}], {}, ("fail", "invalid_phone", None, None)),
        (
            [MOBILE | {"number": "312-201-0001"}, MOBILE | {"isPreferred": True}],
            {},
            ("create", "no_worker_with_phone", "+13122011234", None),  # preferred first
        ),
        (
            [MOBILE | {"number": "bad"}, MOBILE | {"number": "+44 20 7946 0000"}],
            {},
            ("create", "no_worker_with_phone", "+442079460000", None),  # first valid one
        ),
    ],
)
def test_rule6_driver_decide(
    phones: list[dict[str, Any]], workers: dict[str, Worker], expected: tuple[Any, ...]
) -> None:
    match = driver_rules.decide(employee(phones), "mobile", workers)
    assert (match.action, match.reason, match.phone, match.worker_id) == expected
    assert match.name == "Ann Lee"


def test_rule6_name_match_uses_the_display_or_full_name_and_ignores_accents() -> None:
    workers = {"+13122011234": Worker("W1", "Ann Lee")}
    named = employee([MOBILE], name="Lee, Ann")
    assert driver_rules.decide(named, "Mobile", workers).action == "link"  # first + last matches
    accented = {"+13122011234": Worker("W1", "Ánn Leé")}
    match = driver_rules.decide(employee([MOBILE]), "Mobile", accented)
    assert (match.action, match.activity) == ("link", "linked")
    conflict = driver_rules.decide(
        employee([MOBILE]), "Mobile", {"+13122011234": Worker("W1", "Bo")}
    )
    assert conflict.onfleet_name == "Bo" and conflict.activity == "failed"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("(312) 201-1234", "+13122011234"),
        ("312.201.1234", "+13122011234"),
        ("1-312-201-1234", "+13122011234"),
        ("+1 312 201 1234", "+13122011234"),
        ("312-201-1234 x12", "+13122011234"),
        ("312-201-1234 ext. 12", "+13122011234"),
        ("+44 20 7946 0000", "+442079460000"),
        ("011 44 20 7946 0000", "+442079460000"),  # the US international prefix
        ("155-201-1234", None),  # area codes start with 2-9
        ("(555) 201-1234", None),  # 555 is no area code: libphonenumber knows the plan
        ("201-1234", None),
        ("", None),
        (None, None),
        ("+0123456789", None),
        ("+1234567", None),  # too short
    ],
)
def test_rule6_e164_normalisation_us_default(raw: str | None, e164: str | None) -> None:
    assert normalize_phone(raw) == e164


def test_rule6_national_numbers_are_read_in_the_connections_default_region() -> None:
    assert normalize_phone("020 7946 0000") is None  # not a US number
    assert normalize_phone("020 7946 0000", "GB") == "+442079460000"
    assert normalize_phone("+1 312 201 1234", "GB") == "+13122011234"  # its own country
    berlin = employee([MOBILE | {"number": "030 901820"}])
    assert driver_rules.decide(berlin, "Mobile", {}).reason == "invalid_phone"  # US: reason kept
    match = driver_rules.decide(berlin, "Mobile", {}, "DE")
    assert (match.action, match.phone) == ("create", "+4930901820")
    base = SETTINGS.model_dump()
    assert SETTINGS.default_region == "US"
    german = StrivenOnfleetSettings.model_validate({**base, "default_region": "de"})
    assert german.default_region == "DE"
    with pytest.raises(ValidationError):
        StrivenOnfleetSettings.model_validate({**base, "default_region": "XX"})


# ---------------------------------------------------------------- rule 7: teams
@pytest.mark.parametrize(
    ("striven", "onfleet", "linked", "add", "remove", "workers"),
    [
        ([7, 8], [], {7: "W7", 8: "W8"}, ("W7", "W8"), (), ("W7", "W8")),
        ([7], ["W7", "W8"], {7: "W7", 8: "W8"}, (), ("W8",), ("W7",)),
        ([7, 9], ["W7"], {7: "W7"}, (), (), ("W7",)),  # 9 is not a linked driver
        ([7], ["W7", "MANUAL"], {7: "W7"}, (), (), ("W7", "MANUAL")),  # not ours: stays
        ([], ["W7", "MANUAL"], {7: "W7"}, (), ("W7",), ("MANUAL",)),
        ([8, 7], ["W7"], {7: "W7", 8: "W8"}, ("W8",), (), ("W7", "W8")),
    ],
)
def test_rule7_team_membership_follows_striven_for_linked_drivers(
    striven: list[int],
    onfleet: list[str],
    linked: dict[int, str],
    add: tuple[str, ...],
    remove: tuple[str, ...],
    workers: tuple[str, ...],
) -> None:
    change = team_rules.decide(striven, onfleet, linked)
    assert (change.add, change.remove, change.workers) == (add, remove, workers)
    assert change.changed is bool(add or remove)


# ---------------------------------------------------------------- rule 8: failure notices
def test_rule8_the_same_unchanged_failure_is_not_emailed_again() -> None:
    first = failure_fingerprint("task:100", "name_mismatch", "2024-05-01T09:00:00")
    assert should_notify(None, first)
    assert not should_notify(
        first, failure_fingerprint("task:100", "name_mismatch", "2024-05-01T09:00:00")
    )
    updated = failure_fingerprint("task:100", "name_mismatch", "2024-05-01T10:00:00")
    assert should_notify(first, updated)  # failed again after the task's next update
    other_reason = failure_fingerprint("task:100", "no_phone_of_type", "2024-05-01T09:00:00")
    assert should_notify(first, other_reason)
    assert should_notify(first, failure_fingerprint("task:101", "name_mismatch", None))


# ---------------------------------------------------------------- settings
def test_settings_defaults_and_validation() -> None:
    settings = StrivenOnfleetSettings(time_zone="America/New_York")
    assert (settings.phone_type, settings.poll_minutes, settings.page_size) == ("Mobile", 5, 500)
    assert (settings.striven_requests_per_minute, settings.striven_requests_per_day) == (100, 5000)
    # Striven's public API has no teams endpoint: the default source is the settings' list
    assert settings.team_source == "settings" and FLOW_ID == "striven-onfleet"
    for bad in (
        {},  # the time zone is required
        {"time_zone": "Mars/Base"},
        {"time_zone": "UTC", "notify_recipients": ["not-an-email"]},
        {"time_zone": "UTC", "page_size": 1001},
        {"time_zone": "UTC", "poll_minutes": 0},
        {"time_zone": "UTC", "unknown": 1},
        {"time_zone": "UTC", "team_source": "settings", "team_ids": [1]},
        {"time_zone": "UTC", "team_ids": [1]},  # the default source: the team must be listed
    ):
        with pytest.raises(ValidationError):
            StrivenOnfleetSettings.model_validate(bad)
    listed = StrivenOnfleetSettings.model_validate(
        {
            "time_zone": "UTC",
            "team_source": "settings",
            "team_ids": [1, 1],
            "teams": [{"id": 1, "name": "North", "memberIds": [7]}],
            "notify_recipients": ["ops@example.com"],
        }
    )
    assert listed.team_ids == [1] and listed.teams[0].member_ids == [7]


def test_task_decide_compares_the_stored_fingerprint_not_parts_read_back() -> None:
    # A whole-degree coordinate is stored as -89.0 but read back from DynamoDB as -89: hashing
    # the parts read back would see a change and write to Onfleet for nothing.
    whole = task(location=LOCATION | {"longitude": -89.0})
    parts = task_parts(whole, 7, ZONE)
    read_back = json.loads(json.dumps(parts).replace("-89.0", "-89"))
    assert fingerprint(read_back) != task_fingerprint(whole, 7, ZONE)
    stored = SyncedTask("onfleet-1", parts=read_back, fingerprint=task_fingerprint(whole, 7, ZONE))
    decision = task_rules.decide(whole, SETTINGS, MEMBERS, NOW, stored, 1)
    assert (decision.action, decision.reason) == ("skip", "unchanged")
    moved = task(location=LOCATION | {"longitude": -88.0})
    decision = task_rules.decide(moved, SETTINGS, MEMBERS, NOW, stored, 1)
    assert (decision.action, decision.changed) == ("update", ("location",))
