"""`nextmv:0.1:*` metadata extensions on Onfleet tasks and workers (issue 7, §7)."""

from __future__ import annotations

from typing import Any

import pytest

from fleetbridge.core.errors import InvalidInputError
from fleetbridge.routing.onfleet.metadata import (
    TASK_ATTRIBUTES,
    WORKER_ATTRIBUTES,
    RunInputError,
    parse_extensions,
    rfc3339_from_ms,
)

MS_2024 = 1_704_103_200_000  # 2024-01-01T10:00:00Z


def entry(attribute: str, value: Any, type_: str | None = None) -> dict[str, Any]:
    """One Onfleet metadata entry; `type` inferred from the value unless given."""
    inferred = {bool: "boolean", int: "number", float: "number", str: "string", dict: "object"}
    declared = type_ or inferred.get(type(value), "array")
    return {
        "name": f"nextmv:0.1:{attribute}",
        "type": declared,
        "visibility": ["api"],
        "value": value,
    }


TASK_VALID = [
    ("position", {"lon": -73.9, "lat": 40.7}, {"lon": -73.9, "lat": 40.7}),
    ("position", [-73.9, 40.7], {"lon": -73.9, "lat": 40.7}),
    ("unassigned_penalty", 20000, 20000),
    ("quantity", -2, -2),
    ("quantity", {"cold": -1, "dry": 2.0}, {"cold": -1, "dry": 2}),
    ("precedes", ["t2", "t3"], ["t2", "t3"]),
    ("precedes", "t2", ["t2"]),
    ("max_wait", -1, -1),
    ("max_wait", 900, 900),
    ("target_time", "2024-01-01T11:00:00+01:00", "2024-01-01T10:00:00Z"),
    ("target_time", MS_2024, "2024-01-01T10:00:00Z"),
    ("earliness_penalty", 1.5, 1.5),
    ("lateness_penalty", 3, 3),
    ("compatibility_attributes", ["fridge", "lift"], ["fridge", "lift"]),
]

WORKER_VALID = [
    ("start", {"lon": 2.35, "lat": 48.85}, {"lon": 2.35, "lat": 48.85}),
    ("end", [2.35, 48.85], {"lon": 2.35, "lat": 48.85}),
    ("speed", 12.5, 12.5),
    ("capacity", 40, 40),
    ("capacity", {"cold": 10}, {"cold": 10}),
    ("shift_start", "2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"),
    ("shift_end", MS_2024 + 8 * 3_600_000, "2024-01-01T18:00:00Z"),
    ("compatibility_attributes", "fridge", ["fridge"]),
    ("max_stops", 12, 12),
    ("max_distance", 150_000, 150_000),
    ("max_duration", 28_800, 28_800),
    ("stop_duration_multiplier", 1.25, 1.25),
    ("backlog", ["t1"], ["t1"]),
    ("alternate_stops", ["lunch-1", "lunch-2"], ["lunch-1", "lunch-2"]),
    ("initialization_cost", 500, 500),
]


@pytest.mark.parametrize(("attribute", "value", "expected"), TASK_VALID)
def test_each_task_attribute_parses(attribute: str, value: Any, expected: Any) -> None:
    assert parse_extensions("task", "t1", [entry(attribute, value)]) == {attribute: expected}


@pytest.mark.parametrize(("attribute", "value", "expected"), WORKER_VALID)
def test_each_worker_attribute_parses(attribute: str, value: Any, expected: Any) -> None:
    assert parse_extensions("worker", "w1", [entry(attribute, value)]) == {attribute: expected}


def test_every_attribute_has_a_test() -> None:
    assert {a for a, _, _ in TASK_VALID} == set(TASK_ATTRIBUTES)
    assert {a for a, _, _ in WORKER_VALID} == set(WORKER_ATTRIBUTES)


