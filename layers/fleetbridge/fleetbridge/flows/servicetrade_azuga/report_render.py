"""The activity report as JSON, CSV (stdlib `csv`) and HTML (a plain, escaped table).

Each renderer takes the rows as an iterable and yields text piece by piece, so a caller that can
stream (a file, a socket) never holds the whole report; the API joins the pieces (a Lambda
answer is one body anyway).
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from fleetbridge.flows.servicetrade_azuga.report_rows import COLUMNS, ReportRow

CONTENT_TYPES = {"json": "application/json", "csv": "text/csv", "html": "text/html"}


def render_json(rows: Iterable[ReportRow], meta: dict[str, Any]) -> Iterator[str]:
    """`{...meta, "columns": [...], "rows": [{column: cell, ..., "Reasons": [...]}]}`."""
    head = json.dumps({**meta, "columns": list(COLUMNS)})
    yield head[:-1] + ', "rows": ['
    for position, row in enumerate(rows):
        yield ("," if position else "") + json.dumps(row.to_json())
    yield "]}"


def render_csv(rows: Iterable[ReportRow]) -> Iterator[str]:
    """A header of exactly `COLUMNS`, then one line per row (failures say why in their cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for values in ([*COLUMNS], *([row.cells[c] for c in COLUMNS] for row in rows)):
        writer.writerow(values)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def render_html(rows: Iterable[ReportRow], title: str) -> Iterator[str]:
    """A self-contained page with one table; every value escaped."""
    yield (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}"
        "td.failed{color:#b00}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><table class='activity-report'><thead><tr>"
    )
    yield "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS) + "</tr></thead><tbody>"
    for row in rows:
        cells = []
        for column in COLUMNS:
            value = row.cells[column]
            failed = " class='failed'" if "no: " in value else ""
            if column == "Quick Link" and value:
                link = html.escape(value)
                cells.append(f"<td><a href='{link}'>{link}</a></td>")
            else:
                cells.append(f"<td{failed}>{html.escape(value)}</td>")
        yield "<tr>" + "".join(cells) + "</tr>"
    yield "</tbody></table></body></html>"


def render(
    format: str, rows: Iterable[ReportRow], *, title: str, meta: dict[str, Any]
) -> Iterator[str]:
    """The report in `format` (json, csv or html)."""
    if format == "csv":
        return render_csv(rows)
    if format == "html":
        return render_html(rows, title)
    return render_json(rows, meta)
