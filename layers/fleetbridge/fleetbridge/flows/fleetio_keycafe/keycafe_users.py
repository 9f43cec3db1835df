"""Which Keycafe user a driver is: looked up in the account's user list, cached per worker."""

from __future__ import annotations

from datetime import datetime, timedelta

from fleetbridge.core.phones import normalize_phone
from fleetbridge.flows.fleetio_keycafe.context import FlowContext
from fleetbridge.flows.fleetio_keycafe.rules import Driver
from fleetbridge.vendors.keycafe import User

USER_DIRECTORY_TTL = timedelta(minutes=5)
_user_directory: dict[str, tuple[datetime, dict[str, User]]] = {}


def find_keycafe_user(ctx: FlowContext, driver: Driver) -> User | None:
    """The driver's Keycafe account: by email, else by mobile phone (both sides in E.164,
    national numbers read in the connection's `default_region`).

    The account's user list is read once and cached for a few minutes, so a burst of bookings
    costs one Keycafe call per 50 users instead of one per booking.
    """
    directory = _directory(ctx)
    if driver.email and driver.email.lower() in directory:
        return directory[driver.email.lower()]
    mobile = normalize_phone(driver.mobile, ctx.settings.default_region)
    return directory.get(mobile) if mobile else None  # an unparsable mobile matches no one


def _directory(ctx: FlowContext) -> dict[str, User]:
    cache_key = ctx.connection.id
    now = ctx.clock()
    cached = _user_directory.get(cache_key)
    if cached and now - cached[0] < USER_DIRECTORY_TTL:
        return cached[1]
    directory: dict[str, User] = {}
    for user in ctx.keycafe.iter_users():
        if user.email:
            directory[user.email.lower()] = user
        mobile = normalize_phone(user.mobile, ctx.settings.default_region)
        if mobile:  # E.164 keys: "(312) 555-0107" and "+1 312-555-0107" are one phone
            directory[mobile] = user
    _user_directory[cache_key] = (now, directory)
    return directory


def lookup_keycafe_user(ctx: FlowContext, driver: Driver) -> User | None:
    """Ask Keycafe (`GET /user?query=`) for a driver the cached directory missed.

    A user created in Keycafe since the directory was read would otherwise be booked as a
    guest (one-time code) instead of as themselves (phone + PIN). One call per email or
    mobile, only on a miss; a hit is added to the cached directory.
    """
    for query in (driver.email, driver.mobile):
        if not query:
            continue
        user = ctx.keycafe.find_user(query)
        if user is not None:
            cached = _user_directory.get(ctx.connection.id)
            if cached is not None and user.email:
                cached[1][user.email.lower()] = user
            return user
    return None
