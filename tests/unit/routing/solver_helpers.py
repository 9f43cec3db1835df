"""Small hand-made router inputs and accessors shared by the solver tests."""

from __future__ import annotations

from typing import Any

from fleetbridge.routing.engine import solve

T0 = "2025-01-01T08:00:00Z"
KM = 0.009  # ~1 km of longitude at the equator, in degrees


def at(seconds: float) -> str:
    """T0 plus `seconds`, as RFC 3339."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"2025-01-01T{8 + hours:02d}:{minutes:02d}:{secs:02d}Z"


def pos(km_east: float, km_north: float = 0.0) -> dict[str, float]:
    """A position `km_east` / `km_north` km from (0, 0)."""
    return {"lon": km_east * KM, "lat": km_north * KM}


def stop(ident: str, km_east: float, km_north: float = 0.0, **fields: Any) -> dict[str, Any]:
    """A stop at (km_east, km_north) with extra fields."""
    return {"id": ident, "position": pos(km_east, km_north), **fields}


def vehicle(ident: str, **fields: Any) -> dict[str, Any]:
    """A vehicle starting and ending at the origin unless told otherwise."""
    return {"id": ident, "start": pos(0), "end": pos(0), **fields}


def run(router_input: dict[str, Any], seconds: float | None = 1.0) -> dict[str, Any]:
    """Solve with a short time limit (None: the input's own)."""
    return solve(router_input, time_limit_s=seconds)


def route(answer: dict[str, Any], vehicle_id: str) -> list[str]:
    """Stop ids of a vehicle's route, start/end entries left out."""
    for veh in answer["state"]["vehicles"]:
        if veh["id"] == vehicle_id:
            return [s["id"] for s in veh["route"] if not s["id"].startswith(f"{vehicle_id}-")]
    raise KeyError(vehicle_id)


def entry(answer: dict[str, Any], stop_id: str) -> dict[str, Any]:
    """The route entry of a stop."""
    for veh in answer["state"]["vehicles"]:
        for step in veh["route"]:
            if step["id"] == stop_id:
                return dict(step)
    raise KeyError(stop_id)


def vehicle_of(answer: dict[str, Any], stop_id: str) -> str | None:
    """Which vehicle serves a stop (None: unassigned)."""
    for veh in answer["state"]["vehicles"]:
        if any(step["id"] == stop_id for step in veh["route"]):
            return str(veh["id"])
    return None


def unassigned(answer: dict[str, Any]) -> list[str]:
    """Ids of the unassigned stops."""
    return [s["id"] for s in answer["state"]["unassigned"]]
