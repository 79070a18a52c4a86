"""Milestone planning without state: the critical path method over a project's tasks and
milestones, working-day calendars, and a milestone's progress derived from its tasks.

The critical path is the textbook method (forward pass for the earliest start and finish,
backward pass for the latest, total slack = latest start - earliest start), linear in items
plus edges: one topological order (the standard library's ``graphlib``, which also names a
cycle), one pass each way. Durations are integers (hundredths of an hour), so zero slack is
exactly zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal
from graphlib import CycleError, TopologicalSorter
from typing import Any

from domain.shared import RuleBroken


class ScheduleCycle(RuleBroken):
    """The dependencies loop back: no schedule exists."""

    code = "cycle"

    def __init__(self, cycle: list[str]) -> None:
        super().__init__(
            f"the dependencies form a cycle: {' -> '.join(cycle)}", kind="dependency", cycle=cycle
        )


@dataclass(frozen=True)
class Timing:
    """One item's place in the schedule, in the duration's unit from the project's start."""

    earliest_start: int
    earliest_finish: int
    latest_start: int
    latest_finish: int

    @property
    def slack(self) -> int:
        return self.latest_start - self.earliest_start

    @property
    def critical(self) -> bool:
        return self.slack == 0


@dataclass(frozen=True)
class Schedule:
    order: list[str]  # a topological order of every item
    timings: dict[str, Timing]
    length: int  # the project's duration: the largest earliest finish (0 when empty)
    chain: list[str]  # the critical chain, from a start to an end, in order


def critical_path(durations: Mapping[str, int], edges: Iterable[tuple[str, str]]) -> Schedule:
    """The schedule of items with these durations, where an edge (a, b) says b starts after
    a finishes. Edges naming unknown items are ignored. A cycle raises ScheduleCycle."""
    predecessors: dict[str, list[str]] = {item: [] for item in durations}
    successors: dict[str, list[str]] = {item: [] for item in durations}
    for before, after in edges:
        if before in predecessors and after in predecessors and before != after:
            predecessors[after].append(before)
            successors[before].append(after)
        elif before == after and before in predecessors:
            raise ScheduleCycle([before, before])
    try:
        order = list(TopologicalSorter(predecessors).static_order())
    except CycleError as e:
        cycle = [str(n) for n in e.args[1]]
        raise ScheduleCycle(cycle) from None
    earliest_finish: dict[str, int] = {}
    earliest_start: dict[str, int] = {}
    for item in order:
        start = max((earliest_finish[p] for p in predecessors[item]), default=0)
        earliest_start[item] = start
        earliest_finish[item] = start + durations[item]
    length = max(earliest_finish.values(), default=0)
    latest_start: dict[str, int] = {}
    latest_finish: dict[str, int] = {}
    for item in reversed(order):
        finish = min((latest_start[s] for s in successors[item]), default=length)
        latest_finish[item] = finish
        latest_start[item] = finish - durations[item]
    timings = {
        item: Timing(earliest_start[item], earliest_finish[item], latest_start[item], finish)
        for item, finish in latest_finish.items()
    }
    return Schedule(order, timings, length, _chain(order, timings, successors, predecessors))


def _chain(
    order: list[str],
    timings: dict[str, Timing],
    successors: dict[str, list[str]],
    predecessors: dict[str, list[str]],
) -> list[str]:
    """One critical chain: a critical item without predecessors that starts at 0, then at each
    step a critical successor that starts when the current one finishes, to an item that
    finishes at the project's end. First in topological order at each choice."""
    rank = {item: i for i, item in enumerate(order)}
    starts = [
        i
        for i in order
        if timings[i].critical and not predecessors[i] and timings[i].earliest_start == 0
    ]
    if not starts:
        return []
    chain = [starts[0]]
    while True:
        current = timings[chain[-1]]
        following = sorted(
            (
                s
                for s in successors[chain[-1]]
                if timings[s].critical and timings[s].earliest_start == current.earliest_finish
            ),
            key=rank.__getitem__,
        )
        if not following:
            return chain
        chain.append(following[0])


# Working days -------------------------------------------------------------------------------


def is_working_day(day: date) -> bool:
    return day.weekday() < 5  # Monday to Friday


def add_working_days(start: date, days: int) -> date:
    """The working day ``days`` working days after ``start`` (``start`` itself moved to the
    next working day first); constant time."""
    while not is_working_day(start):
        start += timedelta(days=1)
    weeks, rest = divmod(days, 5)
    day = start + timedelta(weeks=weeks)
    while rest:
        day += timedelta(days=1)
        if is_working_day(day):
            rest -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days from ``start`` to ``end`` (negative when ``end`` is earlier): how many
    working days one adds to ``start`` to reach ``end``."""
    if end < start:
        return -working_days_between(end, start)
    while not is_working_day(start):
        start += timedelta(days=1)
    weeks, rest = divmod((end - start).days, 7)
    count = weeks * 5
    day = start + timedelta(weeks=weeks)
    for _ in range(rest):
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


def centi_hours(hours: Decimal | float | str | None) -> int:
    """A duration in hundredths of an hour (missing: 0)."""
    if hours is None:
        return 0
    return int((Decimal(str(hours)) * 100).to_integral_value(ROUND_FLOOR))


def finish_day(start: date, offset: int, unit_per_day: int) -> date:
    """The working day on which work ending ``offset`` units after the start ends (work that
    ends exactly at a day's end ends on that day)."""
    whole = -(-offset // unit_per_day)  # ceiling
    return add_working_days(start, max(whole - 1, 0))


def start_day(start: date, offset: int, unit_per_day: int) -> date:
    """The working day on which work starting ``offset`` units after the start starts."""
    return add_working_days(start, offset // unit_per_day)


# Derived progress ---------------------------------------------------------------------------


def derived_progress(entries: Iterable[Mapping[str, Any]]) -> int | None:
    """A milestone's progress from its linked tasks (``done``, ``cancelled``, ``hours``):
    the done tasks' share of the work, each task weighing its estimated hours; a task without
    an estimate weighs the mean estimate of those with one (1 when none has one). Cancelled
    tasks do not count. None when no task counts. 100 only when every counted task is done."""
    counted = [e for e in entries if not e.get("cancelled")]
    if not counted:
        return None
    estimates = [Decimal(str(e["hours"])) for e in counted if e.get("hours")]
    estimates = [h for h in estimates if h > 0]
    default = sum(estimates) / len(estimates) if estimates else Decimal(1)

    def weight(entry: Mapping[str, Any]) -> Decimal:
        hours = Decimal(str(entry["hours"])) if entry.get("hours") else Decimal(0)
        return hours if hours > 0 else default

    total = sum(weight(e) for e in counted)
    done = sum(weight(e) for e in counted if e.get("done"))
    return int((done * 100 / total).to_integral_value(ROUND_FLOOR))
