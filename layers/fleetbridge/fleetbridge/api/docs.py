"""OpenAPI 3.1 document at `/openapi.json` and Swagger UI at `/docs`, generated from the code."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

TITLE = "fleetbridge API"
VERSION = "0.1.0"
DESCRIPTION = (
    "Management API (connections, activity, dead letters, sync), webhooks and route planning. "
    "Authenticate with `Authorization: Bearer <api key>`."
)


def install_docs(app: APIGatewayHttpResolver) -> None:
    """Serve the schema and the UI (both public: they hold no tenant data)."""
    security = {"bearer": HTTPBearer(bearerFormat="API key")}
    app.enable_swagger(
        path="/docs",
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        security_schemes=security,
        security=[{"bearer": []}],
    )

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> Response[str]:
        schema = app.get_openapi_json_schema(
            title=TITLE,
            version=VERSION,
            description=DESCRIPTION,
            security_schemes=security,
            security=[{"bearer": []}],
        )
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=schema)
