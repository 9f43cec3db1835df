"""The problem as PyVRP `ProblemData` (`build_data`), and PyVRP's routes back as our stops.

What maps natively (PyVRP 0.14):
- windows -> client windows; shifts -> vehicle-type windows; max_duration -> shift_duration;
  initialization_cost -> fixed_cost; unassigned_penalty -> prize of an optional client.
- quantities (our load model, `checker.start_load`): a stop alone in its unit with a negative
  quantity -> a client pickup (carried to the route's end), with a positive one -> a client
  delivery (loaded at the start: PyVRP's own model); a precedence pair a -> b with
  quantity(a) = -quantity(b) <= 0 -> a shipment (pickup a, delivery b).
- max_stops -> an extra load dimension counting stops (not with shipments).
- speed, stop_duration * multiplier and duration-group overheads -> one duration matrix per
  profile, where edge a -> b = travel + service(a) * multiplier + overhead(b | a); the
  distance ("cost") matrix holds the travel time, so PyVRP minimises our objective.
- max_distance -> max_distance on the travel-time matrix (exact when time is distance / speed).
- backlog, compatibility attributes, alternates -> per-profile prohibitive edges into the
  stops a vehicle may not serve; each vehicle's alternates are copies in a mutually exclusive
  required client group; open routes / no start -> a zero-cost dummy depot.

Not expressible (`unsupported()` lists them): max_wait, soft target times, stop groups and
precedence other than shipment pairs, max_stops with shipments, max_distance with an explicit duration matrix. With `relaxed=True` these rules
are dropped and the fallback repairs the result.

PyVRP is integral: times and costs are scaled by 10 (0.1 s); travel times round up, window
ends down, so a plan PyVRP finds feasible is feasible in real numbers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fleetbridge.routing.model import Problem

if TYPE_CHECKING:
    import numpy as np
    import pyvrp

SCALE = 10
BIG = 10**9  # scaled cost of an edge into a stop the vehicle may not serve (1e8 s)
MAX_PROFILE_CELLS = 40_000_000  # profiles x locations^2 kept in memory at most


@dataclass
class _Loc:
    """A PyVRP location: a problem location (None: the dummy) and the stop served there."""

    problem_loc: int | None
    stop: int | None = None


@dataclass
class PyvrpData:
    """PyVRP data plus the maps back to our indices."""

    data: pyvrp.ProblemData
    client_stop: list[int]  # PyVRP client -> our stop
    shipment_stops: list[tuple[int, int]]  # PyVRP shipment -> (pickup stop, delivery stop)
    type_vehicles: list[list[int]]  # PyVRP vehicle type -> our vehicles
    notes: list[str] = field(default_factory=list)


def _shipment_units(problem: Problem) -> dict[int, tuple[int, int]]:
    """Units that are exactly one precedence pair a -> b with quantity(a) = -quantity(b) <= 0."""
    pairs: dict[int, list[tuple[int, int]]] = {}
    for a, b in problem.precedence:
        pairs.setdefault(problem.unit_of[a], []).append((a, b))
    out: dict[int, tuple[int, int]] = {}
    for unit, unit_pairs in pairs.items():
        if len(problem.units[unit]) != 2 or len(unit_pairs) != 1:
            continue
        a, b = unit_pairs[0]
        qa, qb = problem.stops[a].quantity, problem.stops[b].quantity
        wa, wb = problem.stops[a].window, problem.stops[b].window
        if wa and wb and wb[1] < wa[0]:
            continue  # never feasible, and PyVRP refuses such a shipment: the search says why
        if all(x <= 0 and x == -y for x, y in zip(qa, qb, strict=True)):
            out[unit] = (a, b)
    return out


def unsupported(problem: Problem) -> list[str]:
    """The rules of `problem` PyVRP cannot express (empty: PyVRP solves it exactly)."""
    shipments = _shipment_units(problem)
    reasons: dict[str, None] = {}
    for stop in problem.stops:
        if stop.max_wait is not None and stop.window is not None:
            reasons["max_wait"] = None
        if stop.target is not None and (stop.earliness_penalty or stop.lateness_penalty):
            reasons["target_time"] = None
    for u, members in enumerate(problem.units):
        if len(members) > 1 and u not in shipments:
            reasons["stop groups / precedence beyond pickup-delivery pairs"] = None
    if shipments and any(v.max_stops is not None for v in problem.vehicles):
        reasons["max_stops with pickup/delivery pairs"] = None
    if problem.time is not problem.dist and any(
        v.max_distance is not None for v in problem.vehicles
    ):
        reasons["max_distance with a duration matrix"] = None
    return list(reasons)


def routes_of(build: PyvrpData, problem: Problem, solution: pyvrp.Solution) -> list[list[int]]:
    """PyVRP's routes as ours: `routes[v]` = the stop indices vehicle `v` serves, in order."""
    routes: list[list[int]] = [[] for _ in problem.vehicles]
    used = [0] * len(build.type_vehicles)
    for route in solution.routes():
        t = route.vehicle_type()
        vehicle = build.type_vehicles[t][used[t]]
        used[t] += 1
        for activity in route:
            if activity.is_client():
                routes[vehicle].append(build.client_stop[activity.idx])
            elif activity.is_pickup():
                routes[vehicle].append(build.shipment_stops[activity.idx][0])
            elif activity.is_delivery():
                routes[vehicle].append(build.shipment_stops[activity.idx][1])
    return routes


