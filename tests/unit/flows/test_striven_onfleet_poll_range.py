"""Issue 15 item 7: the poll's search range around daylight-saving changes (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fleetbridge.flows.striven_onfleet.poll import local_range, mark_instant

CHICAGO = ZoneInfo("America/Chicago")


def naive(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_repeated_autumn_hour_is_read_whole() -> None:
    # 1 Nov 2026: 02:00 CDT (07:00 UTC) becomes 01:00 CST
    start = datetime(2026, 11, 1, 6, 48, tzinfo=UTC)  # 01:48 CDT
    end = datetime(2026, 11, 1, 7, 5, tzinfo=UTC)  # 01:05 CST
    assert local_range(start, end, CHICAGO) == (
        naive("2026-11-01T01:00"),
        naive("2026-11-01T02:00"),
    )


def test_a_range_after_the_change_is_plain() -> None:
    start = datetime(2026, 11, 1, 7, 3, tzinfo=UTC)  # 01:03 CST
    end = datetime(2026, 11, 1, 7, 10, tzinfo=UTC)
    assert local_range(start, end, CHICAGO) == (
        naive("2026-11-01T01:03"),
        naive("2026-11-01T01:10"),
    )


def test_spring_forward_needs_nothing() -> None:
    # 8 Mar 2026: 02:00 CST (08:00 UTC) becomes 03:00 CDT
    start = datetime(2026, 3, 8, 7, 58, tzinfo=UTC)  # 01:58 CST
    end = datetime(2026, 3, 8, 8, 5, tzinfo=UTC)  # 03:05 CDT
    assert local_range(start, end, CHICAGO) == (
        naive("2026-03-08T01:58"),
        naive("2026-03-08T03:05"),
    )


def test_the_mark_is_an_instant_and_an_old_local_mark_is_read_in_the_zone() -> None:
    assert mark_instant("2026-11-01T07:05:00.000Z", CHICAGO) == datetime(
        2026, 11, 1, 7, 5, tzinfo=UTC
    )
    legacy = mark_instant("2026-06-01T09:00:00.000", CHICAGO)
    assert legacy.astimezone(UTC) == datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
