"""Milestones reads that compute: the critical path of a project and the milestone report,
over the read model (rows of ``projections.milestones_queries``). The HTTP layer checks read
access first and renders what these return.

The critical path network: every task (its estimated hours in working days of
``hours_per_day`` hours) and every milestone (zero length); a task's ``dependencies`` and a
milestone's come first; a milestone comes after its linked tasks. Dates count working days
(Monday to Friday) from the project's start date (else the day it was created).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from application.errors import Conflict, NotFound
from domain.milestones_schedule import (
    Schedule,
    ScheduleCycle,
    add_working_days,
    centi_hours,
    critical_path,
    working_days_between,
)
from projections import milestones_queries


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


async def network(conn: AsyncConnection, project_id: UUID, hours_per_day: float) -> Network:
    project = await milestones_queries.project_dates(conn, project_id)
    if project is None:
        raise NotFound("project not found")
    tasks = await milestones_queries.plan_tasks(conn, project_id)
    milestones = await milestones_queries.plan_milestones(conn, project_id)
    kinds: dict[str, str] = {}
    titles: dict[str, str] = {}
    durations: dict[str, int] = {}
    edges: list[tuple[str, str]] = []
    for m in milestones:
        kinds[m["id"]], titles[m["id"]], durations[m["id"]] = "milestone", m["title"], 0
        edges.extend((str(d), m["id"]) for d in m["dependencies"] or ())
    for task_id, title, _status, hours, _actual, dependencies, milestone_id in tasks:
        kinds[task_id], titles[task_id], durations[task_id] = "task", title, centi_hours(hours)
        edges.extend((str(d), task_id) for d in dependencies or ())
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
        return round(offset / self.unit, 4)

    def start_date(self, offset: int, duration: int) -> date:
        """The day work starting at ``offset`` starts on (a zero-length item: the day it
        happens, the day work ending at ``offset`` ends)."""
        if duration == 0:
            return self.finish_date(offset)
        return self.day(offset // self.unit)

    def finish_date(self, offset: int) -> date:
        """The day work ending at ``offset`` ends on (at a day's end: that day)."""
        return self.day(max(-(-offset // self.unit) - 1, 0))


async def critical_path_of(
    conn: AsyncConnection, project_id: UUID, hours_per_day: float
) -> dict[str, Any]:
    net = await network(conn, project_id, hours_per_day)
    schedule = schedule_of(net)
    cal = Calendar(net.start, net.unit)
    items = []
    for item in schedule.order:
        t = schedule.timings[item]
        length = net.durations[item]
        items.append(
            {
                "id": item,
                "type": net.kinds[item],
                "title": net.titles[item],
                "duration_days": cal.days(length),
                "earliest_start": cal.days(t.earliest_start),
                "earliest_finish": cal.days(t.earliest_finish),
                "latest_start": cal.days(t.latest_start),
                "latest_finish": cal.days(t.latest_finish),
                "total_slack": cal.days(t.slack),
                "critical": t.critical,
                "earliest_start_date": cal.start_date(t.earliest_start, length).isoformat(),
                "earliest_finish_date": cal.finish_date(t.earliest_finish).isoformat(),
                "latest_start_date": cal.start_date(t.latest_start, length).isoformat(),
                "latest_finish_date": cal.finish_date(t.latest_finish).isoformat(),
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
    net = await network(conn, project_id, hours_per_day)
    try:
        schedule: Schedule | None = critical_path(net.durations, net.edges)
    except ScheduleCycle:
        schedule = None
    cal = Calendar(net.start, net.unit)
    by_id = {m["id"]: m for m in net.milestones}
    hours: dict[str, list[Decimal]] = {}
    for _id, _title, _status, estimated, actual, _deps, milestone_id in net.tasks:
        if milestone_id is not None:
            sums = hours.setdefault(milestone_id, [Decimal(0), Decimal(0), Decimal(0)])
            sums[0] += estimated or 0
            sums[1] += actual or 0
            sums[2] += 1

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
        estimated, tracked, count = hours.get(m["id"], [Decimal(0), Decimal(0), Decimal(0)])
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
                "tasks": int(count),
                "estimated_hours": float(estimated),
                "tracked_hours": float(tracked),
            }
        )
    return {"project_id": str(project_id), "as_of": today.isoformat(), "milestones": rows}
