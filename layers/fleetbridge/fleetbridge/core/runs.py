"""Runs (reconciliations, routing): status transitions with conditional writes on `version`."""

from __future__ import annotations

from typing import Any

from fleetbridge.core.config import get_settings
from fleetbridge.core.dynamo import conditional, from_item, table, to_item
from fleetbridge.core.errors import NotFoundError
from fleetbridge.core.models import Run, iso, new_id, utcnow


class RunRepository:
    """The Runs table, keyed by run id."""

    def __init__(self, table_name: str | None = None) -> None:
        self._table = table(table_name or get_settings().runs_table)

    def create(self, *, tenant_id: str, kind: str, **fields: Any) -> Run:
        """A new queued run."""
        now = iso(utcnow())
        run = Run(
            id=new_id("run"),
            tenant_id=tenant_id,
            kind=kind,
            created_at=now,
            updated_at=now,
            **fields,
        )
        with conditional(f"run {run.id} already exists"):
            self._table.put_item(
                Item=to_item(run.model_dump()), ConditionExpression="attribute_not_exists(id)"
            )
        return run

    def get(self, run_id: str, *, tenant_id: str | None = None) -> Run:
        """The run; with `tenant_id`, another tenant's run is reported as not found."""
        item = self._table.get_item(Key={"id": run_id}).get("Item")
        run = Run.model_validate(from_item(item)) if item else None
        if run is None or (tenant_id is not None and run.tenant_id != tenant_id):
            raise NotFoundError(f"run {run_id} not found")
        return run

    def save(self, run: Run) -> Run:
        """Write changes if the stored version is still `run.version`; ConflictError otherwise."""
        updated = run.model_copy(update={"version": run.version + 1, "updated_at": iso(utcnow())})
        with conditional(f"run {run.id} was changed concurrently"):
            self._table.put_item(
                Item=to_item(updated.model_dump()),
                ConditionExpression="version = :expected",
                ExpressionAttributeValues={":expected": run.version},
            )
        return updated
