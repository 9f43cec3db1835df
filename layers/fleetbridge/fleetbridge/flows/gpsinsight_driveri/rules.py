"""The GPS Insight → Driveri rules as pure functions: `decide` and `iter_reconciliation`.

`decide` takes one portal driver as it is now, what we last applied for it (its mapping) and, when
known, the Driveri profile its DriverID names; it returns a Decision: the activity action, the
reason, the ordered steps `apply` carries out and the mapping state to store. No I/O here.

Driveri state is often unknown on the event path (one call per changed driver is the goal), so
`decide` plans optimistically: create, update or rename. When Driveri answers 409 (that DriverID
exists), `apply` reads the profile and calls `decide` again with it as `target`: create becomes
link, rename becomes re-link. A 400 is recorded with `rejection` and retried only once the
driver's content changes. `iter_reconciliation` is the daily run: Driveri fully listed, the portal
wins, every difference is listed for the drift report.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fleetbridge.core.models import Action, fingerprint
from fleetbridge.flows.gpsinsight_driveri.settings import DeleteMode, GpsInsightDriveriSettings

LinkStatus = Literal["synced", "rejected", "skipped", "deleted"]
ACTIVE, INACTIVE = 1, 0

#: Our field name → Driveri's, for the fields the portal owns.
WIRE_NAMES = {
    "first_name": "firstName",
    "last_name": "lastName",
    "email": "email",
    "phone": "phone",
    "license_number": "licenseNumber",
    "group": "group",
}


class Unknown(enum.Enum):
    """Driveri was not asked (event path): plan optimistically."""

    UNKNOWN = "unknown"


UNKNOWN = Unknown.UNKNOWN


def clean(value: Any) -> str | None:
    """Compared and sent form of a value: trimmed text, blank means absent."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# ----------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Fields:
    """The driver fields the portal owns in Driveri."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    license_number: str | None = None
    group: str | None = None

    def wire(self) -> dict[str, str | None]:
        """Driveri's names and cleaned values."""
        return {wire: clean(getattr(self, name)) for name, wire in WIRE_NAMES.items()}


@dataclass(frozen=True)
class Portal:
    """A portal driver. `ref_id` is only copied (kept on the mapping), never matched on."""

    portal_id: str
    driveri_id: str | None
    fields: Fields = Fields()
    ref_id: str | None = None
    exists: bool = True


@dataclass(frozen=True)
class Remote:
    """A Driveri driver as listed or read."""

    driver_id: str
    fields: Fields = Fields()
    status: int | None = ACTIVE


@dataclass(frozen=True)
class Applied:
    """What we last did for a portal driver (its mapping)."""

    status: LinkStatus
    fingerprint: str
    driveri_id: str | None = None  # the linked Driveri profile; None: not linked


# ----------------------------------------------------------------------------- outputs
@dataclass(frozen=True)
class Create:
    """POST the driver with this DriverID (409 → read it, decide again with it as target)."""

    driver_id: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class Update:
    """PUT these fields on the driver."""

    driver_id: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class Rename:
    """PUT the new DriverID (and fields) on the linked driver (409 → decide again: re-link)."""

    driver_id: str
    new_driver_id: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class Delete:
    driver_id: str


@dataclass(frozen=True)
class Deactivate:
    """PUT status 0."""

    driver_id: str


Step = Create | Update | Rename | Delete | Deactivate


@dataclass(frozen=True)
class Difference:
    """One field where Driveri differs from the portal (drift report)."""

    field: str
    portal: Any
    driveri: Any


@dataclass(frozen=True)
class Decision:
    """What to do about one portal driver, and the mapping to store afterwards."""

    action: Action
    reason: str
    steps: tuple[Step, ...] = ()
    status: LinkStatus | None = None  # None: leave the stored mapping as it is
    fingerprint: str | None = None
    driveri_id: str | None = None  # the profile linked afterwards (with status)
    differences: tuple[Difference, ...] = ()
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Planned:
    """One line of a reconciliation plan (and of the drift report)."""

    portal_id: str | None
    driveri_id: str | None
    decision: Decision


# ----------------------------------------------------------------------------- helpers
def content_fingerprint(portal: Portal) -> str:
    """What Driveri depends on: the DriverID and the synced fields (not RefID, not updated_at)."""
    return fingerprint({"driverId": clean(portal.driveri_id), **portal.fields.wire()})


def desired(portal: Portal) -> dict[str, Any]:
    """The Driveri fields the portal asks for (active, since the portal driver exists)."""
    return {**portal.fields.wire(), "status": ACTIVE}


def differences(portal: Portal, remote: Remote) -> tuple[Difference, ...]:
    """Fields where `remote` differs from the portal (emails compared case-insensitively)."""
    have = {**remote.fields.wire(), "status": remote.status}
    out = []
    for name, want in desired(portal).items():
        got = have[name]
        if name == "email":
            same = str(want or "").casefold() == str(got or "").casefold()
        else:
            same = want == got
        if not same:
            out.append(Difference(name, want, got))
    return tuple(out)


