"""Optimize allocations: a plan that moves hours from over-allocated members to others who
have the skills and the free capacity, solved with OR-Tools CP-SAT (a constraint and integer
programming solver) within a time limit.

The model, over the weeks of a window (Monday to Sunday; the capacity arithmetic of
``domain.resources_capacity``, hours in hundredths):

- Movable: the allocations of an over-allocated member that are active in one of their
  over-allocated weeks. Every other allocation stays as it is and uses its member's capacity.
- Candidates for an allocation's hours: active team members, other than its member, who have
  every skill it requires and some free capacity in each week it is active (at most
  ``MAX_CANDIDATES`` of them, the freest first).
- ``x[a, v]``: hundredths of hours per week of allocation ``a`` moved to ``v``; the rest stays.
  Every hour is kept or moved: demand is never dropped.
- Each member's weekly load stays within capacity. A member who was over-allocated may stay
  over by at most what they were (``over[p, w]``): what no move can fix is reported, not
  hidden.
- Objective, lexicographically: first the least over-allocation left; then the fewest
  changes (moves), then the fewest hours moved.

A move covers the part of the allocation inside the window: applying it shortens or splits
the original allocation and creates the receivers' allocations for that part
(``Plan.changes``, one bulk command).
"""

from __future__ import annotations

import math
import time as clock
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID

from application.resources import Change
from domain.resources_capacity import WORKING_DAYS, Booking, Capacity, mondays

MAX_CANDIDATES = 30
HUNDREDTHS = 100
DAY = timedelta(days=1)


@dataclass
class Person:
    user_id: str
    capacity: Capacity
    skills: frozenset[str]
    active: bool


@dataclass
class Demand:
    """An allocation as the optimizer sees it."""

    id: str
    user_id: str
    project_id: str
    hours: Decimal
    start: date
    end: date
    role: str | None = None
    required_skills: tuple[str, ...] = ()
    version: int | None = None


@dataclass
class Move:
    allocation_id: str
    project_id: str
    from_user_id: str
    to_user_id: str
    hours_per_week: Decimal
    start_date: date
    end_date: date


@dataclass
class Unfixed:
    user_id: str
    week_start: date
    over_hours: Decimal
    reason: str


@dataclass
class Plan:
    status: str  # no_over_allocation, solved, partial, timeout
    optimal: bool
    moves: list[Move] = field(default_factory=list)
    unfixed: list[Unfixed] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    over_before: Decimal = Decimal("0.00")
    over_after: Decimal = Decimal("0.00")
    seconds: float = 0.0
    build_seconds: float = 0.0
    variables: int = 0


def _h(value: Decimal) -> int:
    return int((value * HUNDREDTHS).to_integral_value())


def _hours(hundredths: int) -> Decimal:
    return (Decimal(hundredths) / HUNDREDTHS).quantize(Decimal("0.01"))


def _cap5(capacity: Capacity, monday: date) -> int:
    """Five times the week's capacity, in hundredths (an integer: day hours have two decimals
    and the weekly default is split in fifths)."""
    return math.floor(capacity.week(monday) * WORKING_DAYS * HUNDREDTHS)


