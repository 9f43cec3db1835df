"""Rule 8, the day's map: appointments (fence, status, tech) and the vehicles' last known
positions on one self-contained HTML page (inline SVG, no script, nothing fetched elsewhere).

Positions are projected equirectangularly around the mean latitude, which is exact enough at a
city's or a region's scale; fences are drawn at their true radius (plus a dot at the centre so a
small fence on a wide map still shows). The page holds the day's points: memory grows with the
appointments of one day, which a map shows anyway.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from dataclasses import dataclass

WIDTH = 1000.0
MAX_HEIGHT = 700.0
PAD = 40.0
METRES_PER_DEGREE = 111_320.0
STATUS_COLORS = {
    "scheduled": "#1f77b4",
    "completed": "#2ca02c",
    "unscheduled": "#ff7f0e",
    "no_show": "#d62728",
    "canceled_by_vendor": "#7f7f7f",
    "canceled_by_customer": "#7f7f7f",
}
OTHER_COLOR = "#9467bd"
VEHICLE_COLOR = "#111111"


@dataclass(frozen=True)
class Spot:
    """An appointment on the map."""

    appointment_id: str
    status: str
    techs: str
    lat: float
    lon: float
    radius_m: float
    place: str = ""


@dataclass(frozen=True)
class Van:
    """A vehicle's last known position."""

    vehicle_id: str
    name: str
    lat: float
    lon: float
    seen: str = ""


class Projection:
    """Degrees → SVG units: every point (and fence) inside a `WIDTH`-wide box."""

    def __init__(self, points: list[tuple[float, float, float]]) -> None:
        lats = [p[0] for p in points] or [0.0]
        self.cos = max(math.cos(math.radians(sum(lats) / len(lats))), 0.01)
        xs = [self._x(lon) for _, lon, _ in points] or [0.0]
        ys = [self._y(lat) for lat, _, _ in points] or [0.0]
        margin = max([r for *_, r in points] or [0.0]) + 1.0
        x_span = max(xs) - min(xs) + 2 * margin
        y_span = max(ys) - min(ys) + 2 * margin
        # the whole area fits the box (at most MAX_HEIGHT high), centred across
        self.scale = min((WIDTH - 2 * PAD) / x_span, (MAX_HEIGHT - 2 * PAD) / y_span)
        self.x0 = min(xs) - margin - ((WIDTH - 2 * PAD) / self.scale - x_span) / 2
        self.y0 = min(ys) - margin
        self.height = y_span * self.scale + 2 * PAD

    def _x(self, lon: float) -> float:
        return lon * METRES_PER_DEGREE * self.cos

    def _y(self, lat: float) -> float:
        return -lat * METRES_PER_DEGREE

    def point(self, lat: float, lon: float) -> tuple[float, float]:
        """SVG coordinates of a position."""
        return (
            PAD + (self._x(lon) - self.x0) * self.scale,
            PAD + (self._y(lat) - self.y0) * self.scale,
        )


def color(status: str) -> str:
    """The fill of an appointment of `status`."""
    return STATUS_COLORS.get(status, OTHER_COLOR)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _svg(spots: list[Spot], vans: list[Van]) -> str:
    points = [(s.lat, s.lon, s.radius_m) for s in spots] + [(v.lat, v.lon, 0.0) for v in vans]
    proj = Projection(points)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='map' width='{WIDTH:.0f}' "
        f"height='{proj.height:.0f}' viewBox='0 0 {WIDTH:.0f} {proj.height:.0f}' "
        "style='background:#f4f6f8;border:1px solid #ccc'>"
    ]
    for s in spots:
        x, y = proj.point(s.lat, s.lon)
        fill = color(s.status)
        parts.append(
            f"<g class='appointment' data-id='{_e(s.appointment_id)}' data-status='{_e(s.status)}'>"
            f"<title>{_e(s.appointment_id)} {_e(s.status)} {_e(s.techs)}</title>"
            f"<circle class='fence' cx='{x:.1f}' cy='{y:.1f}' r='{s.radius_m * proj.scale:.1f}' "
            f"fill='{fill}' fill-opacity='0.25' stroke='{fill}'/>"
            f"<circle cx='{x:.1f}' cy='{y:.1f}' r='4' fill='{fill}'/>"
            f"<text class='appointment-label' x='{x + 7:.1f}' y='{y - 6:.1f}' font-size='13'>"
            f"{_e(s.techs or 'no tech')} (#{_e(s.appointment_id)})</text></g>"
        )
    for v in vans:
        x, y = proj.point(v.lat, v.lon)
        parts.append(
            f"<g class='vehicle' data-id='{_e(v.vehicle_id)}'><title>{_e(v.name)}</title>"
            f"<rect x='{x - 6:.1f}' y='{y - 6:.1f}' width='12' height='12' "
            f"fill='{VEHICLE_COLOR}' transform='rotate(45 {x:.1f} {y:.1f})'/>"
            f"<text class='vehicle-label' x='{x + 9:.1f}' y='{y + 16:.1f}' font-size='12'>"
            f"{_e(v.name)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _legend(statuses: Iterable[str]) -> str:
    items = [
        f"<li><span class='swatch' style='background:{color(s)}'></span>{_e(s)}</li>"
        for s in sorted(set(statuses))
    ]
    items.append(f"<li><span class='swatch' style='background:{VEHICLE_COLOR}'></span>vehicle</li>")
    return "<ul class='legend'>" + "".join(items) + "</ul>"


def _tables(spots: list[Spot], vans: list[Van]) -> str:
    rows = "".join(
        f"<tr><td>{_e(s.appointment_id)}</td><td>{_e(s.status)}</td><td>{_e(s.techs)}</td>"
        f"<td>{_e(s.place)}</td><td>{s.lat:.5f}, {s.lon:.5f}</td><td>{s.radius_m:.0f}</td></tr>"
        for s in spots
    )
    van_rows = "".join(
        f"<tr><td>{_e(v.vehicle_id)}</td><td>{_e(v.name)}</td>"
        f"<td>{v.lat:.5f}, {v.lon:.5f}</td><td>{_e(v.seen)}</td></tr>"
        for v in vans
    )
    return (
        "<h2>Appointments</h2><table class='appointments'><thead><tr><th>Appointment</th>"
        "<th>Status</th><th>Tech</th><th>Location</th><th>Position</th><th>Fence (m)</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
        "<h2>Vehicles</h2><table class='vehicles'><thead><tr><th>Vehicle</th><th>Name</th>"
        f"<th>Last position</th><th>Seen</th></tr></thead><tbody>{van_rows}</tbody></table>"
    )


def render_map(title: str, spots: list[Spot], vans: list[Van], note: str = "") -> str:
    """The whole page (`note`: e.g. why the vehicles are missing)."""
    empty = "<p class='empty'>No appointment or vehicle to show.</p>" if not spots + vans else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>body{{font-family:sans-serif;margin:16px}}"
        "table{border-collapse:collapse;margin-bottom:16px}td,th{border:1px solid #ccc;"
        "padding:2px 6px;font-size:13px}.legend{list-style:none;padding:0;display:flex;gap:16px}"
        ".swatch{display:inline-block;width:12px;height:12px;margin-right:4px}</style>"
        f"</head><body><h1>{_e(title)}</h1>"
        + (f"<p class='note'>{_e(note)}</p>" if note else "")
        + _legend(s.status for s in spots)
        + (empty or _svg(spots, vans))
        + _tables(spots, vans)
        + "</body></html>"
    )
