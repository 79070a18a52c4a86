"""Time tracking rules without state: the settings and their defaults, the rules' errors,
segment arithmetic, and the checks of an entry's fields and span (domain.time_tracking
holds the aggregates)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.shared import RuleBroken

TASK_TYPES = ("card", "task")  # what an entry's task_id names: a kanban card or a task
STOP_REASONS = ("stopped", "auto_stop", "replaced")
MIN_AUTO_STOP = 60  # seconds
MAX_AUTO_STOP = 7 * 86400
MAX_ENTRY_SECONDS = 999 * 3600  # an entry's span (as in Toggl): durations stay storable
SETTINGS_DEFAULTS: dict[str, Any] = {
    "default_hourly_rate": None,
    "auto_stop_timer": True,
    "auto_stop_duration": 3600,  # seconds of running time
    "require_description": True,
    "default_billable": True,
    "timezone": "UTC",
    # Starting a timer while one runs: False -> 409; True -> the running one is stopped.
    "stop_running_on_start": False,
}
ENTRY_FIELDS = ("description", "is_billable", "hourly_rate", "tags", "project_id", "task_id")

Segment = list[Any]  # [start: datetime, end: datetime | None] (None: still running)


class TimerRunning(RuleBroken):
    code = "timer-running"


class NoTimer(RuleBroken):
    code = "no-timer"


class EntriesOverlap(RuleBroken):
    code = "time-overlap"


# Segment arithmetic (pure) ------------------------------------------------------------------


def seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def duration_of(segments: list[Segment], now: datetime | None = None) -> int:
    """Seconds of running time: closed segments, plus the open one up to ``now`` if given."""
    total = 0
    for start, end in segments:
        if end is not None:
            total += seconds(end - start)
        elif now is not None:
            total += max(0, seconds(now - start))
    return total


def reshape(segments: list[Segment], start: datetime, end: datetime | None) -> list[Segment]:
    """New segments for an entry whose bounds are set to ``start`` .. ``end``.

    The segments are clipped to the new bounds (pauses inside them are kept), then the first
    one is stretched back to ``start`` and the last one on to ``end``. ``end`` None keeps the
    last segment's own end (an open timer). When nothing is left, the entry becomes one
    segment ``start`` .. ``end``.
    """
    kept: list[Segment] = []
    for s, e in segments:
        lo = max(s, start)
        hi = e if end is None else (end if e is None else min(e, end))
        if hi is None or lo < hi:
            kept.append([lo, hi])
    if not kept:
        if end is None:
            raise RuleBroken("start_time is after all the time tracked so far")
        return [[start, end]]
    kept[0][0] = start
    if end is not None:
        kept[-1][1] = end
    return kept


def epochs(segments: list[Segment]) -> list[list[int | None]]:
    return [[int(s.timestamp()), None if e is None else int(e.timestamp())] for s, e in segments]


def overlap(a: list[list[int | None]], b: list[list[int | None]]) -> bool:
    """Whether two lists of [start, end] epoch spans intersect (an end None runs on)."""
    for s1, e1 in a:
        for s2, e2 in b:
            if (e2 is None or s1 < e2) and (e1 is None or s2 < e1):
                return True
    return False


def check_settings(fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(SETTINGS_DEFAULTS)
    if unknown:
        raise RuleBroken(f"not a setting: {', '.join(sorted(unknown))}")
    if "timezone" in fields:
        check_timezone(fields["timezone"])
    duration = fields.get("auto_stop_duration")
    if duration is not None and not MIN_AUTO_STOP <= duration <= MAX_AUTO_STOP:
        raise RuleBroken(
            f"auto_stop_duration must be between {MIN_AUTO_STOP} and {MAX_AUTO_STOP} seconds"
        )
    rate = fields.get("default_hourly_rate")
    if rate is not None and rate < 0:
        raise RuleBroken("default_hourly_rate must not be negative")


def check_timezone(name: str) -> ZoneInfo:
    """The zone of an IANA name ('Europe/Paris'), or RuleBroken."""
    try:
        if not name or name != name.strip() or name.startswith(("/", ".")):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleBroken(f"unknown time zone {name!r}") from None


def check_span(start: datetime, end: datetime) -> None:
    """End after start, and at most MAX_ENTRY_SECONDS apart (for an open timer: from its
    start to when it last started running, a time of the server's clock)."""
    if end <= start:
        raise RuleBroken("end_time must be after start_time")
    if (end - start).total_seconds() > MAX_ENTRY_SECONDS:
        raise RuleBroken(f"an entry lasts at most {MAX_ENTRY_SECONDS // 3600} hours")


def check_fields(fields: dict[str, Any]) -> None:
    if fields.get("task_type") is not None and fields["task_type"] not in TASK_TYPES:
        raise RuleBroken(f"unknown task type {fields['task_type']!r}")
    if ("task_id" in fields or "task_type" in fields) and (
        (fields.get("task_id") is None) != (fields.get("task_type") is None)
    ):
        raise RuleBroken("task_id and task_type go together")
    rate = fields.get("hourly_rate")
    if rate is not None and rate < 0:
        raise RuleBroken("hourly_rate must not be negative")
