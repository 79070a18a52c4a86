"""Milestone planning without state: the critical path method over a project's tasks and
milestones, working-day calendars, and a milestone's progress derived from its tasks.

The critical path is the textbook method (forward pass for the earliest start and finish,
backward pass for the latest, total slack = latest start - earliest start), linear in items
plus edges: one topological order (Kahn's; the standard library's ``graphlib`` names a cycle
when there is one), one pass each way. Durations are integers (hundredths of an hour), so zero slack is
exactly zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from graphlib import CycleError, TopologicalSorter
from typing import Any
from zoneinfo import ZoneInfo

from domain.shared import RuleBroken


class ScheduleCycle(RuleBroken):
    """The dependencies loop back: no schedule exists."""

    code = "cycle"

    def __init__(self, cycle: list[str]) -> None:
        super().__init__(
            f"the dependencies form a cycle: {' -> '.join(cycle)}", kind="dependency", cycle=cycle
        )


@dataclass(slots=True)
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
        return self.latest_start == self.earliest_start


@dataclass(frozen=True)
class Schedule:
    order: list[str]  # a topological order of every item
    timings: dict[str, Timing]
    length: int  # the project's duration: the largest earliest finish (0 when empty)
    chain: list[str]  # the critical chain, from a start to an end, in order


def critical_path(durations: Mapping[str, int], edges: Iterable[tuple[str, str]]) -> Schedule:
    """The schedule of items with these durations, where an edge (a, b) says b starts after
    a finishes. Edges naming unknown items are ignored. A cycle raises ScheduleCycle.

    Items are numbered and the passes run over lists (Kahn's topological order, then one
    pass forward and one back): linear in items + edges. Only when some items are left out
    of the order, i.e. they lie on or behind a cycle, does ``graphlib`` name a cycle."""
    names = list(durations)
    index = {name: i for i, name in enumerate(names)}
    length_of = [durations[name] for name in names]
    n = len(names)
    predecessors: list[list[int]] = [[] for _ in range(n)]
    successors: list[list[int]] = [[] for _ in range(n)]
    for before, after in edges:
        a, b = index.get(before), index.get(after)
        if a is None or b is None:
            continue
        if a == b:
            raise ScheduleCycle([before, before])
        predecessors[b].append(a)
        successors[a].append(b)
    waiting = [len(p) for p in predecessors]
    order = [i for i in range(n) if waiting[i] == 0]
    for i in order:  # grows while it is walked: Kahn's algorithm
        for s in successors[i]:
            waiting[s] -= 1
            if waiting[s] == 0:
                order.append(s)
    if len(order) < n:
        raise ScheduleCycle(_a_cycle(names, predecessors, waiting))
    earliest_start = [0] * n
    earliest_finish = [0] * n
    for i in order:
        start = 0
        for p in predecessors[i]:
            if earliest_finish[p] > start:
                start = earliest_finish[p]
        earliest_start[i] = start
        earliest_finish[i] = start + length_of[i]
    length = max(earliest_finish, default=0)
    latest_start = [0] * n
    latest_finish = [0] * n
    for i in reversed(order):
        finish = length
        for s in successors[i]:
            if latest_start[s] < finish:
                finish = latest_start[s]
        latest_finish[i] = finish
        latest_start[i] = finish - length_of[i]
    timings = {
        names[i]: Timing(earliest_start[i], earliest_finish[i], latest_start[i], latest_finish[i])
        for i in order
    }
    chain = _chain(order, earliest_start, earliest_finish, latest_start, successors, predecessors)
    return Schedule([names[i] for i in order], timings, length, [names[i] for i in chain])


def _a_cycle(names: list[str], predecessors: list[list[int]], waiting: list[int]) -> list[str]:
    """A cycle among the items Kahn's algorithm could not order, found by graphlib, as a
    path where each item waits for the next."""
    left = {i for i, w in enumerate(waiting) if w > 0}
    graph = {i: [p for p in predecessors[i] if p in left] for i in left}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as e:
        return [names[i] for i in reversed(e.args[1])]
    raise AssertionError("unordered items without a cycle")  # pragma: no cover


def _chain(
    order: list[int],
    earliest_start: list[int],
    earliest_finish: list[int],
    latest_start: list[int],
    successors: list[list[int]],
    predecessors: list[list[int]],
) -> list[int]:
    """One critical chain: a critical item without predecessors that starts at 0, then at each
    step a critical successor that starts when the current one finishes, to an item that
    finishes at the project's end. First in topological order at each choice."""
    rank = {item: r for r, item in enumerate(order)}

    def critical(i: int) -> bool:
        return latest_start[i] == earliest_start[i]

    start = next(
        (i for i in order if critical(i) and not predecessors[i] and earliest_start[i] == 0),
        None,
    )
    if start is None:
        return []
    chain = [start]
    while True:
        current = chain[-1]
        following = [
            s
            for s in successors[current]
            if critical(s) and earliest_start[s] == earliest_finish[current]
        ]
        if not following:
            return chain
        chain.append(min(following, key=rank.__getitem__))


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


def overdue_at(due_date: date, zone: str) -> datetime:
    """The instant (UTC) a milestone due on ``due_date`` becomes overdue: the start of the
    next day in ``zone`` (an IANA name, e.g. the workspace's)."""
    local = datetime.combine(due_date + timedelta(days=1), time(), tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC)