def rejection(decision: Decision, applied: Applied | None, message: str) -> Decision:
    """Rule 8: Driveri refused `decision`'s write: record it, retry when the driver changes."""
    return Decision(
        "failed",
        "driveri_rejected",
        status="rejected",
        fingerprint=decision.fingerprint,
        driveri_id=applied.driveri_id if applied else None,
        notes={"message": message},
    )


def taken(portal: Portal, applied: Applied | None, holder: str | None) -> Decision | None:
    """Rule 4b: the portal driver's DriverID is already linked to another portal driver
    (`holder`, its portal id): refuse, keep the current link, wait for the next change.

    Linking both would make two portal drivers write one Driveri profile. The daily run's
    duplicate rule (`duplicate_driveri_driver_id`) agrees: the first holder keeps it.
    """
    if not portal.exists or holder is None or holder == portal.portal_id:
        return None
    linked = applied.driveri_id if applied and applied.status != "deleted" else None
    return Decision(
        "failed",
        "driveri_driver_id_taken",
        status="rejected",
        fingerprint=content_fingerprint(portal),
        driveri_id=linked,
        notes={"claimed_by": holder, "driveri_driver_id": clean(portal.driveri_id) or ""},
    )


def _removal(driver_id: str, mode: DeleteMode) -> Step:
    return Delete(driver_id) if mode == "delete" else Deactivate(driver_id)


# ----------------------------------------------------------------------------- the rules
def decide(
    portal: Portal,
    applied: Applied | None,
    target: Remote | Unknown | None = UNKNOWN,
    *,
    delete_mode: DeleteMode = "deactivate",
    linked_exists: bool | None = None,
    check_drift: bool = False,
) -> Decision:
    """Rules 1-5 and 8 for one portal driver.

    `target` is the Driveri driver with the portal's DriverID (None: absent; UNKNOWN: not asked).
    `linked_exists` says whether the linked profile still exists (None: not asked).
    `check_drift` (reconciliation) compares with `target` even when the content is unchanged.
    """
    linked = applied.driveri_id if applied and applied.status != "deleted" else None

    # Rule 5: deleted in the portal → delete or deactivate the linked driver.
    if not portal.exists:
        if linked:
            return Decision(
                "deleted",
                f"portal_deleted:{delete_mode}",
                (_removal(linked, delete_mode),),
                "deleted",
                "",
                linked,
            )
        return Decision("skipped", "portal_deleted_not_linked")

    current = content_fingerprint(portal)
    # Rule 3 / rule 8: unchanged content → no Driveri call (a rejection waits for a change).
    if applied and applied.fingerprint == current:
        if applied.status == "rejected":
            return Decision("skipped", "previously_rejected")
        if not check_drift:
            return Decision("skipped", "unchanged")

    # Rule 8: no DriverID → skipped (a link it had is dropped; the profile is left untouched).
    new_id = clean(portal.driveri_id)
    if new_id is None:
        notes = {"previous_driveri_id": linked} if linked else {}
        return Decision(
            "skipped", "no_driveri_driver_id", status="skipped", fingerprint=current, notes=notes
        )

    if linked is None:
        return _create_or_link(portal, new_id, target, current)
    if linked == new_id:
        return _update_linked(portal, new_id, target, current)
    return _driver_id_changed(portal, linked, new_id, target, current, linked_exists)


def _create_or_link(
    portal: Portal, new_id: str, target: Remote | Unknown | None, current: str
) -> Decision:
    # Rule 2: create with the DriverID, or link to the profile that already has it.
    if not isinstance(target, Remote):
        step = Create(new_id, {"driverId": new_id, **desired(portal)})
        return Decision("created", "created", (step,), "synced", current, new_id)
    diffs = differences(portal, target)
    steps: tuple[Step, ...] = (Update(new_id, _changes(diffs)),) if diffs else ()
    reason = "linked_existing" if diffs else "linked_existing_in_line"
    return Decision("linked", reason, steps, "synced", current, new_id, diffs)


def _update_linked(
    portal: Portal, driver_id: str, target: Remote | Unknown | None, current: str
) -> Decision:
    # Rule 3: update the linked driver (only what differs, when Driveri's state is known).
    if target is UNKNOWN:
        update = Update(driver_id, desired(portal))
        return Decision("updated", "portal_updated", (update,), "synced", current, driver_id)
    if target is None:  # the linked profile vanished from Driveri: the portal wins
        create = Create(driver_id, {"driverId": driver_id, **desired(portal)})
        return Decision(
            "created", "recreated_missing_in_driveri", (create,), "synced", current, driver_id
        )
    assert isinstance(target, Remote)
    diffs = differences(portal, target)
    if not diffs:
        return Decision(
            "skipped", "in_line", status="synced", fingerprint=current, driveri_id=driver_id
        )
    step = Update(driver_id, _changes(diffs))
    return Decision("updated", "driveri_differs", (step,), "synced", current, driver_id, diffs)