def _array(rows: list[list[float]]) -> np.ndarray:
    """A square list of lists as a float array (fromiter beats asarray on nested lists)."""
    import numpy as np

    n = len(rows)
    flat = itertools.chain.from_iterable(rows)
    return np.fromiter(flat, dtype=np.float64, count=n * n).reshape(n, n)


def _depot_key(problem: Problem, loc: int, dist: np.ndarray, time: np.ndarray) -> Hashable:
    """Start/end locations with the same coordinates (or the same matrix row and column) are
    one PyVRP depot: 25 vehicles at one depot must not become 50 depots."""
    if problem.has_matrices:
        return b"".join(m.tobytes() for m in (dist[loc], dist[:, loc], time[loc], time[:, loc]))
    vehicle, end = divmod(loc - problem.num_regular, 2)
    veh = problem.vehicles[vehicle]
    pos = veh.end_position if end else veh.start_position
    return (pos.lon, pos.lat) if pos else loc


@dataclass
class _Clients:
    """The PyVRP clients (regular stops, then each vehicle's alternate copies) and shipments."""

    clients: list[pyvrp.Client] = field(default_factory=list)
    client_stop: list[int] = field(default_factory=list)
    client_owner: list[int | None] = field(default_factory=list)  # the only vehicle of a copy
    groups: list[pyvrp.ClientGroup] = field(default_factory=list)
    shipments: list[pyvrp.Shipment] = field(default_factory=list)
    shipment_stops: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class _Profiles:
    """Which routing profile each vehicle uses, and the stops each may not serve."""

    count: int
    profile_of: list[int]
    forbidden_of: list[list[int]]
    keep_compat: bool


def _depots(
    problem: Problem, dist: np.ndarray, time: np.ndarray
) -> tuple[list[_Loc], dict[int, int], int]:
    """The depot locations (deduplicated) then the dummy; each vehicle location's depot; the
    dummy's index."""
    locs: list[_Loc] = []
    depot_of_key: dict[Hashable, int] = {}
    depot_of_loc: dict[int, int] = {}
    for veh in problem.vehicles:
        for loc in (veh.start, veh.end):
            if loc is None or loc in depot_of_loc:
                continue
            key = _depot_key(problem, loc, dist, time)
            if key not in depot_of_key:
                depot_of_key[key] = len(locs)
                locs.append(_Loc(loc))
            depot_of_loc[loc] = depot_of_key[key]
    dummy = len(locs)
    locs.append(_Loc(None))
    return locs, depot_of_loc, dummy


