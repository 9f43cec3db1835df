"""Rule 7: the selected Striven teams exist in Onfleet and their linked drivers follow Striven.

- `ensure_team`: a team's Onfleet id, creating the team (or linking one of the same name) when
  it is missing; used when a driver is created into its teams.
- `follow_membership`: the poll's step. A team is created when missing; a Striven membership
  change (fingerprint of the member ids) reads the Onfleet teams once and writes only the teams
  whose linked drivers differ. An unchanged membership costs no Onfleet call.
- `reconcile_teams`: the daily run (and `POST /sync`): every selected team is compared with
  Onfleet, whatever the fingerprints say; missing teams are created.
Onfleet members that are not linked drivers are left alone (`team_rules.decide`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fleetbridge.core.errors import ConflictError, VendorConflict
from fleetbridge.core.models import Action, fingerprint
from fleetbridge.core.models import Mapping as Stored
from fleetbridge.core.registry import Plan, PlanItem
from fleetbridge.flows.striven_onfleet import EMPLOYEE, LINKED, TEAM, team_rules
from fleetbridge.flows.striven_onfleet.context import FlowContext
from fleetbridge.vendors.onfleet import OnfleetTeam
from fleetbridge.vendors.striven_models import StrivenTeam


def linked_drivers(mappings: Iterable[Stored]) -> dict[int, str]:
    """Striven employee id → Onfleet worker id, for employees linked to a driver."""
    return {
        int(m.external_id): m.other_id
        for m in mappings
        if m.other_id and m.data.get("status") in LINKED
    }


def members_fingerprint(team: StrivenTeam) -> str:
    """What a Striven team's membership was when we last applied it."""
    return fingerprint({"name": team.name, "members": sorted(set(team.member_ids))})


def _by_name(teams: Iterable[OnfleetTeam], name: str) -> OnfleetTeam | None:
    return next((t for t in teams if t.name.strip().casefold() == name.strip().casefold()), None)


def _save(
    ctx: FlowContext, mapping: Stored | None, team_id: int, onfleet_id: str, data: dict
) -> None:
    base = mapping or Stored(connection_id=ctx.connection.id, entity=TEAM, external_id="")
    ctx.mappings.save(
        base.model_copy(update={"external_id": str(team_id), "other_id": onfleet_id, "data": data})
    )


def ensure_team(
    ctx: FlowContext,
    team_id: int,
    name: str,
    *,
    workers: Iterable[str] = (),
    members_fp: str | None = None,
    source_event: str,
) -> str:
    """The Onfleet id of Striven team `team_id`; created (or linked by name) when missing.

    `members_fp` is stored with it when the caller applied the Striven membership (`workers`).
    """
    mapping = ctx.mappings.get(TEAM, str(team_id))
    if mapping is not None and mapping.other_id:
        return mapping.other_id
    action: Action = "created"
    try:
        team = ctx.onfleet.create_team(name, workers=workers)
    except VendorConflict:  # the name exists (another worker created it, or someone by hand)
        found = _by_name(ctx.onfleet.list_teams(), name)
        if found is None:
            raise
        team, action = found, "linked"
    try:
        data = {"name": name, **({"members_fp": members_fp} if members_fp else {})}
        _save(ctx, mapping, team_id, team.id, data)
    except ConflictError:  # a concurrent worker stored it first: theirs is the same team
        stored = ctx.mappings.get(TEAM, str(team_id))
        if stored is not None and stored.other_id:
            return stored.other_id
        raise
    ctx.record(
        action,
        f"team {team_id}",
        "selected_team_missing_in_onfleet" if action == "created" else "same_name",
        source=source_event,
        ids={"striven_team_id": team_id, "onfleet_team_id": team.id},
    )
    return team.id


def follow_membership(
    ctx: FlowContext, teams: Iterable[StrivenTeam], linked: Mapping[int, str], source_event: str
) -> int:
    """The poll's rule 7 step; returns the number of Onfleet writes."""
    stored = {m.external_id: m for m in ctx.mappings.list(TEAM)}
    listed: list[OnfleetTeam] | None = None
    writes = 0
    for team in teams:
        mapping = stored.get(str(team.id))
        current_fp = members_fingerprint(team)
        if mapping is None or not mapping.other_id:
            _create(ctx, team, linked, source_event)
            writes += 1
            continue
        if mapping.data.get("members_fp") == current_fp:
            continue
        if listed is None:
            listed = ctx.onfleet.list_teams()
        writes += _apply(ctx, team, mapping, listed, linked, source_event)
    return writes


