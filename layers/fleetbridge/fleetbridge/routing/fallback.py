"""Our own search, for the rules PyVRP cannot express (max_wait, soft target times, stop groups,
general precedence, mixed pickups/drop-offs...) and to repair a plan that breaks a rule.

Every move is priced by the exact checker (`checker.route_cost`), so whatever the checker
accepts is what we optimise: no modelling gap. Units (a stop group or precedence chain, or one
stop) are removed and inserted whole, into one route, members in precedence order.

1. Repair the starting plan (PyVRP's answer to the relaxed problem, or nothing): drop repeated
   or split units, then remove units from each broken route until it passes.
2. Insert the missing alternate stops, then the unassigned units (mandatory first), each at
   its cheapest feasible place; an optional unit only when that costs less than its penalty.
3. Ruin and recreate until the deadline (random, related and route removals; a slowly cooling
   acceptance threshold), keeping the best plan.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Any

from fleetbridge.routing.checker import evaluate_route, route_cost
from fleetbridge.routing.model import Problem

MANDATORY_COST = 1e9  # per mandatory stop left out, inside the search only
FULL_SCAN = 12  # routes up to this length try every position; longer ones the best few
TOP_POSITIONS = 8


@dataclass
class _State:
    routes: list[list[int]]
    costs: list[float]
    unassigned: set[int]  # units
    missing_alt: set[int]  # vehicles lacking their alternate stop

    def copy(self) -> _State:
        routes = [list(r) for r in self.routes]
        return _State(routes, list(self.costs), set(self.unassigned), set(self.missing_alt))


class _Search:
    def __init__(self, problem: Problem, rng: random.Random) -> None:
        self.p = problem
        self.rng = rng
        self.preds: dict[int, set[int]] = {}
        for a, b in problem.precedence:
            self.preds.setdefault(b, set()).add(a)
        self.order = [self._topological(u) for u in range(len(problem.units))]
        self.allowed = [
            [v for v in range(len(problem.vehicles)) if all(problem.compatible(v, s) for s in u)]
            for u in problem.units
        ]
        self.penalty = [
            problem.unit_penalty(u) if problem.unit_penalty(u) is not None else None
            for u in range(len(problem.units))
        ]

    def _topological(self, unit_index: int) -> list[int]:
        members = self.p.units[unit_index]
        if len(members) == 1:
            return list(members)
        out: list[int] = []
        while len(out) < len(members):  # precedence never leaves a unit: no cycles (checked)
            ready = [s for s in members if s not in out and self.preds.get(s, set()) <= set(out)]
            out.append(ready[0])
        return out

    def unit_cost(self, u: int) -> float:
        penalty = self.penalty[u]
        return MANDATORY_COST * len(self.p.units[u]) if penalty is None else penalty

    def total(self, st: _State) -> float:
        return (
            sum(st.costs)
            + sum(self.unit_cost(u) for u in st.unassigned)
            + MANDATORY_COST * len(st.missing_alt)
        )

    def cost(self, v: int, seq: list[int]) -> float | None:
        return route_cost(self.p, v, seq) if seq else 0.0

    # ------------------------------------------------------------------ repair
    def repair(self, start: list[list[int]]) -> _State:
        p = self.p
        routes = [list(r) for r in start] if start else [[] for _ in p.vehicles]
        seen: dict[int, int] = {}
        for v, seq in enumerate(routes):
            alternates = [s for s in seq if p.stops[s].alternate]
            keep_alt = next((s for s in alternates if s in p.vehicles[v].alternates), None)
            cleaned = []
            for s in seq:
                if p.stops[s].alternate:
                    if s == keep_alt and s not in cleaned:
                        cleaned.append(s)
                elif s not in seen:
                    seen[s] = v
                    cleaned.append(s)
            routes[v] = cleaned
        unassigned: set[int] = set()
        for u, members in enumerate(p.units):
            on = {seen.get(s) for s in members}
            if len(on) != 1 or None in on:
                unassigned.add(u)
                routes = [[s for s in r if s not in members] for r in routes]
        st = _State(routes, [0.0] * len(routes), unassigned, set())
        for v in range(len(routes)):
            self._repair_route(st, v)
        st.missing_alt = {
            v
            for v, veh in enumerate(p.vehicles)
            if veh.alternates and not any(p.stops[s].alternate for s in st.routes[v])
        }
        return st

    def _repair_route(self, st: _State, v: int) -> None:
        p = self.p
        while True:
            seq = st.routes[v]
            cost = self.cost(v, seq)
            if cost is not None:
                st.costs[v] = cost
                return
            units = {p.unit_of[s] for s in seq if not p.stops[s].alternate}
            options: list[tuple[float, int]] = []
            for u in units:
                rest = [s for s in seq if p.stops[s].alternate or p.unit_of[s] != u]
                c = self.cost(v, rest)
                if c is not None:  # what leaving u out costs, in objective terms
                    options.append((c + self.unit_cost(u), u))
            alternate = next((s for s in seq if p.stops[s].alternate), None)
            if alternate is not None:  # another alternate may fit: cheaper than a mandatory stop
                c = self.cost(v, [s for s in seq if s != alternate])
                if c is not None:
                    options.append((c + MANDATORY_COST / 2, -1))
            if options and min(options)[1] == -1:
                st.routes[v] = [s for s in seq if s != alternate]
                continue
            if options:
                _, u = min(options)
            else:
                bad = evaluate_route(p, v, seq, stop_at_first=True).violations[0]
                culprit = next((s for s in seq if p.stops[s].id == bad.stop), None)
                if culprit is not None and p.stops[culprit].alternate:
                    st.routes[v] = [s for s in seq if s != culprit]
                    continue
                if culprit is None:  # a route-wide limit: drop the farthest unit
                    culprit = max(
                        (s for s in seq if not p.stops[s].alternate),
                        key=lambda s: self._detour(v, seq, s),
                        default=None,
                    )
                if culprit is None:
                    st.routes[v] = []
                    continue
                u = p.unit_of[culprit]
            st.routes[v] = [s for s in seq if p.stops[s].alternate or p.unit_of[s] != u]
            st.unassigned.add(u)

    def _detour(self, v: int, seq: list[int], s: int) -> float:
        i = seq.index(s)
        veh = self.p.vehicles[v]
        t = self.p.time
        loc = self.p.stops[s].location
        prev = self.p.stops[seq[i - 1]].location if i > 0 else veh.start
        nxt = self.p.stops[seq[i + 1]].location if i + 1 < len(seq) else veh.end
        d = (t[prev][loc] if prev is not None else 0.0) + (t[loc][nxt] if nxt is not None else 0.0)
        return d

    # ------------------------------------------------------------------ insertion
    def _positions(self, v: int, seq: list[int], s: int, lo: int) -> list[int]:
        """Candidate positions for `s` in `seq` (at or after `lo`), cheapest detour first."""
        count = len(seq) + 1 - lo
        if count <= 0:
            return []
        if len(seq) <= FULL_SCAN:
            return list(range(lo, len(seq) + 1))
        veh, t, stops = self.p.vehicles[v], self.p.time, self.p.stops
        loc = stops[s].location
        scored = []
        for i in range(lo, len(seq) + 1):
            prev = stops[seq[i - 1]].location if i > 0 else veh.start
            nxt = stops[seq[i]].location if i < len(seq) else veh.end
            old = t[prev][nxt] if prev is not None and nxt is not None else 0.0
            new = (t[prev][loc] if prev is not None else 0.0) + (
                t[loc][nxt] if nxt is not None else 0.0
            )
            scored.append((new - old, i))
        scored.sort()
        return [i for _, i in scored[:TOP_POSITIONS]]

    def _insert_members(
        self, v: int, seq: list[int], members: list[int]
    ) -> tuple[float, list[int]] | None:
        """Members inserted one by one at their cheapest place; (cost, route) or None."""
        current = list(seq)
        cost: float | None = None
        for k, s in enumerate(members):
            preds = self.preds.get(s, ())
            lo = max((current.index(a) + 1 for a in preds if a in current), default=0)
            best: tuple[float, list[int]] | None = None
            for i in self._positions(v, current, s, lo):
                trial = [*current[:i], s, *current[i:]]
                c = route_cost(self.p, v, trial)
                if c is not None and (best is None or c < best[0]):
                    best = (c, trial)
            if best is None:
                # partial units may be infeasible only until their last member is in
                if k == len(members) - 1:
                    return None
                current = [*current, s]
                continue
            cost, current = best
        if cost is None:
            cost = route_cost(self.p, v, current)
        return (cost, current) if cost is not None else None

    def insert_unit(self, st: _State, u: int, noise: float = 0.0) -> bool:
        best: tuple[float, int, list[int]] | None = None
        for v in self.allowed[u]:
            result = self._insert_members(v, st.routes[v], self.order[u])
            if result is None:
                continue
            delta = result[0] - st.costs[v]
            if noise:
                delta *= 1.0 + noise * self.rng.uniform(-1.0, 1.0)
            if best is None or delta < best[0]:
                best = (delta, v, result[1])
        if best is None:
            return False
        delta, v, seq = best
        penalty = self.penalty[u]
        if penalty is not None and delta >= penalty:
            return False
        st.routes[v] = seq
        st.costs[v] = self.cost(v, seq) or 0.0
        st.unassigned.discard(u)
        return True

    def insert_alternate(self, st: _State, v: int) -> bool:
        best: tuple[float, list[int]] | None = None
        for a in self.p.vehicles[v].alternates:
            result = self._insert_members(v, st.routes[v], [a])
            if result is not None and (best is None or result[0] < best[0]):
                best = (result[0], result[1])
        if best is None:
            return False
        st.costs[v], st.routes[v] = best
        st.missing_alt.discard(v)
        return True

    def recreate(
        self,
        st: _State,
        noise: float = 0.0,
        alternates_first: bool = False,
        deadline: float = math.inf,
    ) -> None:
        """Insert what is missing: alternates before or after the units (both are tried)."""
        if alternates_first:
            for v in sorted(st.missing_alt):
                self.insert_alternate(st, v)
        units = list(st.unassigned)
        self.rng.shuffle(units)
        units.sort(key=lambda u: (self.penalty[u] is not None, -(self.penalty[u] or 0.0)))
        for u in units:
            if time.monotonic() > deadline:  # an unfinished plan is simply not accepted
                break
            self.insert_unit(st, u, noise)
        for v in sorted(st.missing_alt):
            self.insert_alternate(st, v)

    # ------------------------------------------------------------------ ruin
    def ruin(self, st: _State) -> None:
        p, rng = self.p, self.rng
        assigned = [u for u in range(len(p.units)) if u not in st.unassigned]
        if not assigned:
            return
        k = rng.randint(1, max(1, min(30, len(assigned) // 5 + 1)))
        move = rng.random()
        if move < 0.4:
            chosen = rng.sample(assigned, min(k, len(assigned)))
        elif move < 0.8:
            seed = p.stops[p.units[rng.choice(assigned)][0]].location
            chosen = sorted(assigned, key=lambda u: p.time[seed][p.stops[p.units[u][0]].location])
            chosen = chosen[: k + 1]
        else:
            used = [v for v, r in enumerate(st.routes) if r]
            v = rng.choice(used)
            chosen = list({p.unit_of[s] for s in st.routes[v] if not p.stops[s].alternate})
            if p.vehicles[v].alternates and rng.random() < 0.5:
                st.routes[v] = [s for s in st.routes[v] if not p.stops[s].alternate]
                st.missing_alt.add(v)
        gone = {s for u in chosen for s in p.units[u]}
        st.unassigned.update(chosen)
        for v, seq in enumerate(st.routes):
            if any(s in gone for s in seq) or v in st.missing_alt:
                st.routes[v] = [s for s in seq if s not in gone]
                # removing a stop can break a route (more waiting, a drop-off before a pick-up)
                self._repair_route(st, v)
                if not any(p.stops[s].alternate for s in st.routes[v]) and p.vehicles[v].alternates:
                    st.missing_alt.add(v)


def solve(
    problem: Problem,
    deadline: float,
    *,
    start: list[list[int]] | None = None,
    seed: int = 0,
    solutions: int | None = None,
) -> tuple[list[list[int]], dict[str, Any]]:
    """The best plan found by `deadline` (a `time.monotonic()` value), and statistics;
    `solutions` stops after that many improvements of the starting plan."""
    search = _Search(problem, random.Random(seed))
    state = search.repair(start or [])
    search.recreate(state)
    best, best_total = state.copy(), search.total(state)
    current_total = best_total
    began, iterations, since_best = time.monotonic(), 0, 0
    span = max(1e-3, deadline - began)
    patience = 500 + 50 * len(problem.units)  # small problems settle long before the limit
    improvements = 0
    while time.monotonic() < deadline and since_best < patience:
        if solutions is not None and improvements >= solutions:
            break
        iterations += 1
        since_best += 1
        candidate = state.copy()
        search.ruin(candidate)
        first = search.rng.random() < 0.5
        search.recreate(candidate, noise=0.1, alternates_first=first, deadline=deadline)
        total = search.total(candidate)
        temperature = 0.02 * max(0.0, 1.0 - (time.monotonic() - began) / span)
        if total < current_total * (1.0 + temperature) or math.isclose(total, current_total):
            state, current_total = candidate, total
        if total < best_total - 1e-9:
            best, best_total, since_best = candidate.copy(), total, 0
            improvements += 1
    return best.routes, {"iterations": iterations, "objective": round(best_total, 3)}