def _window(problem: Problem, stop: int) -> tuple[int, int]:
    """The stop's window in scaled integers: start rounded up, end down."""
    import numpy as np

    w = problem.stops[stop].window
    if w is None:
        return 0, np.iinfo(np.int64).max
    return math.ceil(w[0] * SCALE - 1e-6), math.floor(w[1] * SCALE + 1e-6)


def _client(
    problem: Problem, stop: int, locs: list[_Loc], count_dim: bool, **extra: Any
) -> pyvrp.Client:
    """A client at a new location for `stop`: its window and loads (the stop-count dimension
    last when `count_dim`); `extra` says whether it is required, its prize, group and name."""
    import pyvrp

    quantity = problem.stops[stop].quantity
    pickup = [max(0, -round(x)) for x in quantity]
    delivery = [max(0, round(x)) for x in quantity]
    if count_dim:
        pickup.append(0 if problem.stops[stop].alternate else 1)
        delivery.append(0)
    early, late = _window(problem, stop)
    locs.append(_Loc(problem.stops[stop].location, stop))
    return pyvrp.Client(
        location=len(locs) - 1,
        delivery=delivery,
        pickup=pickup,
        tw_early=early,
        tw_late=late,
        **extra,
    )


def _clients(
    problem: Problem, shipments: dict[int, tuple[int, int]], locs: list[_Loc], count_dim: bool
) -> _Clients:
    """Every client and shipment, appending their locations to `locs`: regular stops, each
    vehicle's alternates (copies in a required group of one), then the shipment pairs."""
    import pyvrp

    out = _Clients()
    in_shipment = {s for pair in shipments.values() for s in pair}
    for s in problem.regular:
        if s in in_shipment:
            continue
        unit_penalty = problem.unit_penalty(problem.unit_of[s])
        penalty = problem.stops[s].penalty if unit_penalty is not None else None
        out.clients.append(
            _client(
                problem,
                s,
                locs,
                count_dim,
                prize=round((penalty or 0) * SCALE),
                required=penalty is None,
                name=problem.stops[s].id,
            )
        )
        out.client_stop.append(s)
        out.client_owner.append(None)
    for veh in problem.vehicles:
        if not veh.alternates:
            continue
        members = []
        for s in veh.alternates:
            members.append(len(out.clients))
            out.clients.append(
                _client(
                    problem,
                    s,
                    locs,
                    count_dim,
                    required=False,
                    group=len(out.groups),
                    name=f"{problem.stops[s].id}@{veh.id}",
                )
            )
            out.client_stop.append(s)
            out.client_owner.append(veh.index)
        out.groups.append(pyvrp.ClientGroup(members, required=True))
    for unit, (a, b) in shipments.items():
        out.shipments.append(_shipment(problem, unit, a, b, locs))
        out.shipment_stops.append((a, b))
    return out


def _shipment(problem: Problem, unit: int, a: int, b: int, locs: list[_Loc]) -> pyvrp.Shipment:
    """The shipment of the pair pickup `a` -> delivery `b`, at two new locations."""
    import pyvrp

    penalty = problem.unit_penalty(unit)
    (ea, la), (eb, lb) = _window(problem, a), _window(problem, b)
    locs.append(_Loc(problem.stops[a].location, a))
    locs.append(_Loc(problem.stops[b].location, b))
    return pyvrp.Shipment(
        pickup_location=len(locs) - 2,
        delivery_location=len(locs) - 1,
        pickup_tw_early=ea,
        pickup_tw_late=la,
        delivery_tw_early=eb,
        delivery_tw_late=lb,
        amount=[round(x) for x in problem.stops[b].quantity],
        prize=round((penalty or 0) * SCALE),
        required=penalty is None,
        name=f"{problem.stops[a].id}->{problem.stops[b].id}",
    )


