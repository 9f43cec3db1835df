"""Our bookings in Keycafe, found by their marker (docs/reliability.md).

Keycafe has no external reference field and no filter on accesses (keycafe.md): our bookings
are named `Fleetio · <vehicle> · assignment <id> · <connection id>`, and a booking whose answer
was lost (or whose worker was killed before it remembered it) is found by that name on the
access pages, oldest first, from the first page the daily reconciliation says can still hold an
unfinished booking of this connection. It is only looked for when a booking was started and
not remembered (the mapping's `booking_pending`), so a normal booking costs no extra call.

Keycafe lists accesses oldest first and a cancel keeps the access (it changes its status), so a
booking made after a scan saw page N is on page N or later: every scan remembers the last page
it read (`tail_page`), each intent records it (`scan_from`), and its lookup starts there instead
of reading the whole account again (1,000 bookings are 20 pages; Keycafe allows 60 calls/min).
"""

from __future__ import annotations

import re
from contextlib import suppress

from fleetbridge.core.errors import ConflictError
from fleetbridge.core.models import Mapping
from fleetbridge.flows.fleetio_keycafe.context import FlowContext
from fleetbridge.vendors.keycafe import Access

#: Our bookings are named `Fleetio · <vehicle> · assignment <id> · <connection id>` (Keycafe
#: has no external reference): the connection id tells our bookings from another connection's
#: on the same Keycafe account.
OUR_BOOKING = re.compile(r"^Fleetio · .* · assignment (\d+) · (\S+)$")
ACTIVE = "ACTIVE"
#: Mapping (entity, id) holding the first Keycafe access page the next run must read.
SCAN_STATE = ("keycafe_scan", "accesses")


def ours(access: Access, connection_id: str) -> re.Match[str] | None:
    """The name match when the booking belongs to this connection (None for anyone else's)."""
    match = OUR_BOOKING.match(access.name or "")
    return match if match and match.group(2) == connection_id else None


def scan_state(ctx: FlowContext) -> Mapping:
    """The connection's access-scan record: `first_page` (set by the reconciliation: the first
    page holding an unfinished booking of ours) and `tail_page` (the last page any scan read)."""
    return ctx.mappings.get(*SCAN_STATE) or Mapping(
        connection_id=ctx.connection.id, entity=SCAN_STATE[0], external_id=SCAN_STATE[1]
    )


def remember_scan(ctx: FlowContext, state: Mapping, **pages: int) -> None:
    """Save `pages` into the scan record. A hint only: a concurrent writer wins (both values
    only ever grow, and a smaller one just means reading a page more next time)."""
    data = state.data | pages
    if data != state.data:
        with suppress(ConflictError):
            ctx.mappings.save(state.model_copy(update={"data": data}))


def tail_page(ctx: FlowContext) -> int:
    """The page a booking started now will be on, or a later one (see the module docstring)."""
    data = scan_state(ctx).data
    return max(int(data.get("first_page", 1)), int(data.get("tail_page", 1)))


def our_accesses(ctx: FlowContext, page: int) -> tuple[list[tuple[int, Access]], int]:
    """This connection's accesses from `page` on, each with its page, and the last page read."""
    found: list[tuple[int, Access]] = []
    current: int | None = page
    last = page
    while current is not None:
        last = current
        items, next_page = ctx.keycafe.accesses_page(current)
        found += [(current, access) for access in items if ours(access, ctx.connection.id)]
        current = next_page
    return found, last


def find_booking(ctx: FlowContext, assignment_id: int, from_page: int = 1) -> Access | None:
    """This connection's active booking of `assignment_id` in Keycafe (the newest), if any,
    reading from `from_page` (the `tail_page` when the booking was started) or the first page
    that can hold an unfinished booking, whichever is later."""
    state = scan_state(ctx)
    accesses, last = our_accesses(ctx, max(from_page, int(state.data.get("first_page", 1))))
    found: Access | None = None
    for _, access in accesses:
        match = ours(access, ctx.connection.id)
        active = (access.status or ACTIVE).upper() == ACTIVE
        if match and active and int(match.group(1)) == assignment_id:
            found = access
    if last > int(state.data.get("tail_page", 0)):
        remember_scan(ctx, state, tail_page=last)
    return found
