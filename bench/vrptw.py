"""VRPTW benchmark data: instance, reference solution and best-known-value readers, plus the
independent checker every benchmarked solution goes through.

Convention (see ../shared/data/vrptw/README.md): d(i, j) is the Euclidean distance truncated to
one decimal, travel time equals distance, time windows bound the start of service, the objective
is the total distance. Index 0 is the depot, 1..n the customers, for both file formats.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

#: `../shared/data/vrptw` of the checkout (one level further up from a worktree under wt/).
DATA_DIR = next(
    (
        p / "shared" / "data" / "vrptw"
        for p in Path(__file__).resolve().parents[2:4]
        if (p / "shared" / "data" / "vrptw").is_dir()
    ),
    Path(__file__).resolve().parents[2] / "shared" / "data" / "vrptw",
)
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Instance:
    """One VRPTW instance; lists are indexed by node (0 = depot)."""

    name: str
    num_vehicles: int
    capacity: int
    x: list[float]
    y: list[float]
    demand: list[int]
    ready: list[int]
    due: list[int]
    service: list[int]

    @property
    def num_customers(self) -> int:
        """Customers, depot excluded."""
        return len(self.x) - 1

    def distance(self, i: int, j: int) -> float:
        """Euclidean distance truncated to one decimal (the DIMACS convention)."""
        return math.floor(10 * math.hypot(self.x[i] - self.x[j], self.y[i] - self.y[j])) / 10

    def matrix(self) -> list[list[float]]:
        """The full distance (= travel time) matrix, depot first."""
        n = len(self.x)
        return [[self.distance(i, j) for j in range(n)] for i in range(n)]


@dataclass(frozen=True)
class Check:
    """What the checker recomputed from a solution's routes."""

    cost: float
    feasible: bool
    problems: list[str]


def instance_path(name: str) -> Path:
    """The instance file of `name` (.txt for Solomon-format files, .vrp for VRPLIB ones)."""
    for suffix in (".txt", ".vrp"):
        path = DATA_DIR / "instances" / f"{name}{suffix}"
        if path.exists():
            return path
    raise FileNotFoundError(f"no instance named {name} in {DATA_DIR / 'instances'}")


def read_instance(name: str) -> Instance:
    """Read an instance by name, in either format."""
    path = instance_path(name)
    text = path.read_text()
    return _read_vrplib(name, text) if path.suffix == ".vrp" else _read_solomon(name, text)


def _read_solomon(name: str, text: str) -> Instance:
    lines = [line.split() for line in text.splitlines()]
    fleet_at = next(i for i, parts in enumerate(lines) if parts[:1] == ["NUMBER"])
    num_vehicles, capacity = (int(v) for v in lines[fleet_at + 1][:2])
    rows = [parts for parts in lines if len(parts) == 7 and parts[0].isdigit()]
    rows.sort(key=lambda parts: int(parts[0]))
    cols = list(zip(*[[float(v) for v in parts] for parts in rows], strict=True))
    return Instance(
        name=name,
        num_vehicles=num_vehicles,
        capacity=capacity,
        x=list(cols[1]),
        y=list(cols[2]),
        demand=[int(v) for v in cols[3]],
        ready=[int(v) for v in cols[4]],
        due=[int(v) for v in cols[5]],
        service=[int(v) for v in cols[6]],
    )


def _read_vrplib(name: str, text: str) -> Instance:
    header: dict[str, str] = {}
    sections: dict[str, list[list[str]]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line == "EOF":
            continue
        if ":" in line and not line[0].isdigit() and not line.startswith("-"):
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip()
        elif line.endswith("_SECTION"):
            current = line
            sections[current] = []
        else:
            sections[current].append(line.split())
    by_node = {s: {int(r[0]): r[1:] for r in rows} for s, rows in sections.items()}
    nodes = sorted(by_node["NODE_COORD_SECTION"])
    depot = int(sections["DEPOT_SECTION"][0][0])
    order = [depot] + [n for n in nodes if n != depot]
    service = int(float(header.get("SERVICE_TIME", "0")))
    coords, demand, windows = (
        by_node["NODE_COORD_SECTION"],
        by_node["DEMAND_SECTION"],
        by_node["TIME_WINDOW_SECTION"],
    )
    return Instance(
        name=name,
        num_vehicles=int(header["VEHICLES"]),
        capacity=int(header["CAPACITY"]),
        x=[float(coords[n][0]) for n in order],
        y=[float(coords[n][1]) for n in order],
        demand=[int(demand[n][0]) for n in order],
        ready=[int(windows[n][0]) for n in order],
        due=[int(windows[n][1]) for n in order],
        service=[0 if n == depot else service for n in order],
    )


def read_solution(name: str) -> tuple[list[list[int]], float] | None:
    """The reference routes (customer numbers) and cost of `name`, if a .sol file exists."""
    path = DATA_DIR / "solutions" / f"{name}.sol"
    if not path.exists():
        return None
    routes: list[list[int]] = []
    cost = math.nan
    for line in path.read_text().splitlines():
        if line.startswith("Route"):
            routes.append([int(v) for v in line.partition(":")[2].split()])
        elif line.startswith("Cost"):
            cost = float(line.split()[1])
    return routes, cost


def best_known() -> dict[str, float]:
    """Best known distance per instance name (bks.csv)."""
    with (DATA_DIR / "bks.csv").open() as fh:
        return {row["instance"]: float(row["distance"]) for row in csv.DictReader(fh)}


def all_names() -> list[str]:
    """Every instance in bks.csv, in file order."""
    with (DATA_DIR / "bks.csv").open() as fh:
        return [row["instance"] for row in csv.DictReader(fh)]


def check(inst: Instance, routes: list[list[int]]) -> Check:
    """Recompute cost, loads and windows of `routes` (lists of customer numbers, depot left
    out) from the instance alone, independent of any solver."""
    problems: list[str] = []
    seen: dict[int, int] = {}
    if len([r for r in routes if r]) > inst.num_vehicles:
        problems.append(f"{len(routes)} routes for a fleet of {inst.num_vehicles}")
    cost = 0.0
    for k, route in enumerate(routes):
        if not route:
            continue
        load, time, prev = 0, 0.0, 0
        for c in route:
            if not 1 <= c <= inst.num_customers:
                problems.append(f"route {k}: unknown customer {c}")
                continue
            seen[c] = seen.get(c, 0) + 1
            cost += inst.distance(prev, c)
            time = max(time + inst.distance(prev, c), inst.ready[c])
            if time > inst.due[c] + TOLERANCE:
                problems.append(f"route {k}: customer {c} served at {time:.1f} > {inst.due[c]}")
            time += inst.service[c]
            load += inst.demand[c]
            prev = c
        cost += inst.distance(prev, 0)
        time += inst.distance(prev, 0)
        if time > inst.due[0] + TOLERANCE:
            problems.append(f"route {k}: back at the depot at {time:.1f} > {inst.due[0]}")
        if load > inst.capacity:
            problems.append(f"route {k}: load {load} > capacity {inst.capacity}")
    missing = [c for c in range(1, inst.num_customers + 1) if c not in seen]
    twice = [c for c, n in seen.items() if n > 1]
    if missing:
        problems.append(f"{len(missing)} customers not served, e.g. {missing[:5]}")
    if twice:
        problems.append(f"customers served more than once: {twice[:5]}")
    return Check(cost=round(cost, 6), feasible=not problems, problems=problems)