def optimize(
    people: Iterable[Person],
    demands: Iterable[Demand],
    first: date,
    last: date,
    *,
    time_limit: float = 3.0,
    workers: int = 2,
    max_candidates: int = MAX_CANDIDATES,
) -> Plan:
    started = clock.perf_counter()
    persons = {p.user_id: p for p in people}
    weeks = mondays(first, last)
    first, last = weeks[0], weeks[-1] + timedelta(days=6)
    clipped: dict[str, tuple[date, date]] = {}
    days: dict[str, dict[date, int]] = {}
    all_demands = [d for d in demands if d.end >= first and d.start <= last]
    for d in all_demands:
        lo, hi = max(d.start, first), min(d.end, last)
        clipped[d.id] = (lo, hi)
        booking = Booking(d.id, Fraction(0), lo, hi)
        days[d.id] = {w: n for w in weeks if (n := booking.week_days(w))}
    hundredths = {d.id: _h(d.hours) for d in all_demands}
    by_user: dict[str, list[Demand]] = {}
    for d in all_demands:
        by_user.setdefault(d.user_id, []).append(d)

    capacity5 = {(u, w): _cap5(p.capacity, w) for u, p in persons.items() for w in weeks}

    def cap5(user: str, w: date) -> int:
        return capacity5.get((user, w), 0)

    load5 = {
        (u, w): sum(hundredths[d.id] * days[d.id].get(w, 0) for d in ds)
        for u, ds in by_user.items()
        for w in weeks
    }
    overloaded = {k: v - cap5(*k) for k, v in load5.items() if v > cap5(*k)}
    plan = Plan(status="no_over_allocation", optimal=True)
    plan.over_before = plan.over_after = _hours(sum(overloaded.values()) // WORKING_DAYS)
    if not overloaded:
        plan.seconds = clock.perf_counter() - started
        return plan

    movable = [d for d in all_demands if any((d.user_id, w) in overloaded for w in days[d.id])]
    movable_ids = {d.id for d in movable}
    fixed5 = {
        (u, w): sum(hundredths[d.id] * days[d.id].get(w, 0) for d in ds if d.id not in movable_ids)
        for u, ds in by_user.items()
        for w in weeks
    }

    free = {(u, w): c - fixed5.get((u, w), 0) for (u, w), c in capacity5.items()}

    def free5(user: str, w: date) -> int:
        return free.get((user, w), 0)

    skilled: dict[str, list[str]] = {}
    candidates: dict[str, list[tuple[str, int]]] = {}
    for d in movable:
        need = set(d.required_skills)
        skilled[d.id] = [
            p.user_id
            for p in persons.values()
            if p.active and p.user_id != d.user_id and need <= p.skills
        ]
        ranked = []
        active_days = list(days[d.id].items())
        for v in skilled[d.id]:
            bound = hundredths[d.id]
            for w, n in active_days:
                bound = min(bound, max(0, free.get((v, w), 0)) // n)
                if bound <= 0:
                    break
            if bound > 0:
                ranked.append((v, bound))
        ranked.sort(key=lambda c: (-c[1], c[0]))
        candidates[d.id] = ranked[:max_candidates]

    # Imported here: OR-Tools takes ~0.8 s to import, which every API process would pay.
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x: dict[tuple[str, str], Any] = {}
    y: dict[tuple[str, str], Any] = {}
    kept: dict[str, Any] = {}
    for d in movable:
        kept[d.id] = model.new_int_var(0, hundredths[d.id], f"k_{d.id}")
        for v, bound in candidates[d.id]:
            x[d.id, v] = model.new_int_var(0, bound, f"x_{d.id}_{v}")
            y[d.id, v] = model.new_bool_var(f"y_{d.id}_{v}")
            model.add(x[d.id, v] <= bound * y[d.id, v])
        model.add(kept[d.id] + sum(x[d.id, v] for v, _ in candidates[d.id]) == hundredths[d.id])

    # Per member and week: fixed + kept + received <= capacity (+ the overload they had).
    terms: dict[str, dict[date, list[tuple[Any, int]]]] = {}
    for d in movable:
        for w, n in days[d.id].items():
            terms.setdefault(d.user_id, {}).setdefault(w, []).append((kept[d.id], n))
            for v, _ in candidates[d.id]:
                terms.setdefault(v, {}).setdefault(w, []).append((x[d.id, v], n))
    over_vars: list[Any] = []
    over_of: dict[tuple[str, date], Any] = {}
    seen: dict[tuple[str, tuple], int] = {}
    for user, by_week in terms.items():
        for w, parts in by_week.items():
            rhs = free5(user, w)
            allowed = overloaded.get((user, w), 0)
            if allowed > 0:
                over = model.new_int_var(0, allowed, f"o_{user}_{w}")
                over_vars.append(over)
                over_of[user, w] = over
                model.add(sum(v * n for v, n in parts) <= rhs + over)
                continue
            key = (user, tuple(sorted((v.index, n) for v, n in parts)))
            if key in seen and seen[key] <= rhs:
                continue  # an identical constraint at least as tight exists
            seen[key] = rhs
            model.add(sum(v * n for v, n in parts) <= max(rhs, 0))
    plan.variables = len(x) + len(kept) + len(over_vars)

    plan.build_seconds = clock.perf_counter() - started
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = max(1, workers)
    # The time limit covers building the model too: each phase gets a share of what is left.
    solver.parameters.max_time_in_seconds = max(
        0.1, (time_limit - (clock.perf_counter() - started)) * 0.6
    )
    model.minimize(sum(over_vars))
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        plan.status, plan.optimal = "timeout", False
        plan.unfixed = _unfixed(overloaded, {}, movable, days, skilled, "timeout")
        plan.seconds = clock.perf_counter() - started
        return plan
    optimal = status == cp_model.OPTIMAL
    everything = [*kept.values(), *x.values(), *y.values(), *over_vars]
    first_values = {var.index: solver.value(var) for var in everything}
    model.add(sum(over_vars) <= sum(first_values[o.index] for o in over_vars))
    # From the first phase's answer, minimize changes, then hours moved.
    for var in everything:
        model.add_hint(var, first_values[var.index])
    weight = sum(hundredths[d.id] for d in movable) + 1
    model.minimize(weight * sum(y.values()) + sum(x.values()))
    solver.parameters.max_time_in_seconds = max(
        0.1, (time_limit - (clock.perf_counter() - started)) * 0.9
    )
    second = solver.solve(model)
    if second in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        optimal = optimal and second == cp_model.OPTIMAL
        values = {var.index: solver.value(var) for var in everything}
    else:  # no better plan in time: the first phase's stands
        optimal, values = False, first_values

    def value(var: Any) -> int:
        return values[var.index]

    for d in movable:
        for v, _ in candidates[d.id]:
            amount = value(x[d.id, v])
            if amount > 0:
                lo, hi = clipped[d.id]
                plan.moves.append(Move(d.id, d.project_id, d.user_id, v, _hours(amount), lo, hi))
    left_over = {k: value(var) for k, var in over_of.items() if value(var) > 0}
    plan.unfixed = _unfixed(overloaded, left_over, movable, days, skilled, "partial")
    plan.over_after = _hours(sum(left_over.values()) // WORKING_DAYS)
    plan.status = "partial" if left_over else "solved"
    plan.optimal = optimal
    plan.changes = _changes(plan.moves, {d.id: d for d in movable}, clipped)
    plan.seconds = clock.perf_counter() - started
    return plan


def _unfixed(
    overloaded: dict[tuple[str, date], int],
    left: dict[tuple[str, date], int],
    movable: list[Demand],
    days: dict[str, dict[date, int]],
    skilled: dict[str, list[str]],
    why: str,
) -> list[Unfixed]:
    out = []
    for (user, w), over in sorted(overloaded.items(), key=lambda k: (k[0][0], k[0][1])):
        rest = over if why == "timeout" else left.get((user, w), 0)
        if rest <= 0:
            continue
        active = [d for d in movable if d.user_id == user and w in days[d.id]]
        if why == "timeout":
            reason = "no plan was found within the time limit"
        elif not any(skilled.get(d.id) for d in active):
            needed = sorted({s for d in active for s in d.required_skills})
            reason = "no other active team member" + (
                f" has the skills needed ({', '.join(needed)})" if needed else " to take hours"
            )
        else:
            reason = "the team members with the needed skills have no free hours that week"
        out.append(Unfixed(user, w, _hours(rest // WORKING_DAYS), reason))
    return out


def _changes(
    moves: list[Move], movable: dict[str, Demand], clipped: dict[str, tuple[date, date]]
) -> list[Change]:
    """The bulk command that applies the moves (see the module's docstring)."""
    changes: list[Change] = []
    by_allocation: dict[str, list[Move]] = {}
    for move in moves:
        by_allocation.setdefault(move.allocation_id, []).append(move)
    for ident, its_moves in by_allocation.items():
        d = movable[ident]
        lo, hi = clipped[ident]
        kept = d.hours - sum(m.hours_per_week for m in its_moves)
        outside = []
        if d.start < lo:
            outside.append((d.start, lo - DAY))
        if d.end > hi:
            outside.append((hi + DAY, d.end))
        base = {
            "project_id": d.project_id,
            "role": d.role,
            "required_skills": list(d.required_skills),
        }
        if not outside:
            if kept > 0:
                changes.append(
                    Change(id=UUID(ident), version=d.version, fields={"hours_per_week": kept})
                )
            else:
                changes.append(Change(id=UUID(ident), version=d.version, delete=True))
        else:
            (s0, e0), rest = outside[0], outside[1:]
            changes.append(
                Change(id=UUID(ident), version=d.version, fields={"start_date": s0, "end_date": e0})
            )
            for s1, e1 in rest:
                changes.append(
                    Change(
                        fields={
                            **base,
                            "user_id": d.user_id,
                            "hours_per_week": d.hours,
                            "start_date": s1,
                            "end_date": e1,
                        }
                    )
                )
            if kept > 0:
                changes.append(
                    Change(
                        fields={
                            **base,
                            "user_id": d.user_id,
                            "hours_per_week": kept,
                            "start_date": lo,
                            "end_date": hi,
                        }
                    )
                )
        for move in its_moves:
            changes.append(
                Change(
                    fields={
                        **base,
                        "user_id": move.to_user_id,
                        "hours_per_week": move.hours_per_week,
                        "start_date": lo,
                        "end_date": hi,
                    }
                )
            )
    return changes
