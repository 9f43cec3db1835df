"""What carrying out a decision needs for one connection (injectable in tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from fleetbridge.core.activity import ActivityLog
from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Connection, utcnow
from fleetbridge.core.notifier import Notifier
from fleetbridge.flows.fleetio_keycafe.settings import FleetioKeycafeSettings
from fleetbridge.vendors.fleetio import FleetioClient
from fleetbridge.vendors.keycafe import KeycafeClient


@dataclass
class FlowContext:
    """What applying a decision needs, injectable for tests."""

    connection: Connection
    settings: FleetioKeycafeSettings
    fleetio: FleetioClient
    keycafe: KeycafeClient
    mappings: MappingRepository
    activity: ActivityLog = field(default_factory=ActivityLog)
    notifier: Notifier = field(default_factory=Notifier)
    clock: Callable[[], datetime] = utcnow
