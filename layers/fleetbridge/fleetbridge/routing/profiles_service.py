"""Onfleet integration profiles (issue 7, §1): the key checked, kept secret, shown masked.

Choices (the id rules are in `profiles_rules`; ids are unique per tenant and kind: 409):
- Saving an integration profile checks its key with Onfleet (`GET /auth/test`): a key Onfleet
  refuses is a 422 on `configuration.api_key`, so a typo surfaces now and not at the first run.
  Onfleet unreachable is a 502 and nothing is stored.
- The key goes to Secrets Manager as `{"onfleet_api_key": ...}`, one secret per profile named
  `fleetbridge/<tenant>/routing-<id>-<random>`: the suffix lets a deleted profile's id be reused
  at once (a deleted secret keeps its name for its 7-day recovery window).
- PUT replaces name, description and compatibility; `configuration.api_key` may be omitted (or
  sent back masked, as GET shows it) to keep the stored key.
- Compatibility flags are stored in full (any flag not explicitly false is true).
- An integration profile a run profile refers to cannot be deleted (409 naming them).
"""

from __future__ import annotations

import secrets as tokens
from typing import Any

from fleetbridge.core.errors import AuthError, ConflictError, InvalidInputError, NotFoundError
from fleetbridge.core.models import iso, utcnow
from fleetbridge.core.profiles import IntegrationProfile, ProfileRepository, RunProfile
from fleetbridge.core.secrets import (
    delete_credentials,
    load_credentials,
    mask,
    secret_name,
    settle_credentials,
    stage_credentials,
    store_credentials,
)
from fleetbridge.routing.profiles_rules import (
    check_immutable_id,
    check_profile_id,
    compatibility_flags,
)
from fleetbridge.vendors.base import account_limiter, base_url
from fleetbridge.vendors.onfleet import RATE_LIMIT, OnfleetClient

KEY_FIELD = "onfleet_api_key"


# ----------------------------------------------------------------------------- Onfleet
def onfleet_client(api_key: str) -> OnfleetClient:
    """A client on Onfleet with this key, sharing the organization's rate limit."""
    return OnfleetClient(
        base_url("onfleet", None),
        api_key=api_key,
        rate_limiter=account_limiter("onfleet", api_key, RATE_LIMIT),
    )


def verify_onfleet_key(api_key: str) -> None:
    """`GET /auth/test`; a refused key is a 422 on `configuration.api_key`."""
    with onfleet_client(api_key) as client:
        try:
            client.auth_test()
        except AuthError as exc:
            raise InvalidInputError(
                f"Onfleet refused configuration.api_key (GET /auth/test answered "
                f"{exc.status_code}: {exc.message})",
                field="configuration.api_key",
            ) from None


def profile_api_key(profile: IntegrationProfile) -> str:
    """The integration profile's Onfleet key (from Secrets Manager; never logged or returned)."""
    return str(load_credentials(profile.secret_arn)[KEY_FIELD])


def masked_api_key(profile: IntegrationProfile) -> str:
    """The key as the API shows it: first 2 and last 3 characters."""
    return mask(profile_api_key(profile))


# ----------------------------------------------------------------------------- integration
def create_integration(
    tenant_id: str,
    *,
    profile_id: str,
    name: str,
    description: str | None,
    api_key: str,
    compatibility: Any,
) -> IntegrationProfile:
    """Validate, check the key with Onfleet, store it in Secrets Manager, store the profile."""
    check_profile_id(profile_id)
    flags = compatibility_flags(compatibility)
    repository = ProfileRepository()
    try:
        repository.get(IntegrationProfile, tenant_id, profile_id)
    except NotFoundError:
        pass
    else:  # checked first so a duplicate leaves no orphan secret behind
        raise ConflictError(f"integration profile {profile_id!r} already exists", field="id")
    verify_onfleet_key(api_key)
    name_suffix = f"routing-{profile_id}-{tokens.token_hex(4)}"
    arn = store_credentials(secret_name(tenant_id, name_suffix), {KEY_FIELD: api_key})
    now = iso(utcnow())
    profile = IntegrationProfile(
        id=profile_id,
        tenant_id=tenant_id,
        name=name,
        description=description,
        compatibility=flags,
        secret_arn=arn,
        created_at=now,
        updated_at=now,
    )
    try:
        return repository.create(profile)
    except ConflictError:  # created concurrently by someone else: drop our secret
        delete_credentials(arn)
        raise


def get_integration(tenant_id: str, profile_id: str) -> IntegrationProfile:
    """The tenant's integration profile (404 otherwise)."""
    return ProfileRepository().get(IntegrationProfile, tenant_id, profile_id)


def list_integrations(tenant_id: str) -> list[IntegrationProfile]:
    """Every integration profile of the tenant."""
    return ProfileRepository().list_for_tenant(IntegrationProfile, tenant_id)


def update_integration(
    tenant_id: str,
    profile_id: str,
    *,
    body_id: str | None,
    name: str,
    description: str | None,
    api_key: str | None,
    compatibility: Any,
) -> IntegrationProfile:
    """Replace name, description and compatibility; a new key is checked, then stored."""
    check_immutable_id(profile_id, body_id)
    repository = ProfileRepository()
    profile = repository.get(IntegrationProfile, tenant_id, profile_id)
    flags = compatibility_flags(compatibility)
    changes: dict[str, Any] = {"name": name, "description": description, "compatibility": flags}
    if api_key is not None:
        current = profile_api_key(profile)
        if api_key not in (current, mask(current)):  # the masked value sent back: unchanged
            verify_onfleet_key(api_key)
            # staged: current only once this update has won its conditional save
            staged = stage_credentials(profile.secret_arn, {KEY_FIELD: api_key})
            changes["secret_version"] = staged
    saved = repository.save(profile.model_copy(update=changes))
    if "secret_version" in changes:
        settle_credentials(
            saved.secret_arn,
            lambda: (
                repository.get(
                    IntegrationProfile, tenant_id, profile_id, consistent=True
                ).secret_version
            ),
        )
    return saved


def delete_integration(tenant_id: str, profile_id: str) -> None:
    """Delete the profile and its secret, unless a run profile still uses it."""
    repository = ProfileRepository()
    profile = repository.get(IntegrationProfile, tenant_id, profile_id)
    users = [
        run.id
        for run in repository.list_for_tenant(RunProfile, tenant_id)
        if any(ref.id == profile_id for ref in run.integrations)
    ]
    if users:
        raise ConflictError(
            f"integration profile {profile_id!r} is used by run profiles {', '.join(users)}: "
            "remove it from them first",
            field="id",
        )
    repository.delete(profile)
    delete_credentials(profile.secret_arn)