def _base_times(
    problem: Problem, locs: list[_Loc], time: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per PyVRP location pair: the travel time (0 to and from the dummy), the service time of
    the origin, and the duration-group overhead of entering the destination."""
    import numpy as np

    index = np.array([loc.problem_loc or 0 for loc in locs])
    is_dummy = np.array([loc.problem_loc is None for loc in locs])
    served = [loc.stop for loc in locs]
    service = np.array([problem.stops[s].duration if s is not None else 0.0 for s in served])
    group = np.array(
        [
            problem.stops[s].duration_group
            if s is not None and problem.stops[s].duration_group is not None
            else -1
            for s in served
        ]
    )
    overhead_of = np.array([*problem.duration_groups, 0.0])[group]
    base_time = time[np.ix_(index, index)]
    base_time[is_dummy, :] = 0.0
    base_time[:, is_dummy] = 0.0
    # overhead(b | a): b starts a duration group visit unless a is in the same group
    enters = (group[None, :] >= 0) & (group[:, None] != group[None, :])
    overhead = np.where(enters, overhead_of[None, :], 0.0)
    return base_time, service, overhead


def _profiles(
    problem: Problem, locs: list[_Loc], num_depots: int, client_owner: list[int | None]
) -> tuple[_Profiles, list[str]]:
    """One profile per (time factor, multiplier, forbidden stops); without the forbidden stops
    (left to the repair step) when that many profiles would not fit in memory."""
    stop_locs: dict[int, list[int]] = {}
    for i, place in enumerate(locs):
        if place.stop is not None:
            stop_locs.setdefault(place.stop, []).append(i)
    copy_locs = {num_depots + c: owner for c, owner in enumerate(client_owner) if owner is not None}
    profiles: dict[Hashable, int] = {}
    profile_of: list[int] = []
    forbidden_of: list[list[int]] = []
    restricted = [
        s for s in problem.restricted if s in stop_locs and not problem.stops[s].alternate
    ]
    for veh in problem.vehicles:
        forbidden = [
            i for s in restricted if not problem.compatible(veh.index, s) for i in stop_locs[s]
        ] + [i for i, owner in copy_locs.items() if owner != veh.index]
        key = (veh.time_factor, veh.duration_multiplier, tuple(forbidden))
        profile_of.append(profiles.setdefault(key, len(profiles)))
        forbidden_of.append(forbidden)
    if len(profiles) * len(locs) * len(locs) <= MAX_PROFILE_CELLS:
        return _Profiles(len(profiles), profile_of, forbidden_of, keep_compat=True), []
    profiles = {}
    profile_of = []
    for veh in problem.vehicles:
        key = (veh.time_factor, veh.duration_multiplier, ())
        profile_of.append(profiles.setdefault(key, len(profiles)))
    notes = ["too many vehicle profiles: compatibility left to the repair step"]
    return _Profiles(len(profiles), profile_of, forbidden_of, keep_compat=False), notes


def _matrices(
    problem: Problem,
    profiles: _Profiles,
    base_time: np.ndarray,
    service: np.ndarray,
    overhead: np.ndarray,
) -> tuple[list[Any], list[Any]]:
    """Each profile's distance (travel time, prohibitive into forbidden stops) and duration
    (travel + service x multiplier + overhead) matrices, scaled and rounded up."""
    import numpy as np

    distances: list[Any] = [None] * profiles.count
    durations: list[Any] = [None] * profiles.count
    for v, veh in enumerate(problem.vehicles):
        p = profiles.profile_of[v]
        if distances[p] is not None:
            continue
        travel = base_time * veh.time_factor
        cost = np.ceil(travel * SCALE - 1e-6).astype(np.int64)  # up: max_distance stays safe
        total = travel + service[:, None] * veh.duration_multiplier + overhead
        duration = np.ceil(total * SCALE - 1e-6).astype(np.int64)
        if profiles.keep_compat and profiles.forbidden_of[v]:
            cost[:, profiles.forbidden_of[v]] = BIG
        np.fill_diagonal(cost, 0)
        np.fill_diagonal(duration, 0)
        distances[p], durations[p] = cost, duration
    return distances, durations


def _vehicle_types(
    problem: Problem,
    count_dim: bool,
    depot_of_loc: dict[int, int],
    dummy: int,
    profile_of: list[int],
) -> tuple[list[pyvrp.VehicleType], list[list[int]]]:
    """The PyVRP vehicle types (identical vehicles share one) and each type's vehicles."""
    import pyvrp

    unlimited = int(sum(abs(x) for s in problem.stops for x in s.quantity)) + 1
    types: dict[Hashable, list[int]] = {}
    type_args: dict[Hashable, dict[str, Any]] = {}
    for v, veh in enumerate(problem.vehicles):
        capacity = [unlimited if math.isinf(c) else int(c) for c in veh.capacity]
        if count_dim:
            capacity.append(veh.max_stops if veh.max_stops is not None else unlimited)
        max_distance = None
        if veh.max_distance is not None and problem.time is problem.dist:
            max_distance = math.floor(veh.max_distance * veh.time_factor * SCALE + 1e-6)
        args: dict[str, Any] = {
            "capacity": capacity,
            "start_depot": depot_of_loc[veh.start] if veh.start is not None else dummy,
            "end_depot": depot_of_loc[veh.end] if veh.end is not None else dummy,
            "fixed_cost": round(veh.initialization_cost * SCALE),
            "tw_early": math.ceil((veh.shift_start or 0.0) * SCALE - 1e-6),
            "profile": profile_of[v],
        }
        if veh.shift_end is not None:
            args["tw_late"] = math.floor(veh.shift_end * SCALE + 1e-6)
        if veh.max_duration is not None:
            args["shift_duration"] = math.floor(veh.max_duration * SCALE + 1e-6)
        if max_distance is not None:
            args["max_distance"] = max_distance
        key = (v,) if veh.alternates else tuple(sorted((k, str(x)) for k, x in args.items()))
        types.setdefault(key, []).append(v)
        type_args[key] = args
    vehicle_types = [
        pyvrp.VehicleType(num_available=len(vs), **type_args[k], name=problem.vehicles[vs[0]].id)
        for k, vs in types.items()
    ]
    return vehicle_types, list(types.values())


def build_data(problem: Problem, *, relaxed: bool) -> PyvrpData:
    """The problem as PyVRP data: locations (depots, the dummy, clients, shipments), routing
    profiles and their matrices, vehicle types."""
    import pyvrp

    shipments = _shipment_units(problem)
    count_dim = any(v.max_stops is not None for v in problem.vehicles) and not shipments
    dist_np = _array(problem.dist)
    time_np = dist_np if problem.time is problem.dist else _array(problem.time)

    locs, depot_of_loc, dummy = _depots(problem, dist_np, time_np)
    num_depots = len(locs)
    made = _clients(problem, shipments, locs, count_dim)
    profiles, notes = _profiles(problem, locs, num_depots, made.client_owner)
    distances, durations = _matrices(problem, profiles, *_base_times(problem, locs, time_np))
    vehicle_types, type_vehicles = _vehicle_types(
        problem, count_dim, depot_of_loc, dummy, profiles.profile_of
    )
    data = pyvrp.ProblemData(
        [pyvrp.Location(float(i), 0.0) for i in range(len(locs))],
        made.clients,
        [pyvrp.Depot(location=i) for i in range(num_depots)],
        vehicle_types,
        distances,
        durations,
        groups=made.groups,
        shipments=made.shipments,
    )
    if relaxed:
        notes.append("relaxed: rules PyVRP cannot express were dropped")
    return PyvrpData(data, made.client_stop, made.shipment_stops, type_vehicles, notes)
