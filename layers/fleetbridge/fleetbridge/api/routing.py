"""Nextmv-compatible routing routes (issue 7): profiles, runs, their results, apply and map.

Thin on purpose: each route translates HTTP into one call of `fleetbridge.routing`, imported
inside the route so the API function's cold start never loads routing code (bench/cold_start.py
forbids it). Run bodies are taken as JSON objects and validated there (422 naming the field).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from fleetbridge.api.routing_models import (
    ApplyOut,
    ApplyRequest,
    IntegrationProfileIn,
    IntegrationProfileOut,
    IntegrationProfileUpdate,
    OnfleetConfigurationOut,
    RunProfileIn,
    RunProfileOut,
    RunStarted,
    RunStatusOut,
)
from fleetbridge.core.errors import InvalidInputError
from fleetbridge.core.models import Tenant

if TYPE_CHECKING:
    from fleetbridge.core.profiles import RunProfile
    from fleetbridge.routing.profiles_run import RunProfileFields

router = APIGatewayHttpRouter()
PROFILES = ["routing profiles"]
RUNS = ["routing runs"]
INTEGRATIONS = "/v1/routing/profiles/integration/onfleet"
RUN_PROFILES = "/v1/routing/profiles/run"


def _tenant_id() -> str:
    tenant: Tenant = router.context["tenant"]
    return tenant.id


def _no_content() -> Response[None]:
    return Response(status_code=204, body=None)


# ----------------------------------------------------------------------------- integrations
def _integration_out(profile: Any) -> IntegrationProfileOut:
    from fleetbridge.routing.profiles_service import masked_api_key

    return IntegrationProfileOut(
        id=profile.id,
        name=profile.name,
        description=profile.description,
        configuration=OnfleetConfigurationOut(
            api_key=masked_api_key(profile), compatibility=profile.compatibility
        ),
        version=profile.version,
        created_at=profile.created_at,
        updated_at=profile.updated_at,
    )


@router.post(INTEGRATIONS, summary="Create an Onfleet integration profile", tags=PROFILES)
def create_integration(
    body: Annotated[IntegrationProfileIn, Body()],
) -> tuple[IntegrationProfileOut, int]:
    from fleetbridge.routing import profiles_service as service

    profile = service.create_integration(
        _tenant_id(),
        profile_id=body.id,
        name=body.name,
        description=body.description,
        api_key=body.configuration.api_key,
        compatibility=body.configuration.compatibility,
    )
    return _integration_out(profile), 201


@router.get(INTEGRATIONS, summary="List Onfleet integration profiles", tags=PROFILES)
def list_integrations() -> list[IntegrationProfileOut]:
    from fleetbridge.routing import profiles_service as service

    return [_integration_out(p) for p in service.list_integrations(_tenant_id())]


@router.get(f"{INTEGRATIONS}/<profile_id>", summary="Get an integration profile", tags=PROFILES)
def get_integration(profile_id: str) -> IntegrationProfileOut:
    from fleetbridge.routing import profiles_service as service

    return _integration_out(service.get_integration(_tenant_id(), profile_id))


@router.put(f"{INTEGRATIONS}/<profile_id>", summary="Modify an integration profile", tags=PROFILES)
def update_integration(
    profile_id: str, body: Annotated[IntegrationProfileUpdate, Body()]
) -> IntegrationProfileOut:
    from fleetbridge.routing import profiles_service as service

    profile = service.update_integration(
        _tenant_id(),
        profile_id,
        body_id=body.id,
        name=body.name,
        description=body.description,
        api_key=body.configuration.api_key,
        compatibility=body.configuration.compatibility,
    )
    return _integration_out(profile)


@router.delete(
    f"{INTEGRATIONS}/<profile_id>", summary="Delete an integration profile", tags=PROFILES
)
def delete_integration(profile_id: str) -> Response[None]:
    from fleetbridge.routing import profiles_service as service

    service.delete_integration(_tenant_id(), profile_id)
    return _no_content()


# ----------------------------------------------------------------------------- run profiles
def _run_profile_out(profile: RunProfile) -> RunProfileOut:
    """The stored profile as the API shows it (all but the tenant)."""
    return RunProfileOut.model_validate(profile, from_attributes=True)


def _run_profile_fields(body: RunProfileIn) -> RunProfileFields:
    from fleetbridge.core.profiles import IntegrationRef
    from fleetbridge.routing.profiles_run import RunProfileFields

    return RunProfileFields(
        name=body.name,
        description=body.description,
        integrations=[IntegrationRef(id=r.id, type=r.type) for r in body.integrations],
        defaults=body.defaults,
        options=body.options,
    )


@router.post(RUN_PROFILES, summary="Create a run profile", tags=PROFILES)
def create_run_profile(body: Annotated[RunProfileIn, Body()]) -> tuple[RunProfileOut, int]:
    from fleetbridge.routing import profiles_run as service

    if body.id is None:
        raise InvalidInputError("id is required", field="id")
    fields = _run_profile_fields(body)
    profile = service.create_run_profile(_tenant_id(), profile_id=body.id, fields=fields)
    return _run_profile_out(profile), 201


@router.get(RUN_PROFILES, summary="List run profiles", tags=PROFILES)
def list_run_profiles() -> list[RunProfileOut]:
    from fleetbridge.routing import profiles_run as service

    return [_run_profile_out(p) for p in service.list_run_profiles(_tenant_id())]


@router.get(f"{RUN_PROFILES}/<profile_id>", summary="Get a run profile", tags=PROFILES)
def get_run_profile(profile_id: str) -> RunProfileOut:
    from fleetbridge.routing import profiles_run as service

    return _run_profile_out(service.get_run_profile(_tenant_id(), profile_id))


@router.put(f"{RUN_PROFILES}/<profile_id>", summary="Modify a run profile", tags=PROFILES)
def update_run_profile(profile_id: str, body: Annotated[RunProfileIn, Body()]) -> RunProfileOut:
    from fleetbridge.routing import profiles_run as service

    fields = _run_profile_fields(body)
    profile = service.update_run_profile(_tenant_id(), profile_id, body_id=body.id, fields=fields)
    return _run_profile_out(profile)


@router.delete(f"{RUN_PROFILES}/<profile_id>", summary="Delete a run profile", tags=PROFILES)
def delete_run_profile(profile_id: str) -> Response[None]:
    from fleetbridge.routing import profiles_run as service

    service.delete_run_profile(_tenant_id(), profile_id)
    return _no_content()


# ----------------------------------------------------------------------------- runs
def _started(run_id: str) -> tuple[RunStarted, int]:
    return RunStarted(run_id=run_id, runID=run_id), 202


@router.post(
    "/v1/integrations/onfleet/run",
    summary="Plan routes for Onfleet tasks and workers (queued; answers the run id)",
    description="Body: `{routing: {run_profile: {id}, options?, defaults?}, onfleet: {tasks: "
    "{ids, params, page_limit?}, workers: {ids, params?}, stop_groups?, alternate_stops?, "
    "duration_groups?}}` (docs/routing.md).",
    tags=RUNS,
)
def start_onfleet_run(body: Annotated[dict[str, Any], Body()]) -> tuple[RunStarted, int]:
    from fleetbridge.routing.run_requests import start_onfleet_run as start

    return _started(start(_tenant_id(), body).id)


@router.post(
    "/v0/run",
    summary="Solve a Nextmv router input (queued; answers the run id)",
    description="Body: a Nextmv router input (`options`, `defaults`, `vehicles`, `stops`, "
    "`stop_groups`, `alternate_stops`, `duration_groups`, and our `distance_matrix` / "
    "`duration_matrix`), validated before it is queued.",
    tags=RUNS,
)
def start_router_run(body: Annotated[dict[str, Any], Body()]) -> tuple[RunStarted, int]:
    from fleetbridge.routing.run_requests import start_router_run as start

    return _started(start(_tenant_id(), body).id)


@router.post(
    "/v0/run/uploadurl",
    summary="An upload URL for a large router input (then POST /v0/run with its upload_id)",
    description="Answers `{upload_id, upload_url, expires_in}`: PUT the JSON input to "
    '`upload_url` (a presigned S3 URL, one hour), then `POST /v0/run` with `{"upload_id"}`.',
    tags=RUNS,
)
def create_upload_url() -> tuple[dict[str, Any], int]:
    from fleetbridge.routing.run_requests import create_upload

    return create_upload(_tenant_id()), 201


@router.get("/v0/run/<run_id>/status", summary="A run's status", tags=RUNS)
def run_status(run_id: str) -> RunStatusOut:
    from fleetbridge.routing.run_requests import run_status as status

    return RunStatusOut.model_validate(status(_tenant_id(), run_id))


@router.get(
    "/v0/run/<run_id>/result",
    summary="A succeeded run's result (solution under `state`)",
    description="A result over 5 MB (or `?format=url`) is answered as `{run_id, result_url, "
    "size_bytes, expires_in}`: a presigned GET of the stored JSON.",
    tags=RUNS,
)
def run_result(
    run_id: str, format: Annotated[Literal["json", "url"], Query()] = "json"
) -> dict[str, Any]:
    from fleetbridge.routing.run_requests import run_result as result

    return result(_tenant_id(), run_id, format)


@router.post(
    "/v0/run/<run_id>/apply",
    summary="Write an Onfleet run's containers to Onfleet, delete unused alternates (opt-in)",
    tags=RUNS,
)
def apply_run(
    run_id: str, body: Annotated[ApplyRequest | None, Body()] = None
) -> tuple[ApplyOut, int]:
    from fleetbridge.routing.apply_request import apply_run as apply

    dry_run = body.dry_run if body is not None else True
    answer = ApplyOut.model_validate(apply(_tenant_id(), run_id, dry_run=dry_run))
    return answer, 200 if dry_run else 202


@router.get("/v0/run/<run_id>/map", summary="The routes as GeoJSON or an SVG picture", tags=RUNS)
def run_map(
    run_id: str, format: Annotated[Literal["geojson", "svg"], Query()] = "geojson"
) -> Response[str]:
    from fleetbridge.routing.run_requests import run_map as draw

    body = draw(_tenant_id(), run_id, format)
    content_type = "image/svg+xml" if format == "svg" else "application/geo+json"
    return Response(status_code=200, content_type=content_type, body=body)
