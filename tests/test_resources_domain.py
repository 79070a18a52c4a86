"""Resource allocation rules without PostgreSQL: capacity with part-time patterns and leave,
allocations spread over working days, conflicts at week boundaries, tracked time split by
weeks in a time zone, and the Workload's conflict bookkeeping."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from domain.resources import Allocation, TeamMember, Workload
from domain.resources_capacity import (
    Booking,
    Capacity,
    mondays,
    normalize_availability,
    overloads,
    seconds_by_week,
    zone_name,
)
from domain.shared import Gone, RuleBroken

WS, USER = uuid.uuid4(), uuid.uuid4()
MON = date(2027, 1, 4)  # a Monday


def cap(capacity: int = 40, **availability) -> Capacity:
    return Capacity.of(capacity, normalize_availability(availability), True)


def book(ident: str, hours: float, start: str, end: str) -> Booking:
    return Booking.of(ident, hours, start, end)


def test_a_week_of_capacity_with_part_time_patterns_and_leave():
    assert cap().week(MON) == 40
    assert cap(weekdays={"fri": 0}).week(MON) == 32  # Fridays off
    assert cap(weekdays={"wed": 4}).week(MON) == 36  # 4 h on Wednesdays
    assert cap(weekdays={"sat": "3.5"}).week(MON) == Fraction(87, 2)
    on_leave = cap(leave=[{"start": "2027-01-06", "end": "2027-01-12"}])
    assert on_leave.week(MON) == 16  # Monday and Tuesday left
    assert on_leave.week(date(2027, 1, 11)) == 24  # back on Wednesday
    assert Capacity.of(40, {}, False).week(MON) == 0  # inactive


def test_availability_is_checked_and_normalized():
    assert normalize_availability(
        {"weekdays": {"fri": 0}, "leave": [{"start": "2027-02-01", "end": "2027-02-01"}]}
    ) == {"weekdays": {"fri": "0.00"}, "leave": [{"start": "2027-02-01", "end": "2027-02-01"}]}
    for bad in (
        {"weekdays": {"funday": 1}},
        {"weekdays": {"mon": 25}},
        {"leave": [{"start": "2027-02-02", "end": "2027-02-01"}]},
        {"holidays": []},
    ):
        with pytest.raises(ValueError):
            normalize_availability(bad)


def test_an_allocation_counts_by_its_working_days_in_the_week():
    whole = book("a", 20, "2027-01-04", "2027-01-31")
    assert whole.week(MON) == 20
    starts_wednesday = book("b", 20, "2027-01-06", "2027-01-31")
    assert starts_wednesday.week(MON) == 12  # Wed, Thu, Fri
    weekend_only = book("c", 20, "2027-01-09", "2027-01-10")
    assert weekend_only.week(MON) == 0
    assert [m.isoformat() for m in mondays(date(2027, 1, 10), date(2027, 1, 11))] == [
        "2027-01-04",
        "2027-01-11",
    ]


def test_back_to_back_allocations_in_one_week_are_no_conflict():
    # One ends on Wednesday, the next starts on Thursday: 40 h that week, not 80.
    first = book("a", 40, "2026-12-28", "2027-01-06")
    second = book("b", 40, "2027-01-07", "2027-01-31")
    assert overloads(WS, USER, cap(), [first, second]) == []
    # Sunday and Monday are in different ISO weeks.
    sunday = book("c", 40, "2026-12-28", "2027-01-03")
    monday = book("d", 40, "2027-01-04", "2027-01-10")
    assert overloads(WS, USER, cap(), [sunday, monday]) == []


def test_conflicts_are_runs_of_weeks_with_the_same_allocations():
    a = book("a", 30, "2027-01-04", "2027-01-31")  # 4 weeks
    b = book("b", 20, "2027-01-11", "2027-01-24")  # weeks 2-3
    c = book("c", 20, "2027-01-25", "2027-01-27")  # Mon-Wed of week 4: 12 h
    found = overloads(WS, USER, cap(), [a, b, c])
    assert [
        (o.allocation_ids, o.start_date.isoformat(), o.end_date.isoformat()) for o in found
    ] == [
        (("a", "b"), "2027-01-11", "2027-01-24"),
        (("a", "c"), "2027-01-25", "2027-01-31"),
    ]
    assert [o.percentage for o in found] == [Decimal("25.00"), Decimal("5.00")]
    assert [o.over_hours for o in found] == [Decimal("10.00"), Decimal("2.00")]
    again = overloads(WS, USER, cap(), [c, b, a])
    assert [o.id for o in again] == [o.id for o in found]  # deterministic ids


def test_part_time_and_leave_make_conflicts_of_their_own():
    work = book("a", 32, "2027-01-04", "2027-01-24")
    assert overloads(WS, USER, cap(), [work]) == []
    fridays_off = overloads(WS, USER, cap(weekdays={"fri": 0}), [work])
    assert fridays_off == []  # 32 h fit 32 h
    wednesday_short = overloads(WS, USER, cap(weekdays={"fri": 0, "wed": 4}), [work])
    assert wednesday_short[0].percentage == Decimal("14.29")  # 32 on 28
    on_leave = overloads(
        WS, USER, cap(leave=[{"start": "2027-01-11", "end": "2027-01-17"}]), [work]
    )
    (leave,) = on_leave
    assert (leave.start_date, leave.end_date) == (date(2027, 1, 11), date(2027, 1, 17))
    assert leave.percentage == Decimal("999.99")  # no capacity that week


def test_tracked_time_is_split_at_monday_midnight_in_the_zone():
    # Sunday 2027-01-10 23:30 UTC to Monday 00:30 UTC.
    segment = [
        [datetime(2027, 1, 10, 23, 30, tzinfo=UTC), datetime(2027, 1, 11, 0, 30, tzinfo=UTC)]
    ]
    assert seconds_by_week(segment, "UTC") == {"2027-01-04": 1800, "2027-01-11": 1800}
    # In Berlin (UTC+1) all of it is Monday morning: the next week.
    assert seconds_by_week(segment, "Europe/Berlin") == {"2027-01-11": 3600}
    # In New York (UTC-5) all of it is Sunday evening: the week before.
    assert seconds_by_week(segment, "America/New_York") == {"2027-01-04": 3600}


def test_a_workspace_zone_comes_from_its_settings():
    assert zone_name({"timezone": "Asia/Tokyo"}) == "Asia/Tokyo"
    assert zone_name({"timezone": "Mars/Olympus"}) == "UTC"
    assert zone_name({}) == "UTC"


def test_allocation_rules():
    def new(**kw):
        values = {
            "workspace_id": WS,
            "project_id": uuid.uuid4(),
            "user_id": USER,
            "actor_id": USER,
            "hours_per_week": Decimal(10),
            "start_date": MON,
            "end_date": date(2027, 1, 31),
            **kw,
        }
        return Allocation.book(**values)

    with pytest.raises(RuleBroken, match="hours_per_week"):
        new(hours_per_week=Decimal(0))
    with pytest.raises(RuleBroken, match="end_date"):
        new(end_date=date(2027, 1, 1))
    with pytest.raises(RuleBroken, match="731"):
        new(end_date=date(2029, 1, 31))
    allocation = new(required_skills=["Go", "go", " SQL "])
    assert allocation.required_skills == ["go", "sql"]
    assert allocation.update(USER, hours_per_week=Decimal(10)) is False
    assert allocation.update(USER, hours_per_week=Decimal(12)) is True
    allocation.delete(USER)
    with pytest.raises(Gone):
        allocation.update(USER, hours_per_week=Decimal(1))


def test_team_member_ids_and_updates():
    member = TeamMember.add(workspace_id=WS, user_id=USER, actor_id=USER, skills=["Py"])
    assert member.id == TeamMember.id_for(WS, USER)
    assert member.skills == ["py"]
    assert member.update(USER, capacity=40) is False
    with pytest.raises(RuleBroken, match="capacity"):
        member.update(USER, capacity=200)
    with pytest.raises(RuleBroken, match="availability"):
        member.update(USER, availability={"weekdays": {"xyz": 1}})


def test_workload_detects_updates_clears_and_respects_a_managers_decision():
    workload = Workload(workspace_id=WS, user_id=USER)
    a, b = book("a", 30, "2027-01-04", "2027-01-10"), book("b", 20, "2027-01-04", "2027-01-10")
    found = overloads(WS, USER, cap(), [a, b])
    workload.reconcile(found, "test")
    workload.reconcile(found, "test")  # idempotent
    names = [type(e).__name__ for e in workload.collect_events()]
    assert names == ["Created", "ConflictDetected"]
    (conflict,) = found
    b2 = book("b", 25, "2027-01-04", "2027-01-10")
    workload.reconcile(overloads(WS, USER, cap(), [a, b2]), "test")
    assert [type(e).__name__ for e in workload.collect_events()] == ["ConflictChanged"]
    workload.close_conflict(USER, conflict.id, "ignored", {"why": "ok"})
    with pytest.raises(RuleBroken):
        workload.close_conflict(USER, conflict.id, "resolved", {})
    workload.reconcile([], "allocation deleted")  # an ignored conflict stays ignored
    assert [type(e).__name__ for e in workload.collect_events()] == ["ConflictClosed"]
    assert workload.conflict_version(conflict.id) == 3


def test_resource_events_get_the_spec_names_and_rooms():
    from interfaces.realtime.names import route

    allocation = Allocation.book(
        workspace_id=WS,
        project_id=uuid.uuid4(),
        user_id=USER,
        actor_id=USER,
        hours_per_week=Decimal(30),
        start_date=MON,
        end_date=date(2027, 1, 10),
    )
    workload = Workload(workspace_id=WS, user_id=USER)
    workload.reconcile(
        overloads(WS, USER, cap(20), [book("a", 30, "2027-01-04", "2027-01-10")]), "t"
    )
    workload.reconcile([], "allocation deleted")
    workload.record_utilization(
        [{"period_start": "2027-01-04", "capacity": "40.00", "allocated": "0.00", "actual": "0.00"}]
    )
    events = allocation.collect_events() + workload.collect_events()[1:]
    routes = [route(e, i) for i, e in enumerate(events, 1)]
    assert [r.name for r in routes] == [
        "resource:allocation:created",
        "resource:conflict:detected",
        "resource:conflict:resolved",
        "resource:utilization:updated",
    ]
    assert routes[0].rooms == {f"workspace:{WS}", f"user:{USER}"}
    assert routes[1].payload["resource"]["type"] == "conflict"
    assert routes[3].rooms == {f"workspace:{WS}"}
