"""The Striven → Onfleet driver rule as pure functions (issue 5, rule 6). No I/O here.

`decide`: an employee's phone of the selected type (E.164) against Onfleet's workers: link,
create, conflict or fail.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from fleetbridge.core.models import Action
from fleetbridge.core.phones import DEFAULT_REGION, normalize_phone
from fleetbridge.vendors.striven_models import StrivenEmployee

#: A decision's action → the activity record's action.
ACTIVITY: dict[str, Action] = {
    "link": "linked",
    "create": "created",
    "conflict": "failed",
    "fail": "failed",
}


class NamedWorker(Protocol):
    """What `decide` needs of an Onfleet worker."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str | None: ...


@dataclass(frozen=True)
class DriverMatch:
    """How an employee becomes (or fails to become) an Onfleet driver."""

    action: Literal["link", "create", "conflict", "fail"]
    reason: str
    phone: str | None = None
    name: str = ""
    worker_id: str | None = None
    onfleet_name: str | None = None  # conflict: the name Onfleet has for that phone

    @property
    def activity(self) -> Action:
        """The activity record's action."""
        return ACTIVITY[self.action]


def same_name(a: str | None, b: str | None) -> bool:
    """Names compared case-, accent- and spacing-insensitively."""

    def key(value: str | None) -> str:
        text = unicodedata.normalize("NFKD", value or "")
        text = "".join(c for c in text if not unicodedata.combining(c))
        return " ".join(text.casefold().split())

    return bool(key(a)) and key(a) == key(b)


def employee_phone(
    employee: StrivenEmployee, phone_type: str, region: str = DEFAULT_REGION
) -> tuple[str | None, bool]:
    """`(E.164 phone, had a number of that type)`: active numbers, preferred ones first; a
    number without `+` is read as a national number of `region` (the connection's
    `default_region`)."""
    wanted = phone_type.strip().casefold()
    numbers = [
        p
        for p in employee.phones
        if p.active
        and p.number
        and p.phone_type is not None
        and (p.phone_type.name or "").strip().casefold() == wanted
    ]
    numbers.sort(key=lambda p: not p.is_preferred)
    for phone in numbers:
        normalized = normalize_phone(phone.number, region)
        if normalized:
            return normalized, True
    return None, bool(numbers)


def decide(
    employee: StrivenEmployee,
    phone_type: str,
    onfleet_workers_by_phone: Mapping[str, NamedWorker],
    region: str = DEFAULT_REGION,
) -> DriverMatch:
    """Rule 6: link on same phone and name, create when the phone is free, else conflict/fail.

    `onfleet_workers_by_phone` is keyed by E.164 phone (`GET /workers?phones=` answers that).
    """
    name = employee.display_name
    phone, had_number = employee_phone(employee, phone_type, region)
    if phone is None:
        reason = "invalid_phone" if had_number else "no_phone_of_type"
        return DriverMatch("fail", reason, name=name)
    worker = onfleet_workers_by_phone.get(phone)
    if worker is None:
        return DriverMatch("create", "no_worker_with_phone", phone, name)
    full = " ".join(p for p in (employee.first_name, employee.last_name) if p)
    if same_name(worker.name, name) or same_name(worker.name, full):
        return DriverMatch("link", "phone_and_name_match", phone, name, worker.id, worker.name)
    return DriverMatch("conflict", "name_mismatch", phone, name, worker.id, worker.name)
