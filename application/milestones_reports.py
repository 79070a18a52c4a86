"""Milestones reads that compute: the critical path of a project and the milestone report,
over the read model (rows of ``projections.milestones_queries``). The HTTP layer checks read
access first and renders what these return.

The critical path network: every task (its estimated hours in working days of
``hours_per_day`` hours) and every milestone (zero length); a task's ``dependencies`` and a
milestone's come first; a milestone comes after its linked tasks. Dates count working days
(Monday to Friday) from the project's start date (else the day it was created).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson

if TYPE_CHECKING:
    from psycopg import AsyncConnection

from application.errors import Conflict, NotFound
from domain.milestones_schedule import (
    Schedule,
    ScheduleCycle,
    add_working_days,
    critical_path,
    working_days_between,
)
from projections import milestones_queries


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a large network is read, built and scheduled (for
    the length of two queries and the computation). Its tens of thousands of small lists, tuples and dicts would trigger collections
    that walk the whole long-lived heap of an API process (cached aggregates...): measured,
    they doubled the critical path's CPU in a server. Reference counting still frees
    everything; a collection may run afterwards as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class Network:
    start: date
    end: date | None
    unit: int  # centi-hours per working day
    kinds: dict[str, str]  # item id -> "task" | "milestone"
    titles: dict[str, str]
    durations: dict[str, int]
    edges: list[tuple[str, str]]
    tasks: list[tuple]
    milestones: list[dict[str, Any]]


async def network(
    conn: AsyncConnection, project_id: UUID, hours_per_day: float, *, report: bool = False
) -> Network:
    project = await milestones_queries.project_dates(conn, project_id)
    if project is None:
        raise NotFound("project not found")
    tasks = await milestones_queries.plan_tasks(conn, project_id)
    milestones = await milestones_queries.plan_milestones(
        conn, project_id, with_deliverables=report
    )
    kinds: dict[str, str] = {}
    titles: dict[str, str] = {}
    durations: dict[str, int] = {}
    edges: list[tuple[str, str]] = []
    with paused_gc():
        for m in milestones:
            kinds[m["id"]], titles[m["id"]], durations[m["id"]] = "milestone", m["title"], 0
            edges.extend((str(d), m["id"]) for d in m["dependencies"] or ())
        for task_id, title, dependencies, milestone_id, centi in tasks:
            kinds[task_id], titles[task_id], durations[task_id] = "task", title, centi
            if dependencies and dependencies != "[]":
                edges.extend((d, task_id) for d in orjson.loads(dependencies))
            if milestone_id is not None:
                edges.append((task_id, milestone_id))
    start = project["start_date"] or project["created_at"].date()
    unit = max(1, round(hours_per_day * 100))
    return Network(
        start, project["end_date"], unit, kinds, titles, durations, edges, tasks, milestones
    )


def schedule_of(net: Network) -> Schedule:
    try:
        return critical_path(net.durations, net.edges)
    except ScheduleCycle as e:
        conflict = Conflict(e.detail, **e.extra)
        conflict.code = e.code
        raise conflict from None


class Calendar:
    """Offsets (centi-hours from the start) to working days and dates, dates remembered."""

    def __init__(self, start: date, unit: int) -> None:
        self.start, self.unit = start, unit
        self._dates: dict[int, date] = {}
        self._iso: dict[int, str] = {}  # working day -> date
        self._starts: dict[int, str] = {}  # offset -> the day work starting then starts
        self._finishes: dict[int, str] = {}  # offset -> the day work ending then ends

    def iso(self, index: int) -> str:
        found = self._iso.get(index)
        if found is None:
            found = self._iso[index] = self.day(index).isoformat()
        return found

    def start_iso(self, offset: int, duration: int) -> str:
        if duration == 0:
            return self.finish_iso(offset)
        found = self._starts.get(offset)
        if found is None:
            found = self._starts[offset] = self.iso(offset // self.unit)
        return found

    def finish_iso(self, offset: int) -> str:
        found = self._finishes.get(offset)
        if found is None:
            found = self._finishes[offset] = self.iso(max(-(-offset // self.unit) - 1, 0))
        return found

    def day(self, index: int) -> date:
        found = self._dates.get(index)
        if found is None:
            try:
                found = add_working_days(self.start, index)
            except OverflowError:  # past year 9999
                found = date.max
            self._dates[index] = found
        return found

    def days(self, offset: int) -> float:
        return offset / self.unit

    def finish_date(self, offset: int) -> date:
        """The day work ending at ``offset`` ends on (at a day's end: that day)."""
        return self.day(max(-(-offset // self.unit) - 1, 0))


async def critical_path_of(
    conn: AsyncConnection, project_id: UUID, hours_per_day: float
) -> dict[str, Any]:
    with paused_gc():  # the fetch of the rows too (short: two queries)
        net = await network(conn, project_id, hours_per_day)
        return _critical_path_answer(project_id, hours_per_day, net)


def _critical_path_answer(project_id: UUID, hours_per_day: float, net: Network) -> dict[str, Any]:
    schedule = schedule_of(net)
    cal = Calendar(net.start, net.unit)
    unit, durations, kinds, titles = net.unit, net.durations, net.kinds, net.titles
    start_iso, finish_iso = cal.start_iso, cal.finish_iso
    items = []
    for item in schedule.order:  # one pass, local names: ten thousand items and more
        t = schedule.timings[item]
        es, ef, ls, lf = t.earliest_start, t.earliest_finish, t.latest_start, t.latest_finish
        length = durations[item]
        items.append(
            {
                "id": item,
                "type": kinds[item],
                "title": titles[item],
                "duration_days": length / unit,
                "earliest_start": es / unit,
                "earliest_finish": ef / unit,
                "latest_start": ls / unit,
                "latest_finish": lf / unit,
                "total_slack": (ls - es) / unit,
                "critical": ls == es,
                "earliest_start_date": start_iso(es, length),
                "earliest_finish_date": finish_iso(ef),
                "latest_start_date": start_iso(ls, length),
                "latest_finish_date": finish_iso(lf),
            }
        )
    finish = cal.finish_date(schedule.length)
    return {
        "project_id": str(project_id),
        "start_date": net.start.isoformat(),
        "end_date": net.end.isoformat() if net.end else None,
        "hours_per_day": hours_per_day,
        "duration_days": cal.days(schedule.length),
        "projected_finish_date": finish.isoformat(),
        "slip_days": working_days_between(net.end, finish) if net.end else None,
        "critical_path": schedule.chain,
        "items": items,
    }


# The milestone report -----------------------------------------------------------------------


def _reason(code: str, detail: str) -> dict[str, str]:
    return {"code": code, "detail": detail}


def _elapsed_percent(created: date, due: date, today: date) -> int:
    if due <= created:
        return 100
    return max(0, min(100, (today - created).days * 100 // (due - created).days))


async def milestone_report(
    conn: AsyncConnection, project_id: UUID, hours_per_day: float, today: date | None = None
) -> dict[str, Any]:
    """Each milestone: completed, cancelled, overdue (past due), at risk (progress behind the
    time elapsed since it was created; a dependency late; the critical path projects it to
    finish after its due date) or on track, with the reasons; deliverables done and pending;
    its linked tasks' estimated and tracked hours."""
    today = today or datetime.now(UTC).date()
    net = await network(conn, project_id, hours_per_day, report=True)
    try:
        with paused_gc():
            schedule: Schedule | None = critical_path(net.durations, net.edges)
    except ScheduleCycle:
        schedule = None
    cal = Calendar(net.start, net.unit)
    by_id = {m["id"]: m for m in net.milestones}
    hours = {
        row["milestone_id"]: row
        for row in await milestones_queries.milestone_task_hours(conn, project_id)
    }
    none = {"tasks": 0, "estimated_hours": Decimal(0), "tracked_hours": Decimal(0)}

    def late(dependency: dict[str, Any], due: date) -> bool:
        if dependency["status"] in ("completed", "cancelled"):
            return False
        return dependency["due_date"] < today or dependency["due_date"] > due

    rows = []
    for m in net.milestones:
        due = m["due_date"]
        projected = None
        if schedule is not None:
            projected = cal.finish_date(schedule.timings[m["id"]].earliest_finish)
        reasons = []
        if m["status"] in ("completed", "cancelled"):
            state = m["status"]
        else:
            if due < today:
                reasons.append(_reason("past_due", f"was due on {due.isoformat()}"))
            elapsed = _elapsed_percent(m["created_at"].date(), due, today)
            if m["progress"] < elapsed:
                reasons.append(
                    _reason(
                        "behind_schedule",
                        f"progress {m['progress']}% behind the {elapsed}% of its time elapsed",
                    )
                )
            for dependency_id in m["dependencies"] or ():
                dependency = by_id.get(str(dependency_id))
                if dependency is not None and late(dependency, due):
                    reasons.append(
                        _reason("dependency_late", f"depends on {dependency['title']!r}, late")
                    )
            if projected is not None and projected > due:
                reasons.append(
                    _reason(
                        "projected_late",
                        f"the critical path projects it on {projected.isoformat()}",
                    )
                )
            state = "overdue" if due < today else ("at_risk" if reasons else "on_track")
        linked = hours.get(m["id"], none)
        rows.append(
            {
                "milestone_id": m["id"],
                "title": m["title"],
                "due_date": due.isoformat(),
                "status": m["status"],
                "progress": m["progress"],
                "state": state,
                "reasons": reasons,
                "projected_finish_date": projected.isoformat() if projected else None,
                "deliverables_done": m["deliverables_done"],
                "deliverables_pending": m["deliverables_pending"],
                "tasks": linked["tasks"],
                "estimated_hours": float(linked["estimated_hours"]),
                "tracked_hours": float(linked["tracked_hours"]),
            }
        )
    return {"project_id": str(project_id), "as_of": today.isoformat(), "milestones": rows}
