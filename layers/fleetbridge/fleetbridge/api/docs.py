"""OpenAPI 3.1 document at `/openapi.json` and Swagger UI at `/docs`, generated from the code.

Powertools' OpenAPI models (~40 pydantic classes) are imported on the first docs request, not at
cold start: `enable_swagger()` would import them while the function initialises.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

TITLE = "fleetbridge API"
VERSION = "0.1.0"
DESCRIPTION = (
    "Management API (connections, activity, dead letters, sync), webhooks and route planning. "
    "Authenticate with `Authorization: Bearer <api key>`."
)


def _schema_json(app: APIGatewayHttpResolver, **extra: Any) -> str:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return app.get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        security_schemes={"bearer": HTTPBearer(bearerFormat="API key")},
        security=[{"bearer": []}],
        **extra,
    )


def install_docs(app: APIGatewayHttpResolver) -> None:
    """Serve the schema and the UI (both public: they hold no tenant data)."""

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> Response[str]:
        return Response(200, content_types.APPLICATION_JSON, _schema_json(app))

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response[str]:
        from aws_lambda_powertools.event_handler.openapi import swagger_ui
        from aws_lambda_powertools.event_handler.openapi.models import Server

        assets = Path(swagger_ui.__file__).parent
        spec = _schema_json(app, servers=[Server(url=app._get_base_path() or "/")])
        html = swagger_ui.generate_swagger_html(
            spec.replace("</", "<\\/"),
            (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
            (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
            "",
            None,
            False,
        )
        return Response(200, "text/html", html)
