"""Rule 6, daily: yesterday's activity report emailed to `admin_emails` through the notifier,
once a day (the day sent is kept in the connection state), from the daily reconciliation.

The email carries a count per reason and the report as CSV (text body; the HTML body shows it
preformatted: the notifier escapes every value). The email is one message, so it holds the CSV.
"""

from __future__ import annotations

from collections import Counter
from contextlib import suppress
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fleetbridge.core.errors import ConflictError
from fleetbridge.core.models import Connection
from fleetbridge.core.notifier import EmailTemplate, register_template
from fleetbridge.flows.servicetrade_azuga.context import FlowContext, context_for
from fleetbridge.flows.servicetrade_azuga.report import activity_rows
from fleetbridge.flows.servicetrade_azuga.report_render import render_csv
from fleetbridge.flows.servicetrade_azuga.report_rows import ReportRow

TEMPLATE = "servicetrade_azuga_activity_report"
SENT_KEY = "activity_report_sent_for"

register_template(
    TEMPLATE,
    EmailTemplate(
        subject="[fleetbridge] $connection_name: ServiceTrade ↔ Azuga activity on $date",
        text="Activity on $date: $rows rows.\n\n$summary\n\nReport (CSV):\n$csv\n"
        "Also at GET /connections/$connection_id/reports/activity?date=$date&format=html\n",
        html="<p>Activity on <b>$date</b>: $rows rows.</p><pre>$summary</pre>"
        "<pre style='font-size:12px'>$csv</pre>"
        "<p>Also at GET /connections/$connection_id/reports/activity?date=$date&amp;format=html"
        "</p>",
    ),
)


def _counted(rows: Any, reasons: Counter[str]) -> Any:
    """The rows, counting their reasons on the way (the CSV is built in one pass)."""
    row: ReportRow
    for row in rows:
        reasons.update(r.split(":", 1)[0] for r in row.reasons)
        reasons["rows"] += 1
        yield row


def email_report(ctx: FlowContext, day: date, *, source: str) -> str | None:
    """Email `day`'s report to the admins; the SES message id (None: nobody to tell)."""
    reasons: Counter[str] = Counter()
    table = "".join(render_csv(_counted(activity_rows(ctx, day), reasons)))
    rows = reasons.pop("rows", 0)
    summary = "\n".join(f"{reason}: {n}" for reason, n in sorted(reasons.items())) or "no failures"
    return ctx.notifier.send(
        ctx.connection,
        list(ctx.settings.admin_emails),
        TEMPLATE,
        {
            "date": day.isoformat(),
            "rows": rows,
            "summary": summary,
            "csv": table,
            "connection_id": ctx.connection.id,
        },
        entity=f"activity report {day.isoformat()}",
        source_event=source,
    )


def send_daily_report(connection: Connection, day: date) -> str | None:
    """Email `day`'s report for `connection` now (whatever was sent before)."""
    with context_for(connection) as ctx:
        return email_report(ctx, day, source="daily_report")


def send_due_report(ctx: FlowContext, *, source: str = "daily_reconciliation") -> date | None:
    """The daily hook: yesterday's report (connection's zone) unless it was sent already;
    returns the day sent (None: already sent)."""
    today = ctx.clock().astimezone(ZoneInfo(ctx.settings.time_zone)).date()
    day = today - timedelta(days=1)
    if ctx.state().load().get(SENT_KEY) == day.isoformat():
        return None
    email_report(ctx, day, source=source)
    with suppress(ConflictError):  # a concurrent run sent it too: at worst one email more
        ctx.state().update(**{SENT_KEY: day.isoformat()})
    return day
