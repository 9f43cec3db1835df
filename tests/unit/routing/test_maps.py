"""Route maps: GeoJSON and SVG of a solved run (issue 7, §9)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from fleetbridge.routing.maps import PALETTE, routes_geojson, routes_svg, vehicle_color

SVG_NS = "{http://www.w3.org/2000/svg}"

ROUTER_INPUT: dict[str, Any] = {
    "defaults": {"vehicles": {"end": {"lon": -74.0, "lat": 40.70}}},
    "vehicles": [
        {"id": "van-1", "start": {"lon": -74.0, "lat": 40.70}},
        {"id": "van-2", "start": {"lon": -73.9, "lat": 40.80}, "end": {"lon": -73.9, "lat": 40.80}},
        {"id": "van-3"},
    ],
    "stops": [
        {"id": "a", "position": {"lon": -73.98, "lat": 40.75}},
        {"id": "b", "position": {"lon": -73.95, "lat": 40.76}},
        {"id": "c", "position": {"lon": -73.92, "lat": 40.78}},
        {"id": "lost", "position": {"lon": -73.85, "lat": 40.72}},
    ],
}


def visit(stop_id: str, lon: float, lat: float) -> dict[str, Any]:
    return {
        "id": stop_id,
        "position": {"lon": lon, "lat": lat},
        "estimated_arrival": "2024-01-01T10:00:00Z",
        "estimated_departure": "2024-01-01T10:05:00Z",
        "estimated_service": "2024-01-01T10:00:00Z",
    }


STATE: dict[str, Any] = {
    "vehicles": [
        {
            "id": "van-1",
            "route": [visit("a", -73.98, 40.75), visit("b", -73.95, 40.76)],
            "route_distance": 9000,
            "route_duration": 1200,
        },
        {
            # a solver that lists the start and end as route entries draws the same line
            "id": "van-2",
            "route": [
                visit("van-2-start", -73.9, 40.80),
                visit("c", -73.92, 40.78),
                visit("van-2-end", -73.9, 40.80),
            ],
            "route_distance": 4000,
            "route_duration": 600,
        },
        {"id": "van-3", "route": [], "route_distance": 0, "route_duration": 0},
    ],
    "unassigned": [{"id": "lost", "position": {"lon": -73.85, "lat": 40.72}}],
}


def features(kind: str) -> list[dict[str, Any]]:
    found = routes_geojson(ROUTER_INPUT, STATE)["features"]
    return [f for f in found if f["properties"]["kind"] == kind]


# ----------------------------------------------------------------------------- GeoJSON
def test_geojson_is_a_feature_collection() -> None:
    collection = routes_geojson(ROUTER_INPUT, STATE)
    assert collection["type"] == "FeatureCollection"
    assert all(f["type"] == "Feature" for f in collection["features"])


def test_a_line_per_vehicle_from_start_through_stops_to_end() -> None:
    lines = {f["properties"]["vehicle"]: f for f in features("route")}
    assert set(lines) == {"van-1", "van-2"}  # van-3 has nothing to draw
    assert lines["van-1"]["geometry"] == {
        "type": "LineString",
        "coordinates": [[-74.0, 40.7], [-73.98, 40.75], [-73.95, 40.76], [-74.0, 40.7]],
    }
    assert lines["van-2"]["geometry"]["coordinates"] == [
        [-73.9, 40.8],
        [-73.92, 40.78],
        [-73.9, 40.8],
    ]
    props = lines["van-1"]["properties"]
    assert (props["route_distance"], props["route_duration"], props["stops"]) == (9000, 1200, 2)


def test_stop_points_carry_sequence_vehicle_and_times() -> None:
    stops = {f["properties"]["id"]: f for f in features("stop")}
    assert set(stops) == {"a", "b", "c"}  # start/end route entries are not stops
    b = stops["b"]
    assert b["geometry"] == {"type": "Point", "coordinates": [-73.95, 40.76]}
    assert b["properties"]["vehicle"] == "van-1" and b["properties"]["sequence"] == 2
    assert b["properties"]["estimated_departure"] == "2024-01-01T10:05:00Z"
    assert b["properties"]["unassigned"] is False


def test_unassigned_stops_are_marked() -> None:
    (lost,) = features("unassigned")
    assert lost["properties"]["id"] == "lost" and lost["properties"]["unassigned"] is True
    assert lost["properties"]["marker-symbol"] == "cross"
    assert lost["geometry"]["coordinates"] == [-73.85, 40.72]


def test_unassigned_position_falls_back_to_the_input() -> None:
    state = {"vehicles": [], "unassigned": [{"id": "lost"}]}
    (lost,) = routes_geojson(ROUTER_INPUT, state)["features"]
    assert lost["geometry"]["coordinates"] == [-73.85, 40.72]


def test_each_vehicle_has_its_own_colour() -> None:
    colours = {f["properties"]["vehicle"]: f["properties"]["stroke"] for f in features("route")}
    assert colours == {"van-1": PALETTE[0], "van-2": PALETTE[1]}
    starts = {
        f["properties"]["vehicle"]: f["properties"]["marker-color"] for f in features("start")
    }
    assert starts == colours


def test_colours_stay_distinct_past_the_palette() -> None:
    colours = [vehicle_color(i) for i in range(40)]
    assert len(set(colours)) == 40
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colours)


# ----------------------------------------------------------------------------- SVG
def parsed_svg(**kwargs: Any) -> ET.Element:
    return ET.fromstring(routes_svg(ROUTER_INPUT, STATE, **kwargs))


def test_svg_is_well_formed_and_sized() -> None:
    root = parsed_svg(width=640, height=480, title="Run r-1 <test>")
    assert root.tag == f"{SVG_NS}svg"
    assert (root.get("width"), root.get("height")) == ("640", "480")
    assert "Run r-1 <test>" in "".join(root.itertext())


def test_svg_draws_one_coloured_polyline_per_routed_vehicle() -> None:
    lines = parsed_svg().findall(f"{SVG_NS}polyline")
    assert [line.get("stroke") for line in lines] == [PALETTE[0], PALETTE[1]]


def test_svg_marks_unassigned_stops_distinctly() -> None:
    marks = [p for p in parsed_svg().iter(f"{SVG_NS}path") if p.get("class") == "unassigned"]
    assert len(marks) == 1
    assert "lost: unassigned" in "".join(marks[0].itertext())


def test_svg_legend_lists_vehicles_and_unassigned() -> None:
    legend = next(g for g in parsed_svg().iter(f"{SVG_NS}g") if g.get("class") == "legend")
    text = " ".join(legend.itertext())
    assert "van-1 (2 stops)" in text and "van-3 (0 stops)" in text
    assert "unassigned (1)" in text


def test_svg_projection_keeps_west_left_and_north_up() -> None:
    circles = {
        "".join(c.itertext()).split(":")[0]: (float(c.get("cx", 0)), float(c.get("cy", 0)))
        for c in parsed_svg().iter(f"{SVG_NS}circle")
    }
    assert circles["a"][0] < circles["b"][0] < circles["c"][0]  # lon grows eastwards
    assert circles["c"][1] < circles["b"][1] < circles["a"][1]  # lat grows northwards
    for x, y in circles.values():
        assert 0 <= x <= 800 - 190 and 0 <= y <= 600


def test_svg_escapes_ids() -> None:
    router = {
        "vehicles": [{"id": "v<&>"}],
        "stops": [{"id": "s&1", "position": {"lon": 1, "lat": 1}}],
    }
    state = {"vehicles": [{"id": "v<&>", "route": [{"id": "s&1"}]}], "unassigned": []}
    root = ET.fromstring(routes_svg(router, state))  # parses: everything escaped
    assert "v<&> (1 stop)" in "".join(root.itertext())


def test_svg_of_one_point_and_of_nothing() -> None:
    router = {"vehicles": [{"id": "v"}], "stops": [{"id": "s", "position": {"lon": 1, "lat": 1}}]}
    state = {"vehicles": [{"id": "v", "route": [{"id": "s"}]}], "unassigned": []}
    (circle,) = ET.fromstring(routes_svg(router, state)).iter(f"{SVG_NS}circle")
    assert float(circle.get("cx", -1)) > 0 and float(circle.get("cy", -1)) > 0
    empty = routes_svg({"vehicles": []}, {"vehicles": [], "unassigned": []})
    assert "no positions to draw" in empty


def test_svg_legend_folds_many_vehicles() -> None:
    router = {"vehicles": [{"id": f"v{i}"} for i in range(60)], "stops": []}
    state = {"vehicles": [{"id": f"v{i}", "route": []} for i in range(60)], "unassigned": []}
    text = "".join(ET.fromstring(routes_svg(router, state, height=300)).itertext())
    assert "more" in text and "unassigned (0)" in text


def test_svg_start_stays_visible_on_top_of_an_end_at_the_same_place() -> None:
    rects = [r for r in parsed_svg().iter(f"{SVG_NS}rect") if r.find(f"{SVG_NS}title") is not None]
    van_1 = ["".join(r.itertext()) for r in rects if "van-1" in "".join(r.itertext())]
    assert van_1 == ["van-1 end", "van-1 start"]  # drawn in this order: start on top
