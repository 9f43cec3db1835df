"""Run profiles (issue 7, §2): `{id, name, integrations: [{id, type}], defaults?, options?}`,
and what a run needs from its profile (`onfleet_setup`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fleetbridge.core.errors import InvalidInputError, NotFoundError
from fleetbridge.core.models import iso, utcnow
from fleetbridge.core.profiles import (
    IntegrationProfile,
    IntegrationRef,
    ProfileRepository,
    RunProfile,
)
from fleetbridge.routing.profiles_rules import (
    check_defaults_and_options,
    check_immutable_id,
    check_profile_id,
)


def _check_integrations(tenant_id: str, integrations: list[IntegrationRef]) -> None:
    repository = ProfileRepository()
    for index, ref in enumerate(integrations):
        try:
            repository.get(IntegrationProfile, tenant_id, ref.id)
        except NotFoundError:
            raise InvalidInputError(
                f"integrations[{index}].id: no {ref.type} integration profile {ref.id!r}",
                field=f"integrations[{index}].id",
            ) from None


@dataclass(frozen=True)
class RunProfileFields:
    """What a client sets on a run profile (all but the id): the same for create and update."""

    name: str
    description: str | None
    integrations: list[IntegrationRef]
    defaults: dict[str, Any] | None
    options: dict[str, Any] | None

    def check(self, tenant_id: str) -> None:
        """Defaults/options against the router schema; every integration profile exists."""
        check_defaults_and_options(self.defaults, self.options)
        _check_integrations(tenant_id, self.integrations)

    def as_dict(self) -> dict[str, Any]:
        """The fields as `RunProfile` keyword arguments."""
        return dict(vars(self))


def create_run_profile(tenant_id: str, *, profile_id: str, fields: RunProfileFields) -> RunProfile:
    """Validate (id, integrations, defaults/options) and store a run profile."""
    check_profile_id(profile_id)
    fields.check(tenant_id)
    now = iso(utcnow())
    profile = RunProfile(
        id=profile_id, tenant_id=tenant_id, **fields.as_dict(), created_at=now, updated_at=now
    )
    return ProfileRepository().create(profile)


def get_run_profile(tenant_id: str, profile_id: str) -> RunProfile:
    """The tenant's run profile (404 otherwise)."""
    return ProfileRepository().get(RunProfile, tenant_id, profile_id)


def list_run_profiles(tenant_id: str) -> list[RunProfile]:
    """Every run profile of the tenant."""
    return ProfileRepository().list_for_tenant(RunProfile, tenant_id)


def update_run_profile(
    tenant_id: str, profile_id: str, *, body_id: str | None, fields: RunProfileFields
) -> RunProfile:
    """Replace every field but the id."""
    check_immutable_id(profile_id, body_id)
    repository = ProfileRepository()
    profile = repository.get(RunProfile, tenant_id, profile_id)
    fields.check(tenant_id)
    return repository.save(profile.model_copy(update=fields.as_dict()))


def delete_run_profile(tenant_id: str, profile_id: str) -> None:
    """Delete the run profile (queued runs naming it will fail, saying so)."""
    repository = ProfileRepository()
    repository.delete(repository.get(RunProfile, tenant_id, profile_id))


def onfleet_setup(tenant_id: str, run_profile_id: str) -> tuple[RunProfile, IntegrationProfile]:
    """The run profile and its Onfleet integration profile, for a run; clear errors otherwise."""
    repository = ProfileRepository()
    try:
        run_profile = repository.get(RunProfile, tenant_id, run_profile_id)
    except NotFoundError:
        raise NotFoundError(
            f"run profile {run_profile_id!r} not found", field="routing.run_profile.id"
        ) from None
    ref = next((r for r in run_profile.integrations if r.type == "onfleet"), None)
    if ref is None:
        raise InvalidInputError(
            f"run profile {run_profile_id!r} has no onfleet integration",
            field="routing.run_profile.id",
        )
    try:
        integration = repository.get(IntegrationProfile, tenant_id, ref.id)
    except NotFoundError:
        raise NotFoundError(
            f"integration profile {ref.id!r} (of run profile {run_profile_id!r}) not found",
            field="routing.run_profile.id",
        ) from None
    return run_profile, integration