def _driver_id_changed(
    portal: Portal,
    old_id: str,
    new_id: str,
    target: Remote | Unknown | None,
    current: str,
    linked_exists: bool | None,
) -> Decision:
    notes = {"old_driveri_id": old_id}
    if isinstance(target, Remote):
        # Rule 4: the new id exists → re-link to that profile; the old one is left untouched.
        diffs = differences(portal, target)
        steps: tuple[Step, ...] = (Update(new_id, _changes(diffs)),) if diffs else ()
        return Decision(
            "linked",
            "relinked_old_profile_untouched",
            steps,
            "synced",
            current,
            new_id,
            diffs,
            notes,
        )
    if linked_exists is False:  # nothing left to rename: create the new id
        step = Create(new_id, {"driverId": new_id, **desired(portal)})
        return Decision(
            "created",
            "recreated_missing_in_driveri",
            (step,),
            "synced",
            current,
            new_id,
            notes=notes,
        )
    # Rule 4: the new id is free → rename the linked profile (same profile, new DriverID).
    rename = Rename(old_id, new_id, {"driverId": new_id, **desired(portal)})
    return Decision(
        "updated", "driver_id_renamed", (rename,), "synced", current, new_id, notes=notes
    )


def _changes(diffs: tuple[Difference, ...]) -> dict[str, Any]:
    return {diff.field: diff.portal for diff in diffs}


# ----------------------------------------------------------------------------- reconciliation
def iter_reconciliation(
    portal_drivers: Iterable[Portal],
    driveri_drivers: Mapping[str, Remote],
    mappings: Mapping[str, Applied],
    settings: GpsInsightDriveriSettings,
) -> Iterator[Planned]:
    """Rule 7, streamed: the portal wins, every Driveri difference listed.

    `driveri_drivers` is keyed by DriverID, `mappings` by portal driver id. One pass over the
    portal, one over the mappings of portal drivers no longer there, one over Driveri: linear.
    """
    mode = settings.delete_mode
    seen: set[str] = set()  # portal driver ids
    claimed: dict[str, str] = {}  # Driveri id → portal driver id using it

    for portal in portal_drivers:
        seen.add(portal.portal_id)
        applied = mappings.get(portal.portal_id)
        new_id = clean(portal.driveri_id)
        if new_id and new_id in claimed:
            decision = Decision(
                "skipped",
                "duplicate_driveri_driver_id",
                notes={"claimed_by": claimed[new_id]},
            )
            yield Planned(portal.portal_id, new_id, decision)
            continue
        linked = applied.driveri_id if applied and applied.status != "deleted" else None
        decision = decide(
            portal,
            applied,
            driveri_drivers.get(new_id) if new_id else None,
            delete_mode=mode,
            linked_exists=(linked in driveri_drivers) if linked else None,
            check_drift=True,
        )
        for step in decision.steps:
            if isinstance(step, Rename):
                claimed.setdefault(step.driver_id, portal.portal_id)
        if decision.driveri_id and decision.status == "synced":
            claimed[decision.driveri_id] = portal.portal_id
        elif linked and decision.reason == "previously_rejected":
            claimed[linked] = portal.portal_id
        yield Planned(portal.portal_id, new_id, decision)

    for portal_id, applied in mappings.items():
        if portal_id in seen or not applied.driveri_id or applied.driveri_id in claimed:
            continue
        claimed[applied.driveri_id] = portal_id
        planned = _removed_in_portal(portal_id, applied, driveri_drivers, mode)
        if planned is not None:
            yield planned

    for driver_id in driveri_drivers:
        if driver_id not in claimed:
            yield Planned(None, driver_id, Decision("skipped", "unlinked_in_driveri"))


def _removed_in_portal(
    portal_id: str, applied: Applied, driveri: Mapping[str, Remote], mode: DeleteMode
) -> Planned | None:
    """A Driveri driver linked to a portal driver that is gone: remove it (once)."""
    driver_id = applied.driveri_id
    assert driver_id is not None
    remote = driveri.get(driver_id)
    done = remote is None or (mode == "deactivate" and remote.status == INACTIVE)
    if done:
        if applied.status == "deleted":
            return None
        decision = Decision(
            "skipped",
            "already_removed_in_driveri",
            status="deleted",
            fingerprint="",
            driveri_id=driver_id,
        )
        return Planned(portal_id, driver_id, decision)
    decision = Decision(
        "deleted", f"portal_deleted:{mode}", (_removal(driver_id, mode),), "deleted", "", driver_id
    )
    return Planned(portal_id, driver_id, decision)
