"""The drift report of a reconciliation: per driver, what differed and what was done.

Stored in the results bucket as JSON and CSV under `drift-reports/<connection id>/`, one copy
per run and one named `latest`. Drivers that were in line are only counted (`summary`), so the
report stays small however many drivers the fleet has.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fleetbridge.core.results import get_result, put_result
from fleetbridge.flows.gpsinsight_driveri.rules import Decision, Planned

CSV_COLUMNS = (
    "portal_driver_id",
    "driveri_driver_id",
    "action",
    "reason",
    "field",
    "portal_value",
    "driveri_value",
    "message",
)
QUIET = frozenset({"unchanged", "in_line"})


def report_key(connection_id: str, name: str, extension: str) -> str:
    """Where a report is stored (`name` is the run's timestamp or `latest`)."""
    return f"drift-reports/{connection_id}/{name}.{extension}"


@dataclass
class DriftReport:
    """Collects one reconciliation's lines; `to_json` / `to_csv` render it."""

    connection_id: str
    run_at: str
    dry_run: bool
    source_event: str
    complete: bool = True
    summary: Counter[str] = field(default_factory=Counter)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, planned: Planned, done: Decision) -> dict[str, Any] | None:
        """Count the line; keep it when something differed or was (or would be) done."""
        self.summary[f"{done.action}:{done.reason}"] += 1
        if done.reason in QUIET and not planned.decision.differences:
            return None
        row = {
            "portal_driver_id": planned.portal_id,
            "driveri_driver_id": done.driveri_id or planned.driveri_id,
            "action": done.action,
            "reason": done.reason,
            "differences": [
                {"field": d.field, "portal": d.portal, "driveri": d.driveri}
                for d in planned.decision.differences
            ],
            "notes": dict(done.notes),
        }
        self.rows.append(row)
        return row

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-able data."""
        return {
            "connection_id": self.connection_id,
            "run_at": self.run_at,
            "dry_run": self.dry_run,
            "source_event": self.source_event,
            "complete": self.complete,
            "summary": dict(sorted(self.summary.items())),
            "drivers": self.rows,
        }

    def to_csv(self) -> str:
        """One line per differing field (one line with no field when nothing differed)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            base = {
                "portal_driver_id": row["portal_driver_id"] or "",
                "driveri_driver_id": row["driveri_driver_id"] or "",
                "action": row["action"],
                "reason": row["reason"],
                "message": row["notes"].get("message", ""),
            }
            for diff in row["differences"] or [{"field": "", "portal": "", "driveri": ""}]:
                writer.writerow(
                    {
                        **base,
                        "field": diff["field"],
                        "portal_value": "" if diff["portal"] is None else diff["portal"],
                        "driveri_value": "" if diff["driveri"] is None else diff["driveri"],
                    }
                )
        return buffer.getvalue()

    def store(self) -> dict[str, str]:
        """Write JSON and CSV, this run's copy and `latest`; returns the keys."""
        stamp = self.run_at.replace(":", "").replace("-", "")
        body, table = json.dumps(self.to_json(), indent=1, default=str), self.to_csv()
        keys = {}
        for name in (stamp, "latest"):
            keys[f"{name}_json"] = put_result(
                report_key(self.connection_id, name, "json"), body, "application/json"
            )
            keys[f"{name}_csv"] = put_result(
                report_key(self.connection_id, name, "csv"), table, "text/csv"
            )
        return {"json": keys[f"{stamp}_json"], "csv": keys[f"{stamp}_csv"]}


def latest_report(connection_id: str, extension: str) -> bytes | None:
    """The latest stored report (`json` or `csv`), or None before the first run."""
    return get_result(report_key(connection_id, "latest", extension))
