"""`query_items` walks every page a DynamoDB query answers."""

from __future__ import annotations

from typing import Any

from fleetbridge.core.dynamo import query_items


class PagedTable:
    """Answers `query` the way DynamoDB does: a page of items and, while more are left, its
    `LastEvaluatedKey` (1 MB pages in DynamoDB; two items here)."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.queries: list[dict[str, Any]] = []

    def query(self, **query: Any) -> dict[str, Any]:
        self.queries.append(query)
        start = query.get("ExclusiveStartKey", {}).get("n", -1) + 1
        page = self.items[start : start + 2]
        if start + 2 >= len(self.items):
            return {"Items": page}
        return {"Items": page, "LastEvaluatedKey": {"n": page[-1]["n"]}}


def test_every_page_is_read_with_the_same_condition() -> None:
    table = PagedTable([{"n": n} for n in range(5)])
    assert [item["n"] for item in query_items(table, KeyConditionExpression="c")] == [0, 1, 2, 3, 4]
    assert [q.get("ExclusiveStartKey") for q in table.queries] == [None, {"n": 1}, {"n": 3}]
    assert all(q["KeyConditionExpression"] == "c" for q in table.queries)


def test_an_empty_answer_is_no_items() -> None:
    assert list(query_items(PagedTable([]))) == []
