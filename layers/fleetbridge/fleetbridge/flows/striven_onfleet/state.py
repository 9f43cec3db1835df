"""The connection's poll state: high-water mark, window re-check progress, day-quota pause.

One item beside the mappings (entity `poll_cursor`), written with the same conditional
versioning. Only the poll writes it (one poll per connection at a time: the schedule queues one
message per interval).
"""

from __future__ import annotations

from typing import Any

from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Mapping
from fleetbridge.flows.striven_onfleet import POLL_CURSOR, STATE_ID


def load_state(mappings: MappingRepository) -> dict[str, Any]:
    """The poll state (empty before the first poll)."""
    item = mappings.get(POLL_CURSOR, STATE_ID)
    return dict(item.data) if item else {}


def update_state(mappings: MappingRepository, **changes: Any) -> dict[str, Any]:
    """Merge `changes` into the state (None removes a key); returns the new state."""
    item = mappings.get(POLL_CURSOR, STATE_ID) or Mapping(
        connection_id=mappings.connection_id, entity=POLL_CURSOR, external_id=STATE_ID
    )
    data = {**item.data, **changes}
    data = {key: value for key, value in data.items() if value is not None}
    mappings.save(item.model_copy(update={"data": data}))
    return data
