"""Our bookings in Keycafe, found by their marker (docs/reliability.md).

Keycafe has no external reference field and no filter on accesses (keycafe.md): our bookings
are named `Fleetio · <vehicle> · assignment <id> · <connection id>`, and a booking whose answer
was lost (or whose worker was killed before it remembered it) is found by that name on the
access pages, oldest first, from the first page the daily reconciliation says can still hold an
unfinished booking of this connection. It is only looked for when a booking was started and
not remembered (the mapping's `booking_pending`), so a normal booking costs no extra call.
"""

from __future__ import annotations

import re

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


def find_booking(ctx: FlowContext, assignment_id: int) -> Access | None:
    """This connection's active booking of `assignment_id` in Keycafe (the newest), if any."""
    state = ctx.mappings.get(*SCAN_STATE)
    page: int | None = int(state.data.get("first_page", 1)) if state else 1
    found: Access | None = None
    while page is not None:
        items, page = ctx.keycafe.accesses_page(page)
        for access in items:
            match = ours(access, ctx.connection.id)
            active = (access.status or ACTIVE).upper() == ACTIVE
            if match and active and int(match.group(1)) == assignment_id:
                found = access
    return found
