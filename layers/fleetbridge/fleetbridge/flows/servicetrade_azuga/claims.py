"""Claims on a mapping while its vendor writes happen, so two workers (or a redelivery racing
the first delivery) cannot write twice. Progress is saved as each vendor create answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fleetbridge.core.budget import claim_expiry
from fleetbridge.core.models import Mapping, iso
from fleetbridge.flows.servicetrade_azuga.context import FlowContext

#: A claim older than this is abandoned (its worker died); claims lapse with the invocation.
CLAIM_TIMEOUT = timedelta(minutes=5)
CLAIM_KEYS = ("claimed_at", "claim_expires_at")


class Busy(Exception):
    """Another worker holds the record: the message is retried later."""


class Claim:
    """A mapping while we hold it, as last saved (every save moves its version)."""

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping

    @property
    def data(self) -> dict[str, Any]:
        """The mapping's data without the claim."""
        return {k: v for k, v in self.mapping.data.items() if k not in CLAIM_KEYS}

    def save(self, ctx: FlowContext, data: dict[str, Any], **update: Any) -> None:
        """Merge `data` (and `update`: other_id, fingerprint) into the mapping, keeping the
        claim: called the moment a vendor create answers."""
        merged = {**self.mapping.data, **data}
        self.mapping = ctx.mappings.save(self.mapping.model_copy(update={"data": merged, **update}))

    def release(self, ctx: FlowContext) -> None:
        """Give the claim up, keeping what was saved under it."""
        ctx.mappings.release(self.mapping, keys=CLAIM_KEYS)


def claim(ctx: FlowContext, entity: str, key: str, mapping: Mapping | None) -> Claim:
    """Hold `entity`/`key` (Busy when another live claim or a concurrent write has it)."""
    now = ctx.clock()
    expires = mapping.data.get("claim_expires_at") if mapping is not None else None
    if expires and now < datetime.fromisoformat(expires):
        raise Busy(f"{entity} {key} is being processed")
    marks = {"claimed_at": iso(now), "claim_expires_at": iso(claim_expiry(now, CLAIM_TIMEOUT))}
    held = ctx.mappings.claim(entity, key, mapping, marks)
    if held is None:
        raise Busy(f"{entity} {key} changed concurrently")
    return Claim(held)
