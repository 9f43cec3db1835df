"""Per-connection Driver Sync state: initial sync, last reconciliation, latest drift report.

Kept as one item beside the connection's mappings (entity `state`), written with the same
conditional versioning.
"""

from __future__ import annotations

from typing import Any

from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Mapping
from fleetbridge.flows.gpsinsight_driveri import STATE, STATE_ID


def load_state(mappings: MappingRepository) -> dict[str, Any]:
    """The connection's state (empty before the first reconciliation)."""
    item = mappings.get(STATE, STATE_ID)
    return dict(item.data) if item else {}


def update_state(mappings: MappingRepository, **changes: Any) -> dict[str, Any]:
    """Merge `changes` into the state; returns the new state."""
    item = mappings.get(STATE, STATE_ID) or Mapping(
        connection_id=mappings.connection_id, entity=STATE, external_id=STATE_ID
    )
    data = {**item.data, **changes}
    mappings.save(item.model_copy(update={"data": data}))
    return data