TASK_INVALID = [
    ("position", {"lon": 200, "lat": 0}, "-180 <= lon <= 180"),
    ("position", {"x": 1, "y": 2}, 'a position {"lon", "lat"} or [lon, lat]'),
    ("unassigned_penalty", -1, "an integer >= 0"),
    ("unassigned_penalty", 2.5, "an integer >= 0"),
    ("quantity", 1.5, "an integer or a non-empty object of integers"),
    ("quantity", {}, "an integer or a non-empty object of integers"),
    ("quantity", {"cold": "two"}, "an integer or a non-empty object of integers"),
    ("precedes", [1, 2], "a string or an array of non-empty strings"),
    ("max_wait", -2, "an integer >= -1"),
    ("target_time", "2024-01-01T10:00:00", "an RFC 3339 time with an offset"),
    ("target_time", "tomorrow", "an RFC 3339 time with an offset"),
    ("earliness_penalty", -0.5, "a number >= 0"),
    ("lateness_penalty", True, "a number >= 0"),
    ("compatibility_attributes", [""], "a string or an array of non-empty strings"),
]

WORKER_INVALID = [
    ("start", [1], 'a position {"lon", "lat"} or [lon, lat]'),
    ("end", {"lon": 0, "lat": 91}, "-90 <= lat <= 90"),
    ("speed", 0, "a number > 0"),
    ("capacity", {"cold": 1.5}, "an integer or a non-empty object of integers"),
    ("shift_start", 10**20, "Unix milliseconds within the calendar"),
    ("shift_end", "5pm", "an RFC 3339 time with an offset"),
    ("compatibility_attributes", {"a": 1}, "a string or an array of non-empty strings"),
    ("max_stops", 1.5, "an integer >= 0"),
    ("max_distance", -1, "a number >= 0"),
    ("max_duration", -1, "a number >= 0"),
    ("stop_duration_multiplier", -2, "a number > 0"),
    ("backlog", [None], "a string or an array of non-empty strings"),
    ("alternate_stops", 3, "a string or an array of non-empty strings"),
    ("initialization_cost", -5, "a number >= 0"),
]


@pytest.mark.parametrize(("attribute", "value", "expected"), TASK_INVALID)
def test_a_wrong_task_value_fails_naming_task_and_attribute(
    attribute: str, value: Any, expected: str
) -> None:
    with pytest.raises(RunInputError) as caught:
        parse_extensions("task", "t9", [entry(attribute, value)])
    error = caught.value
    assert error.message.startswith(f'task t9: metadata "nextmv:0.1:{attribute}" must be ')
    assert expected in error.message
    assert (error.entity, error.entity_id, error.attribute) == ("task", "t9", attribute)
    assert error.field == f"metadata.nextmv:0.1:{attribute}"


@pytest.mark.parametrize(("attribute", "value", "expected"), WORKER_INVALID)
def test_a_wrong_worker_value_fails_naming_worker_and_attribute(
    attribute: str, value: Any, expected: str
) -> None:
    with pytest.raises(RunInputError) as caught:
        parse_extensions("worker", "w9", [entry(attribute, value)])
    assert f'worker w9: metadata "nextmv:0.1:{attribute}" must be ' in caught.value.message
    assert expected in caught.value.message
    assert caught.value.attribute == attribute


def test_every_attribute_has_a_failing_test() -> None:
    assert {a for a, _, _ in TASK_INVALID} == set(TASK_ATTRIBUTES)
    assert {a for a, _, _ in WORKER_INVALID} == set(WORKER_ATTRIBUTES)


def test_run_input_error_is_an_invalid_input() -> None:
    assert issubclass(RunInputError, InvalidInputError)


# ----------------------------------------------------------------------------- names and types
def test_unknown_attribute_fails_and_lists_the_known_ones() -> None:
    with pytest.raises(
        RunInputError, match=r'task t1: metadata "nextmv:0\.1:colour" is not a task'
    ):
        parse_extensions("task", "t1", [entry("colour", "red")])


def test_a_worker_attribute_on_a_task_says_so() -> None:
    with pytest.raises(RunInputError, match=r"is not a task attribute \(a worker attribute\)"):
        parse_extensions("task", "t1", [entry("speed", 10)])


