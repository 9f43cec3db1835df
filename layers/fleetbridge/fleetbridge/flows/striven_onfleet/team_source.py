"""The Striven → Onfleet flow's team adapter: where teams and their members come from.

Striven's public API has no teams endpoint, so this is flow configuration (`team_source`): the
connection's settings list the teams, or (sandbox, or a proxy that adds it) `GET /v1/teams`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from fleetbridge.vendors.striven import StrivenClient
from fleetbridge.vendors.striven_models import StrivenTeam


class TeamSource(Protocol):
    """Where teams and their members come from; the flow only sees `teams()`."""

    def teams(self) -> list[StrivenTeam]: ...


class EndpointTeamSource:
    """Teams read from an endpoint of the API (the sandbox's `GET /v1/teams`)."""

    def __init__(self, client: StrivenClient) -> None:
        self._client = client

    def teams(self) -> list[StrivenTeam]:
        """Every team, read now."""
        return self._client.teams()


class StaticTeamSource:
    """Teams listed in the connection's settings (`[{id, name, memberIds}]`)."""

    def __init__(self, teams: Iterable[Mapping[str, Any] | StrivenTeam]) -> None:
        self._teams = [StrivenTeam.model_validate(t) for t in teams]

    def teams(self) -> list[StrivenTeam]:
        """The configured teams."""
        return list(self._teams)


def team_source(
    client: StrivenClient, configured: Iterable[Mapping[str, Any]] | None = None
) -> TeamSource:
    """Settings-listed teams when `configured` is given, else the endpoint."""
    if configured is not None:
        return StaticTeamSource(configured)
    return EndpointTeamSource(client)


def team_members(source: TeamSource) -> dict[int, set[int]]:
    """Team id → member employee ids."""
    return {team.id: set(team.member_ids) for team in source.teams()}
