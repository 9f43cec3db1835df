"""Azuga sandbox: vehicle positions (``POST /_sandbox/azuga/positions``) and the geofence alerts
they cause (``ENTERED_GEOFENCE`` / ``EXIT_GEOFENCE``), sent to the seeded alert webhooks."""

from __future__ import annotations

import math
from typing import Any

from local.sandboxes.azuga.base import (
    ENTERED,
    EXITED,
    AzugaBase,
    check_point,
    field_error,
    is_number,
)
from local.sandboxes.framework import Record, now_ms, parse_iso

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def inside(fence: Record, lat: float, lon: float) -> bool:
    """Whether the point is within the fence's circle."""
    distance = haversine_m(fence["latitude"], fence["longitude"], lat, lon)
    return distance <= float(fence["geofenceRadius"])


def location_time(value: Any) -> int:
    """Unix ms from ISO 8601 or a number of ms; now when missing."""
    if value is None:
        return now_ms()
    if is_number(value) and value >= 0:
        return int(value)
    parsed = parse_iso(value)
    if parsed is None:
        raise field_error(400, "at must be ISO 8601 or unix milliseconds", "at")
    return int(parsed.timestamp() * 1000)


def move(sb: AzugaBase, body: Record) -> dict[str, Any]:
    """``{"vehicleId", "lat", "lon", "at"?}``: the trackee's new last location, and one alert
    per geomark circle it entered or left since its previous location (none known: outside
    every circle). ``at`` is ISO 8601 or unix ms (default now). Alerts of one kind go out
    together as one list, each with ``eventType`` (azuga.md names the events but no field for
    them: an assumption); entries only where ``alertOnEntry`` is true. Answers
    ``{"trackee", "alerts"}``."""
    check_point(body.get("lat"), body.get("lon"), ("lat", "lon"))
    at = location_time(body.get("at"))
    with sb.lock:
        trackee = sb.get("trackees", body.get("vehicleId"))
        if trackee is None:
            raise field_error(404, f"no trackee {body.get('vehicleId')}", "vehicleId")
        before = trackee.get("lastLocation") or None
        lat, lon = float(body["lat"]), float(body["lon"])
        alerts = []
        for fence in sb.all("geomarks"):
            now_in = inside(fence, lat, lon)
            was_in = before is not None and inside(fence, before["latitude"], before["longitude"])
            if now_in == was_in or (now_in and not fence["alertOnEntry"]):
                continue
            alerts.append(
                {
                    "eventType": ENTERED if now_in else EXITED,
                    "vehicleId": trackee["id"],
                    "userId": trackee.get("assignedUserId"),
                    "fenceName": fence["name"],
                    "fenceId": fence["id"],
                    "location": {"latitude": lat, "longitude": lon},
                    "locationTime": at,
                }
            )
        trackee["lastLocation"] = {"latitude": lat, "longitude": lon, "locationTime": at}
        rendered = sb.render("trackees", trackee)
    for event in (ENTERED, EXITED):  # sent outside the lock: a synchronous sender may be slow
        batch = [a for a in alerts if a["eventType"] == event]
        if batch:
            sb.emit(event, batch)
    return {"trackee": rendered, "alerts": alerts}