def test_a_task_attribute_on_a_worker_says_so() -> None:
    with pytest.raises(RunInputError, match=r"is not a worker attribute \(a task attribute\)"):
        parse_extensions("worker", "w1", [entry("position", [1, 2])])


def test_another_version_fails() -> None:
    bad = {"name": "nextmv:0.2:speed", "type": "number", "value": 1}
    with pytest.raises(RunInputError, match="unsupported version"):
        parse_extensions("worker", "w1", [bad])


def test_the_same_attribute_twice_fails() -> None:
    with pytest.raises(RunInputError, match="appears more than once"):
        parse_extensions("worker", "w1", [entry("speed", 10), entry("speed", 11)])


def test_declared_type_must_match_the_value() -> None:
    with pytest.raises(RunInputError, match='declares type "object" but holds a number'):
        parse_extensions("worker", "w1", [entry("speed", 10, "object")])
    with pytest.raises(RunInputError, match='declares type "decimal"'):
        parse_extensions("worker", "w1", [entry("speed", 10, "decimal")])


def test_other_metadata_is_ignored() -> None:
    other = [
        {"name": "hometown", "type": "string", "value": "Tiburon"},
        {"name": "nextmvish", "type": "number", "value": 1},
        "not an entry",
    ]
    assert parse_extensions("task", "t1", other) == {}
    assert parse_extensions("task", "t1", None) == {}


def test_missing_type_is_not_checked() -> None:
    bare = {"name": "nextmv:0.1:speed", "value": 8}
    assert parse_extensions("worker", "w1", [bare]) == {"speed": 8}


# ----------------------------------------------------------------------------- JSON in strings
@pytest.mark.parametrize(
    ("attribute", "text", "expected"),
    [
        ("position", '{"lon": 1.5, "lat": 2}', {"lon": 1.5, "lat": 2}),
        ("position", "[1.5, 2]", {"lon": 1.5, "lat": 2}),
        ("quantity", "3", 3),
        ("quantity", '{"cold": 2}', {"cold": 2}),
        ("unassigned_penalty", "100", 100),
        ("earliness_penalty", "0.5", 0.5),
    ],
)
def test_a_string_holding_json_is_accepted_where_a_plain_string_means_nothing(
    attribute: str, text: str, expected: Any
) -> None:
    assert parse_extensions("task", "t1", [entry(attribute, text)]) == {attribute: expected}


def test_a_string_that_is_not_json_names_the_expected_shape() -> None:
    with pytest.raises(RunInputError, match=r'must be an integer >= 0, got "lots"'):
        parse_extensions("task", "t1", [entry("unassigned_penalty", "lots")])


def test_list_attributes_take_a_plain_string_literally_and_a_bracket_as_json() -> None:
    found = parse_extensions("task", "t1", [entry("compatibility_attributes", '["a", "b"]')])
    assert found == {"compatibility_attributes": ["a", "b"]}
    with pytest.raises(RunInputError, match="a JSON array of strings"):
        parse_extensions("task", "t1", [entry("precedes", "[t2")])


def test_list_attributes_drop_repeats_keeping_order() -> None:
    found = parse_extensions("worker", "w1", [entry("backlog", ["b", "a", "b"])])
    assert found == {"backlog": ["b", "a"]}


def test_times_are_never_json_decoded() -> None:
    with pytest.raises(RunInputError, match="RFC 3339"):
        parse_extensions("task", "t1", [entry("target_time", "1704103200000")])


def test_rfc3339_from_ms_keeps_milliseconds_only_when_present() -> None:
    assert rfc3339_from_ms(MS_2024) == "2024-01-01T10:00:00Z"
    assert rfc3339_from_ms(MS_2024 + 250) == "2024-01-01T10:00:00.250Z"


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(RunInputError) as caught:
        parse_extensions("task", "t1", [entry("position", "x" * 500)])
    assert "xxx..." in caught.value.message
    assert len(caught.value.message) < 200
