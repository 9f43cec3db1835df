"""Activity: every decision a flow takes, per connection, kept 90 days (DESIGN.md §2)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from fleetbridge.core.config import get_settings
from fleetbridge.core.dynamo import decode_cursor, encode_cursor, from_item, table, to_item
from fleetbridge.core.models import Action, ActivityRecord, Connection, iso, new_id, utcnow
from fleetbridge.core.observability import FAILED, SKIPPED, SYNCED, count, logger

RETENTION = timedelta(days=90)
#: the metric each decision counts toward (`notified` is an email, not a sync outcome)
METRIC_OF_ACTION = {
    "created": SYNCED,
    "updated": SYNCED,
    "deleted": SYNCED,
    "linked": SYNCED,
    "skipped": SKIPPED,
    "failed": FAILED,
}


class ActivityLog:
    """Append-only log: `CONNECTION#<id>` / `ACT#<at>#<id>`, expiring through the TTL attribute."""

    def __init__(self, table_name: str | None = None) -> None:
        self._table = table(table_name or get_settings().data_table)

    def record(
        self,
        connection: Connection,
        *,
        action: Action,
        entity: str,
        source_event: str,
        reason: str = "",
        vendor_ids: dict[str, Any] | None = None,
    ) -> ActivityRecord:
        """Store one decision and log it (without secrets: only ids and reasons)."""
        now = utcnow()
        entry = ActivityRecord(
            id=new_id("act"),
            connection_id=connection.id,
            at=iso(now),
            flow=connection.flow,
            source_event=source_event,
            entity=entity,
            action=action,
            reason=reason,
            vendor_ids=vendor_ids or {},
        )
        self._table.put_item(
            Item=to_item(
                {
                    "pk": f"CONNECTION#{connection.id}",
                    "sk": f"ACT#{entry.at}#{entry.id}",
                    "ttl": int((now + RETENTION).timestamp()),
                    **entry.model_dump(),
                }
            )
        )
        metric = METRIC_OF_ACTION.get(action)
        if metric:
            count(metric, flow=connection.flow, connection_id=connection.id)
        logger.info(
            "activity",
            extra={
                "connection_id": connection.id,
                "action": action,
                "entity": entity,
                "reason": reason,
                "source_event": source_event,
            },
        )
        return entry

    def list(
        self,
        connection_id: str,
        *,
        since: str | None = None,
        entity: str | None = None,
        action: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[ActivityRecord], str | None]:
        """Newest first; `since` is an ISO timestamp; returns (records, next cursor or None)."""
        condition: ConditionBase = Key("pk").eq(f"CONNECTION#{connection_id}")
        if since:
            condition &= Key("sk").between(f"ACT#{since}", "ACT#~")
        else:
            condition &= Key("sk").begins_with("ACT#")
        filters: ConditionBase | None = None
        if entity:
            filters = Attr("entity").eq(entity)
        if action:
            filters = (
                Attr("action").eq(action)
                if filters is None
                else filters & Attr("action").eq(action)
            )
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ScanIndexForward": False}
        if filters is not None:
            kwargs["FilterExpression"] = filters
        start = decode_cursor(cursor)
        if start is not None and not _own_cursor(start, connection_id):
            raise ValueError("malformed cursor")
        found: list[ActivityRecord] = []
        # A filter may empty a page: keep reading until the page is full or the log ends.
        while True:
            kwargs["Limit"] = 200 if filters is not None else limit - len(found)
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self._table.query(**kwargs)
            items = page["Items"]
            for position, item in enumerate(items):
                found.append(ActivityRecord.model_validate(from_item(item)))
                if len(found) == limit:
                    more = position < len(items) - 1 or "LastEvaluatedKey" in page
                    last = {"pk": item["pk"], "sk": item["sk"]}
                    return found, encode_cursor(last) if more else None
            start = page.get("LastEvaluatedKey")
            if not start:
                return found, None


def _own_cursor(start: Any, connection_id: str) -> bool:
    """A cursor this log issued for this connection: `{"pk", "sk"}` of one of its records."""
    return (
        isinstance(start, dict)
        and set(start) == {"pk", "sk"}
        and start["pk"] == f"CONNECTION#{connection_id}"
        and isinstance(start["sk"], str)
        and start["sk"].startswith("ACT#")
        and len(start["sk"]) <= 200
    )
