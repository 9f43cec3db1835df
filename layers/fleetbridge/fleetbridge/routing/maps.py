"""Maps of a solved run (issue 7, §9): GeoJSON, and a self-contained SVG. Standard library only.

- Each vehicle's line runs start → route positions → end (start/end from the vehicle, else
  `defaults.vehicles`); consecutive repeats are dropped, so a solver listing the start or end
  as a route entry draws the same line. Fewer than two distinct points draw no line.
- Points: every routed stop (id, vehicle, 1-based sequence, estimated arrival/service/departure),
  each vehicle's start and end, and every unassigned stop (`"unassigned": true`).
- Colours: one per vehicle in the router input's order (a 9-colour palette, then golden-angle
  hues); unassigned stops are black crosses. GeoJSON properties follow the simplestyle spec
  (`stroke`, `marker-color`, `marker-symbol`) so common viewers colour them.
- SVG: equirectangular projection (x = lon · cos(mid latitude), y = lat, north up) fitted to the
  bounding box with a margin; stops are circles in the vehicle colour, starts squares, ends
  hollow squares, unassigned crosses; a legend lists vehicles (with stop counts) and unassigned.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

__all__ = ["routes_geojson", "routes_svg", "vehicle_color"]

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
)
UNASSIGNED_COLOR = "#000000"
Point = tuple[float, float]  # (lon, lat)


def vehicle_color(index: int) -> str:
    """A distinct colour for the vehicle at `index` (palette first, then golden-angle hues)."""
    if index < len(PALETTE):
        return PALETTE[index]
    hue = (index - len(PALETTE)) * 0.618033988749895 % 1.0
    red, green, blue = colorsys.hls_to_rgb(hue, 0.45, 0.75)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


@dataclass
class _Routed:
    id: str
    point: Point
    sequence: int
    times: dict[str, Any]


@dataclass
class _VehiclePlan:
    id: str
    color: str
    start: Point | None
    end: Point | None
    line: list[Point] = field(default_factory=list)
    stops: list[_Routed] = field(default_factory=list)
    distance: Any = None
    duration: Any = None


def _point(position: Any) -> Point | None:
    if isinstance(position, Mapping) and "lon" in position and "lat" in position:
        return (float(position["lon"]), float(position["lat"]))
    return None


def _plan(
    router_input: Mapping[str, Any], state: Mapping[str, Any]
) -> tuple[list[_VehiclePlan], list[tuple[str, Point]]]:
    """Per vehicle its colour, line and stops; and the unassigned stops with a position."""
    stops = {
        s["id"]: s for key in ("stops", "alternate_stops") for s in router_input.get(key) or ()
    }
    known = {v["id"]: v for v in router_input.get("vehicles") or ()}
    order = list(known) + [v["id"] for v in state.get("vehicles") or () if v["id"] not in known]
    colors = {vehicle_id: vehicle_color(i) for i, vehicle_id in enumerate(order)}
    fallback = (router_input.get("defaults") or {}).get("vehicles") or {}
    plans = []
    for solved in state.get("vehicles") or ():
        given = known.get(solved["id"], {})
        plan = _VehiclePlan(
            id=solved["id"],
            color=colors[solved["id"]],
            start=_point(given.get("start") or fallback.get("start")),
            end=_point(given.get("end") or fallback.get("end")),
            distance=solved.get("route_distance"),
            duration=solved.get("route_duration"),
        )
        line = [plan.start] if plan.start else []
        for entry in solved.get("route") or ():
            point = _point(entry.get("position")) or _point(
                stops.get(entry["id"], {}).get("position")
            )
            if point is None:
                continue
            line.append(point)
            if entry["id"] in stops:
                times = {k: v for k, v in entry.items() if k.startswith("estimated_")}
                plan.stops.append(_Routed(entry["id"], point, len(plan.stops) + 1, times))
        line += [plan.end] if plan.end else []
        plan.line = [p for i, p in enumerate(line) if i == 0 or p != line[i - 1]]
        plans.append(plan)
    unassigned = []
    for entry in state.get("unassigned") or ():
        point = _point(entry.get("position")) or _point(stops.get(entry["id"], {}).get("position"))
        if point is not None:
            unassigned.append((entry["id"], point))
    return plans, unassigned


# ----------------------------------------------------------------------------- GeoJSON
def _feature(geometry: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _geo_point(point: Point) -> dict[str, Any]:
    return {"type": "Point", "coordinates": list(point)}


def routes_geojson(router_input: Mapping[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
    """A FeatureCollection: a LineString per vehicle route, Points for stops, ends, unassigned."""
    plans, unassigned = _plan(router_input, state)
    features = []
    for plan in plans:
        if len(plan.line) >= 2:
            line = {"type": "LineString", "coordinates": [list(p) for p in plan.line]}
            props = {"kind": "route", "vehicle": plan.id, "stops": len(plan.stops)}
            props |= {"route_distance": plan.distance, "route_duration": plan.duration}
            features.append(_feature(line, props | {"stroke": plan.color, "stroke-width": 3}))
        for kind, point in (("start", plan.start), ("end", plan.end)):
            if point is not None:
                props = {"kind": kind, "vehicle": plan.id, "marker-color": plan.color}
                features.append(_feature(_geo_point(point), props | {"marker-symbol": kind[0]}))
        for stop in plan.stops:
            props = {"kind": "stop", "id": stop.id, "vehicle": plan.id, "sequence": stop.sequence}
            props |= stop.times | {"unassigned": False, "marker-color": plan.color}
            features.append(_feature(_geo_point(stop.point), props))
    for stop_id, point in unassigned:
        props = {"kind": "unassigned", "id": stop_id, "unassigned": True}
        props |= {"marker-color": UNASSIGNED_COLOR, "marker-symbol": "cross"}
        features.append(_feature(_geo_point(point), props))
    return {"type": "FeatureCollection", "features": features}


# ----------------------------------------------------------------------------- SVG
LEGEND_WIDTH = 190
MARGIN = 24


def _projection(
    points: list[Point], width: float, height: float, offset: float = 0
) -> Callable[[Point], tuple[float, float]]:
    """lon/lat → SVG x/y: equirectangular at the mid latitude, fitted and centred, north up."""
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    squeeze = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * squeeze, 1e-9)
    span_y = max(max(lats) - min(lats), 1e-9)
    scale = min((width - 2 * MARGIN) / span_x, (height - 2 * MARGIN) / span_y)
    if max(lons) == min(lons) and max(lats) == min(lats):
        scale = 1.0  # one point: no extent to fit, draw it in the middle
    left = MARGIN + ((width - 2 * MARGIN) - (max(lons) - min(lons)) * squeeze * scale) / 2
    top = offset + MARGIN + ((height - 2 * MARGIN) - (max(lats) - min(lats)) * scale) / 2

    def project(point: Point) -> tuple[float, float]:
        return (
            left + (point[0] - min(lons)) * squeeze * scale,
            top + (max(lats) - point[1]) * scale,
        )

    return project


def _xy(values: tuple[float, float]) -> str:
    return f"{values[0]:.1f},{values[1]:.1f}"


def routes_svg(
    router_input: Mapping[str, Any],
    state: Mapping[str, Any],
    *,
    width: int = 800,
    height: int = 600,
    title: str | None = None,
) -> str:
    """A self-contained SVG picture of the routes (one colour per vehicle, unassigned crosses)."""
    plans, unassigned = _plan(router_input, state)
    map_width = max(width - LEGEND_WIDTH, 100)
    points = [p for plan in plans for p in plan.line] + [p for _, p in unassigned]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    if title:
        out.append(f'<text x="{MARGIN}" y="16" font-weight="bold">{escape(title)}</text>')
    if not points:
        out.append(f'<text x="{MARGIN}" y="{height / 2:.0f}">no positions to draw</text>')
    else:
        top = 20 if title else 0  # keep the title clear of the map
        project = _projection(points, map_width, height - top, top)
        for plan in plans:
            color = quoteattr(plan.color)
            if len(plan.line) >= 2:
                path = " ".join(_xy(project(p)) for p in plan.line)
                out.append(
                    f'<polyline points="{path}" fill="none" stroke={color} stroke-width="2.5" '
                    'stroke-linejoin="round" stroke-opacity="0.85"/>'
                )
            # the end (hollow, larger) first: a start at the same place stays visible inside it
            for kind, point, size in (("end", plan.end, 12), ("start", plan.start, 7)):
                if point is not None:
                    x, y = project(point)
                    fill = color if kind == "start" else '"#ffffff"'
                    out.append(
                        f'<rect x="{x - size / 2:.1f}" y="{y - size / 2:.1f}" width="{size}" '
                        f'height="{size}" fill={fill} stroke={color} stroke-width="2">'
                        f"<title>{escape(f'{plan.id} {kind}')}</title></rect>"
                    )
            for stop in plan.stops:
                x, y = project(stop.point)
                arrival = stop.times.get("estimated_arrival")
                tip = f"{stop.id}: {plan.id} #{stop.sequence}" + (f", {arrival}" if arrival else "")
                out.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill={color} stroke="#ffffff" '
                    f'stroke-width="1"><title>{escape(tip)}</title></circle>'
                )
        for stop_id, point in unassigned:
            x, y = project(point)
            out.append(
                f'<path class="unassigned" d="M{x - 5:.1f},{y - 5:.1f}L{x + 5:.1f},{y + 5:.1f}'
                f'M{x - 5:.1f},{y + 5:.1f}L{x + 5:.1f},{y - 5:.1f}" stroke="{UNASSIGNED_COLOR}" '
                f'stroke-width="2.5"><title>{escape(f"{stop_id}: unassigned")}</title></path>'
            )
    out += _legend(plans, len(unassigned), map_width, height)
    out.append("</svg>")
    return "\n".join(out)


def _count(stops: int) -> str:
    return f"{stops} stop" if stops == 1 else f"{stops} stops"


def _legend(plans: list[_VehiclePlan], unassigned: int, left: float, height: int) -> list[str]:
    x, y = left + 12, MARGIN
    rows = [f'<g class="legend"><text x="{x:.0f}" y="{y}" font-weight="bold">Vehicles</text>']
    room = max(int((height - 2 * MARGIN) / 18) - 3, 1)  # rows left for vehicles
    shown = plans if len(plans) <= room else plans[: room - 1]
    for plan in shown:
        y += 18
        rows.append(
            f'<line x1="{x:.0f}" y1="{y - 4}" x2="{x + 18:.0f}" y2="{y - 4}" '
            f'stroke={quoteattr(plan.color)} stroke-width="4"/>'
            f'<text x="{x + 24:.0f}" y="{y}">{escape(plan.id)} ({_count(len(plan.stops))})</text>'
        )
    if len(shown) < len(plans):
        y += 18
        rows.append(f'<text x="{x + 24:.0f}" y="{y}">and {len(plans) - len(shown)} more</text>')
    y += 18
    rows.append(
        f'<path d="M{x + 4:.0f},{y - 9}L{x + 14:.0f},{y + 1}M{x + 4:.0f},{y + 1}'
        f'L{x + 14:.0f},{y - 9}" stroke="{UNASSIGNED_COLOR}" stroke-width="2.5"/>'
        f'<text x="{x + 24:.0f}" y="{y}">unassigned ({unassigned})</text></g>'
    )
    return rows
