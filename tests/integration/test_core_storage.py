"""Core storage rules on moto: conditional writes on `version`, and one rate limit shared by
every worker of an account."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from fleetbridge.core.errors import ConflictError
from fleetbridge.core.models import Connection, Mapping, iso, utcnow


def _connection() -> Connection:
    now = iso(utcnow())
    return Connection(
        id="con_storage0000001",
        tenant_id="ten_1",
        flow="fleetio-keycafe",
        name="storage",
        secret_arn="arn:secret",
        created_at=now,
        updated_at=now,
    )


def test_connection_save_is_conditional_on_the_version_read(aws: dict[str, Any]) -> None:
    from fleetbridge.core.connections import ConnectionRepository

    repository = ConnectionRepository()
    stored = repository.create(_connection())
    first = repository.save(stored.model_copy(update={"name": "first writer"}))
    assert first.version == 2
    with pytest.raises(ConflictError):
        repository.save(stored.model_copy(update={"name": "stale writer"}))
    assert repository.get(stored.id).name == "first writer"
    with pytest.raises(ConflictError):
        repository.create(_connection())


def test_mapping_new_and_versioned_writes(aws: dict[str, Any]) -> None:
    from fleetbridge.core.mappings import MappingRepository

    mappings = MappingRepository("con_storage0000001")
    draft = Mapping(
        connection_id="con_storage0000001",
        entity="vehicle_link",
        external_id="7",
        other_id="99",
        fingerprint="abc",
    )
    saved = mappings.save(draft)
    with pytest.raises(ConflictError):  # version 0 means "must be new"
        mappings.save(draft)
    assert mappings.find_by_other_id("vehicle_link", "99") == saved
    moved = mappings.save(saved.model_copy(update={"other_id": "100"}))
    with pytest.raises(ConflictError):
        mappings.save(saved.model_copy(update={"other_id": "101"}))
    with pytest.raises(ConflictError):
        mappings.delete(saved)
    mappings.delete(moved)
    assert mappings.get("vehicle_link", "7") is None


def test_mapping_claim_and_release(aws: dict[str, Any]) -> None:
    """Issue 13: one claim/release for every flow (a record being worked on)."""
    from fleetbridge.core.mappings import MappingRepository

    mappings = MappingRepository("con_storage0000001")
    claimed = mappings.claim("employee", "7", None, {"status": "creating"})
    assert claimed is not None and claimed.data == {"status": "creating"}
    assert mappings.claim("employee", "7", None, {"status": "creating"}) is None  # taken
    mappings.release(claimed)  # the claim made the mapping: it goes
    assert mappings.get("employee", "7") is None

    linked = mappings.save(
        Mapping(connection_id="", entity="assignment", external_id="9", data={"status": "ok"})
    )
    held = mappings.claim("assignment", "9", linked, {"claimed_at": "now"})
    assert held is not None and mappings.claim("assignment", "9", linked, {}) is None  # stale
    progress = mappings.save(held.model_copy(update={"data": {**held.data, "booking": 1}}))
    released = mappings.release(progress, keys=("claimed_at",))  # keeps what was saved
    assert released is not None and released.data == {"status": "ok", "booking": 1}
    again = mappings.claim("assignment", "9", released, {"claimed_at": "later"})
    assert again is not None
    mappings.release(again, released)  # back to the data before the claim
    assert mappings.get("assignment", "9").data == released.data  # type: ignore[union-attr]


def test_connection_state_record(aws: dict[str, Any]) -> None:
    from fleetbridge.core.mappings import ConnectionState, MappingRepository

    state = ConnectionState(MappingRepository("con_storage0000001"), "poll_cursor", "tasks")
    assert state.load() == {}
    assert state.update(cursor="a", paused_until="t") == {"cursor": "a", "paused_until": "t"}
    assert state.update(paused_until=None, runs=1) == {"cursor": "a", "runs": 1}  # None removes
    assert state.load() == {"cursor": "a", "runs": 1}


def test_shared_rate_limiter_spaces_calls_across_concurrent_workers(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four workers (separate limiter instances, as separate Lambdas would have) share the
    account's slots: 40 calls at 20/s never run faster than the limit."""
    from fleetbridge.core.ratelimit import RateLimit, SharedRateLimiter

    monkeypatch.setenv("FLEETBRIDGE_RATE_TIME_FACTOR", "1")
    limit = RateLimit(requests=20, per_seconds=1)
    stamps: list[float] = []
    lock = threading.Lock()
    # DynamoDB applies a conditional put atomically; moto in-process does not under threads
    # (two threads can both find a slot free on a loaded machine): serialise the claim call.
    claim = SharedRateLimiter._claim
    atomic = threading.Lock()

    def atomic_claim(self: SharedRateLimiter, slot: int) -> bool:
        with atomic:
            return claim(self, slot)

    monkeypatch.setattr(SharedRateLimiter, "_claim", atomic_claim)

    def worker() -> None:
        limiter = SharedRateLimiter("vendor:account-1", limit)
        for _ in range(10):
            limiter.acquire()
            with lock:
                stamps.append(time.time())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    assert len(stamps) == 40
    # The slots the workers claimed (what each call waited for): a loaded machine may wake a
    # thread late, so wall-clock stamps can bunch even though the claimed times never do.
    from fleetbridge.core.dynamo import table

    items = table(aws["env"]["DATA_TABLE"]).query(
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": "RATE#vendor:account-1"},
    )["Items"]
    starts = sorted(int(str(item["sk"]).split("#")[1]) * limit.slot_seconds() for item in items)
    assert len(starts) == 40
    busiest = max(sum(1 for s in starts if start <= s < start + 1.0) for start in starts)
    assert busiest <= 20, f"{busiest} slots in one second"
    assert stamps[-1] - stamps[0] >= 39 * (1 / 20) * 0.9  # paced, not bunched
