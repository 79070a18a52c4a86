"""The time tracking aggregates alone (no I/O): segment arithmetic, one timer per user,
overlaps, auto-stop. Properties are checked with hypothesis against a plain model."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from eventsourcing.application import Application
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.shared import Gone, RuleBroken
from domain.time_tracking import (
    EntriesOverlap,
    NoTimer,
    TimeEntry,
    TimerRunning,
    TimeTracker,
    check_timezone,
    duration_of,
    reshape,
)

T0 = datetime(2024, 3, 10, 6, 0, tzinfo=UTC)
USER = uuid.uuid4()


def fields(**extra):
    return {
        "workspace_id": uuid.uuid4(),
        "project_id": uuid.uuid4(),
        "user_id": USER,
        "actor_id": USER,
        "task_id": None,
        "task_type": None,
        "description": "d",
        "is_billable": True,
        "hourly_rate": None,
        "tags": [],
        **extra,
    }


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


ops = st.lists(
    st.tuples(st.sampled_from(["pause", "resume", "stop"]), st.integers(0, 10_000)),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_any_start_pause_resume_stop_sequence_counts_exactly_the_running_time(steps):
    """The duration is the sum of the spans between start/resume and pause/stop, whatever
    the order of commands (ones that do not apply are refused and change nothing)."""
    entry = TimeEntry.start(at=T0, auto_stop_after=None, **fields())
    now, running_since, running_total, state = T0, T0, 0, "running"
    for op, gap in steps:
        now += timedelta(seconds=gap)
        allowed = {
            "running": {"pause", "stop"},
            "paused": {"resume", "stop"},
            "stopped": set(),
        }[state]
        before = (entry.version, [list(s) for s in entry.segments])
        if op not in allowed:
            with pytest.raises(NoTimer):
                getattr(entry, op)(USER, now)
            assert (entry.version, entry.segments) == before
            continue
        getattr(entry, op)(USER, now)
        if op in ("pause", "stop") and state == "running":
            running_total += int((now - running_since).total_seconds())
        if op == "resume":
            running_since = now
        state = {"pause": "paused", "resume": "running", "stop": "stopped"}[op]
    live = running_total + (int((now - running_since).total_seconds()) if state == "running" else 0)
    assert entry.duration(now) == live
    assert entry.duration() == running_total
    assert (entry.is_running, entry.is_paused, entry.stopped) == (
        state == "running",
        state == "paused",
        state == "stopped",
    )
    # Segments: ordered, disjoint, only the last may be open; pauses are the gaps.
    flat = [t for s in entry.segments for t in s if t is not None]
    assert flat == sorted(flat)
    assert all(e is not None for _, e in entry.segments[:-1])
    if state == "stopped":
        assert entry.end_time == entry.segments[-1][1]
        assert entry.tracked() is None  # no card or task


@settings(max_examples=200, deadline=None)
@given(ops, st.integers(60, 5000))
def test_auto_stop_cuts_the_running_time_at_exactly_the_limit(steps, limit):
    entry = TimeEntry.start(at=T0, auto_stop_after=limit, **fields())
    now = T0
    for op, gap in steps:
        now += timedelta(seconds=gap)
        if entry.overdue(now):
            assert entry.auto_stop(USER, now)
            assert entry.duration() == limit
            assert "auto-stop limit" in entry.note
            return
        try:
            getattr(entry, op)(USER, now)
        except NoTimer:
            continue
        assert entry.duration() <= limit
    if entry.is_running:
        later = now + timedelta(seconds=limit)
        assert entry.overdue(later) == entry.auto_stop_at()
        assert entry.auto_stop(USER, later)
        assert entry.duration() == limit
        assert not entry.auto_stop(USER, later)  # idempotent


def test_a_paused_timer_is_never_overdue_and_resuming_moves_the_limit():
    entry = TimeEntry.start(at=T0, auto_stop_after=600, **fields())
    assert entry.auto_stop_at() == at(600)
    entry.pause(USER, at(100))
    assert entry.auto_stop_at() is None
    assert entry.overdue(at(100_000)) is None
    entry.resume(USER, at(1000))
    assert entry.auto_stop_at() == at(1500)
    entry.stop(USER, at(1200))
    assert entry.duration() == 300


def test_stopping_a_paused_timer_ends_it_where_it_paused():
    entry = TimeEntry.start(at=T0, auto_stop_after=None, **fields())
    entry.pause(USER, at(300))
    entry.stop(USER, at(5000))
    assert entry.end_time == at(300)
    assert entry.duration() == 300


def test_a_clock_that_goes_back_never_makes_negative_time():
    entry = TimeEntry.start(at=T0, auto_stop_after=None, **fields())
    entry.pause(USER, at(-50))
    assert entry.segments == [[T0, T0]]
    entry.resume(USER, at(-100))
    entry.stop(USER, at(-200))
    assert entry.duration() == 0


spans = st.lists(st.tuples(st.integers(0, 200), st.integers(1, 50)), min_size=1, max_size=25)


@settings(max_examples=300, deadline=None)
@given(spans)
def test_the_tracker_books_an_entry_exactly_when_it_overlaps_none(requests):
    tracker = TimeTracker(user_id=USER)
    booked: list[tuple[int, int]] = []
    for start, length in requests:
        end = start + length
        entry = TimeEntry.record(start=at(start * 60), end=at(end * 60), **fields())
        clash = any(start < e and s < end for s, e in booked)
        if clash:
            with pytest.raises(EntriesOverlap):
                tracker.book(USER, entry.id, entry.project_id, entry.segments, timer=False)
        else:
            tracker.book(USER, entry.id, entry.project_id, entry.segments, timer=False)
            booked.append((start, end))
    assert len(tracker.bookings) == len(booked)


def test_one_open_timer_per_tracker():
    tracker = TimeTracker(user_id=USER)
    first = TimeEntry.start(at=T0, auto_stop_after=None, **fields())
    tracker.book(USER, first.id, first.project_id, first.segments, timer=True)
    second = TimeEntry.start(at=at(60), auto_stop_after=None, **fields())
    with pytest.raises(TimerRunning) as refused:
        tracker.book(USER, second.id, second.project_id, second.segments, timer=True)
    assert refused.value.extra["running_entry_id"] == str(first.id)
    # The running timer's open segment overlaps anything after its start...
    manual = TimeEntry.record(start=at(-60), end=at(30), **fields())
    with pytest.raises(EntriesOverlap):
        tracker.book(USER, manual.id, manual.project_id, manual.segments, timer=False)
    # ...but not what ends before it.
    before = TimeEntry.record(start=at(-60), end=T0, **fields())
    tracker.book(USER, before.id, before.project_id, before.segments, timer=False)
    first.stop(USER, at(120))
    tracker.book(USER, first.id, first.project_id, first.segments, timer=False)
    assert tracker.timer is None
    tracker.book(USER, second.id, second.project_id, reshape(second.segments, at(120), None), True)
    assert tracker.timer == str(second.id)
    tracker.release(USER, second.id)
    assert tracker.timer is None


def test_rebooking_an_unchanged_entry_records_nothing():
    tracker = TimeTracker(user_id=USER)
    entry = TimeEntry.record(start=T0, end=at(60), **fields())
    tracker.book(USER, entry.id, entry.project_id, entry.segments, timer=False)
    version = tracker.version
    tracker.book(USER, entry.id, entry.project_id, entry.segments, timer=False)
    assert tracker.version == version


times = st.integers(0, 1000)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(times, times), min_size=1, max_size=6), times, times)
def test_reshape_keeps_pauses_inside_the_new_bounds(raw, lo, length):
    points = sorted({t for pair in raw for t in pair})
    if len(points) < 2:
        return
    segments = [[at(points[i]), at(points[i + 1])] for i in range(0, len(points) - 1, 2)]
    start, end = at(lo), at(lo + length + 1)
    result = reshape(segments, start, end)
    assert result[0][0] == start
    assert result[-1][1] == end
    flat = [t for s in result for t in s]
    assert flat == sorted(flat)
    assert all(s < e for s, e in result)
    assert duration_of(result) <= int((end - start).total_seconds())
    # Inside the bounds, what ran still ran and what was a pause is still a pause.
    for s, e in segments:
        for t in (s, e - timedelta(seconds=1)):
            if start < t < end - timedelta(seconds=1) and s <= t < e:
                assert any(a <= t < b for a, b in result)


def test_edits_check_their_rules():
    entry = TimeEntry.record(start=T0, end=at(3600), **fields(tags=["a"]))
    assert entry.edit(USER, end_time=at(1800)) is True
    assert entry.duration() == 1800
    assert entry.edit(USER, description="d") is False  # unchanged: nothing recorded
    with pytest.raises(RuleBroken):
        entry.edit(USER, end_time=at(-1))
    with pytest.raises(RuleBroken):
        entry.edit(USER, hourly_rate=Decimal("-1"))
    with pytest.raises(RuleBroken):
        entry.edit(USER, task_id=uuid.uuid4())  # without its type
    entry.delete(USER)
    with pytest.raises(Gone):
        entry.edit(USER, description="x")


def test_settings_are_checked():
    tracker = TimeTracker(user_id=USER)
    tracker.change_settings(USER, timezone="America/New_York", auto_stop_duration=60)
    assert tracker.settings["timezone"] == "America/New_York"
    assert tracker.settings["require_description"] is True  # the spec's default
    for bad in (
        {"timezone": "Nowhere/Town"},
        {"timezone": ""},
        {"auto_stop_duration": 59},
        {"default_hourly_rate": Decimal("-0.01")},
        {"colour": "red"},
    ):
        with pytest.raises(RuleBroken):
            tracker.change_settings(USER, **bad)
    version = tracker.version
    tracker.change_settings(USER, timezone="America/New_York")
    assert tracker.version == version
    assert check_timezone("Asia/Kolkata").key == "Asia/Kolkata"


def test_the_tracker_id_is_derived_from_the_user():
    assert TimeTracker.id_for(USER) == TimeTracker(user_id=USER).id
    assert TimeTracker.id_for(USER) != TimeTracker.id_for(uuid.uuid4())


def test_entries_and_trackers_survive_the_event_store_round_trip():
    app = Application()
    entry = TimeEntry.start(at=T0, auto_stop_after=3600, **fields(hourly_rate=Decimal("12.50")))
    entry.pause(USER, at(60))
    entry.resume(USER, at(120))
    entry.stop(USER, at(200))
    tracker = TimeTracker(user_id=USER)
    tracker.book(USER, entry.id, entry.project_id, entry.segments, timer=False)
    tracker.change_settings(USER, default_hourly_rate=Decimal("99.99"))
    app.save(entry, tracker)
    copy = app.repository.get(entry.id)
    assert copy.segments == entry.segments
    assert copy.duration() == 140
    assert copy.hourly_rate == Decimal("12.50")
    topics = [type(e).__qualname__ for e in app.repository.event_store.get(entry.id)]
    assert topics == [
        "TimeEntry.Started",
        "TimeEntry.Paused",
        "TimeEntry.Resumed",
        "TimeEntry.Stopped",
    ]
    assert app.repository.get(tracker.id).bookings == tracker.bookings