def _create(
    ctx: FlowContext, team: StrivenTeam, linked: Mapping[int, str], source_event: str
) -> None:
    """A selected team without its Onfleet team (yet, or any more): `ensure_team` with its
    linked drivers."""
    wanted = [linked[e] for e in team.member_ids if e in linked]
    fp = members_fingerprint(team)
    ensure_team(ctx, team.id, team.name, workers=wanted, members_fp=fp, source_event=source_event)


def _remember(ctx: FlowContext, team: StrivenTeam, members_fp: str) -> None:
    mapping = ctx.mappings.get(TEAM, str(team.id))
    if mapping is not None and mapping.data.get("members_fp") != members_fp:
        data = {**mapping.data, "name": team.name, "members_fp": members_fp}
        ctx.mappings.save(mapping.model_copy(update={"data": data}))


def _apply(
    ctx: FlowContext,
    team: StrivenTeam,
    mapping: Stored,
    listed: list[OnfleetTeam],
    linked: Mapping[int, str],
    source_event: str,
) -> int:
    """Make one existing team's linked members follow Striven; returns Onfleet writes."""
    onfleet = next((t for t in listed if t.id == mapping.other_id), None)
    if onfleet is None:  # deleted in Onfleet: forget it and create it again
        ctx.mappings.delete(mapping)
        _create(ctx, team, linked, source_event)
        return 1
    change = team_rules.decide(team.member_ids, onfleet.workers, linked)
    writes = 0
    if change.changed:
        ctx.onfleet.update_team(onfleet.id, {"workers": list(change.workers)})
        writes = 1
        ctx.record(
            "updated",
            f"team {team.id}",
            "membership_changed_in_striven",
            source=source_event,
            ids={
                "onfleet_team_id": onfleet.id,
                "added_workers": list(change.add),
                "removed_workers": list(change.remove),
            },
        )
    _remember(ctx, team, members_fingerprint(team))
    return writes


def reconcile_teams(
    ctx: FlowContext, *, dry_run: bool, source_event: str, gone: Iterable[int] = ()
) -> Plan:
    """The daily rule 7 pass over every selected team; the plan (applied unless `dry_run`).
    `gone`: employees whose driver was deleted in Onfleet (a dry run still has their link)."""
    selected = set(ctx.settings.team_ids)
    teams = [t for t in ctx.teams.teams() if t.id in selected]
    listed = ctx.onfleet.list_teams()
    dropped = set(gone)
    linked = {
        e: w for e, w in linked_drivers(ctx.mappings.list(EMPLOYEE)).items() if e not in dropped
    }
    stored = {m.external_id: m for m in ctx.mappings.list(TEAM)}
    plan = Plan(dry_run=dry_run)
    items = plan.items
    for team in teams:
        mapping = stored.get(str(team.id))
        onfleet = next((t for t in listed if mapping and t.id == mapping.other_id), None)
        onfleet = onfleet or _by_name(listed, team.name)
        ids: dict[str, object] = {"striven_team_id": team.id}
        if onfleet is None:
            wanted = [linked[e] for e in team.member_ids if e in linked]
            if not dry_run:
                if mapping is not None:
                    ctx.mappings.delete(mapping)
                ids["onfleet_team_id"] = ensure_team(
                    ctx,
                    team.id,
                    team.name,
                    workers=wanted,
                    members_fp=members_fingerprint(team),
                    source_event=source_event,
                )
            items.append(
                PlanItem(
                    entity=f"team {team.id}",
                    action="created",
                    reason="selected_team_missing_in_onfleet",
                    vendor_ids=ids,
                    details={"workers": wanted},
                )
            )
            continue
        ids["onfleet_team_id"] = onfleet.id
        if not dry_run and (mapping is None or mapping.other_id != onfleet.id):
            _save(ctx, mapping, team.id, onfleet.id, {"name": team.name})
        change = team_rules.decide(team.member_ids, onfleet.workers, linked)
        if change.changed and not dry_run:
            ctx.onfleet.update_team(onfleet.id, {"workers": list(change.workers)})
        if not dry_run:
            _remember(ctx, team, members_fingerprint(team))
        items.append(
            PlanItem(
                entity=f"team {team.id}",
                action="updated" if change.changed else "skipped",
                reason="membership_changed_in_striven" if change.changed else "in_line",
                vendor_ids=ids,
                details={"add": list(change.add), "remove": list(change.remove)},
            )
        )
    if not dry_run:
        for item in items:
            if item.action == "updated":
                ctx.record(
                    "updated",
                    item.entity,
                    item.reason,
                    source=source_event,
                    ids={**item.vendor_ids, **item.details},
                )
    return plan
