"""Small pure helpers: fingerprints, masking, ids, notifier rendering, invalid fields."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from fleetbridge.core.errors import first_invalid_field
from fleetbridge.core.models import fingerprint, new_id
from fleetbridge.core.notifier import render
from fleetbridge.core.secrets import mask, mask_all


def test_fingerprint_ignores_key_order_and_changes_with_content() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_mask_shows_first_two_and_last_three_only() -> None:
    assert mask("sk_live_1234567890") == "sk*************890"
    assert mask("short") == "*****"
    assert mask_all({"k": "abcdefghijkl"}) == {"k": "ab*******jkl"}


def test_new_id_has_prefix_and_is_unique() -> None:
    ids = {new_id("con") for _ in range(100)}
    assert len(ids) == 100 and all(i.startswith("con_") for i in ids)


def test_failure_email_has_text_and_escaped_html() -> None:
    email = render(
        "failure",
        {
            "entity": "<Truck 7>",
            "reason": "x & y",
            "details": "",
            "flow": "f",
            "connection_name": "Ops",
        },
    )
    assert "<Truck 7>" in email.text
    assert "&lt;Truck 7&gt;" in email.html and "<Truck 7>" not in email.html
    assert email.subject == "[fleetbridge] f: <Truck 7> failed"


class _Stop(BaseModel):
    window: list[int]


def test_first_invalid_field_is_the_dotted_path_under_a_prefix() -> None:
    try:
        _Stop.model_validate({"window": [1, "x"]})
    except ValidationError as exc:
        field, message = first_invalid_field(exc, "stops", "3")
    assert field == "stops.3.window.1" and "integer" in message
