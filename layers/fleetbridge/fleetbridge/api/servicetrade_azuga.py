"""ServiceTrade ↔ Azuga resources under `/connections/{id}/…`: the activity report of a day
(JSON, CSV, HTML) and the day's map page."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from fleetbridge.core.connection_service import get_flow_connection
from fleetbridge.core.models import Connection, Tenant
from fleetbridge.flows.servicetrade_azuga import FLOW_ID

router = APIGatewayHttpRouter()
TAG = ["servicetrade-azuga"]
DATE = "the day (YYYY-MM-DD) in the connection's time zone"


def _connection(connection_id: str) -> Connection:
    tenant: Tenant = router.context["tenant"]
    return get_flow_connection(tenant.id, connection_id, FLOW_ID)


def _context(connection: Connection) -> Any:
    """The flow's clients, imported on first use (keeps httpx out of the API's cold start)."""
    from fleetbridge.flows.servicetrade_azuga.context import context_for

    return context_for(connection)


@router.get(
    "/connections/<connection_id>/reports/activity",
    summary="A day's activity report: one row per appointment and tech, with reasons",
    tags=TAG,
)
def activity_report(
    connection_id: str,
    date: Annotated[date, Query(description=DATE)],
    format: Annotated[Literal["json", "csv", "html"], Query()] = "json",
) -> Response[Any]:
    from fleetbridge.flows.servicetrade_azuga.report import activity_rows
    from fleetbridge.flows.servicetrade_azuga.report_render import CONTENT_TYPES, render

    connection = _connection(connection_id)
    with _context(connection) as ctx:
        title = f"{connection.name}: activity on {date.isoformat()}"
        meta = {"connection_id": connection_id, "date": date.isoformat()}
        body = "".join(render(format, activity_rows(ctx, date), title=title, meta=meta))
    headers = {}
    if format == "csv":
        name = f"activity-{connection_id}-{date.isoformat()}.csv"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(
        status_code=200,
        content_type=CONTENT_TYPES[format],
        body=body,
        headers=headers,
    )


@router.get(
    "/connections/<connection_id>/map",
    summary="A day's appointments (fence, status, tech) and the vehicles' last positions",
    tags=TAG,
)
def day_map(connection_id: str, date: Annotated[date, Query(description=DATE)]) -> Response[str]:
    from fleetbridge.flows.servicetrade_azuga.map_data import map_page

    connection = _connection(connection_id)
    with _context(connection) as ctx:
        page = map_page(ctx, date)
    return Response(status_code=200, content_type="text/html", body=page)
