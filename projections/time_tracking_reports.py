"""Time reports over read rows: time within a window of local days, totals, amounts, groups.

Pure functions. Days are the reader's calendar days in their time zone (zoneinfo), so a day
around a DST change lasts 23 or 25 hours and an entry across midnight counts in both days.
A running timer counts up to ``now``, and never past the moment its auto-stop limit stops it.
Amount = billable hours x the resolved hourly rate; billable time without any rate is counted
in ``unrated_billable_seconds`` instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from domain.time_tracking import duration_of
from projections.time_tracking import parse_segments

GROUPS = ("project", "task", "user", "tag", "day")
CENT = Decimal("0.01")


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError):  # an unknown name never reaches settings; be safe anyway
        return ZoneInfo("UTC")


def local_date(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where a local day starts and ends (23, 24 or 25 hours apart)."""
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


def iso_week(day: date) -> tuple[date, date, str]:
    """Monday, Sunday and the label ('2024-W10') of the ISO week containing ``day``."""
    year, week, weekday = day.isocalendar()
    monday = day - timedelta(days=weekday - 1)
    return monday, monday + timedelta(days=6), f"{year}-W{week:02d}"


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def auto_stop_at(row: dict[str, Any], segments: list[list[Any]]) -> datetime | None:
    """When a running entry's auto-stop limit is reached (as the domain computes it)."""
    if not row["is_running"] or row.get("auto_stop_after") is None:
        return None
    left = row["auto_stop_after"] - duration_of(segments[:-1])
    return segments[-1][0] + timedelta(seconds=max(0, left))


def live_segments(row: dict[str, Any], now: datetime) -> list[list[datetime]]:
    """The entry's segments with a running one closed at ``now`` (or at its auto-stop)."""
    segments = parse_segments(row["segments"])
    if segments and segments[-1][1] is None:
        limit = auto_stop_at(row, segments)
        end = min(now, limit) if limit is not None else now
        segments[-1][1] = max(end, segments[-1][0])
    return segments  # type: ignore[return-value]


def live_duration(row: dict[str, Any], now: datetime) -> int:
    return duration_of(live_segments(row, now))


def seconds_within(segments: Iterable[list[datetime]], start: datetime, end: datetime) -> int:
    total = 0
    for s, e in segments:
        lo, hi = max(s, start), min(e, end)
        if hi > lo:
            total += int((hi - lo).total_seconds())
    return total


def hours(seconds: int) -> float:
    return float((Decimal(seconds) / 3600).quantize(CENT, rounding=ROUND_HALF_UP))


@dataclass
class Totals:
    seconds: int = 0
    billable_seconds: int = 0
    unrated_billable_seconds: int = 0
    amount: Decimal = Decimal(0)

    def add(self, seconds: int, billable: bool, rate: Decimal | None) -> None:
        self.seconds += seconds
        if not billable:
            return
        self.billable_seconds += seconds
        if rate is None:
            self.unrated_billable_seconds += seconds
        else:
            self.amount += Decimal(seconds) * Decimal(rate) / 3600

    def as_dict(self) -> dict[str, Any]:
        return {
            "total_seconds": self.seconds,
            "total_hours": hours(self.seconds),
            "billable_seconds": self.billable_seconds,
            "billable_hours": hours(self.billable_seconds),
            "amount": float(self.amount.quantize(CENT, rounding=ROUND_HALF_UP)),
            "unrated_billable_seconds": self.unrated_billable_seconds,
        }


def _keys(row: dict[str, Any], group_by: str) -> list[tuple[str | None, str]]:
    if group_by == "project":
        return [(str(row["project_id"]), row.get("project_name") or "(deleted project)")]
    if group_by == "task":
        if row["task_id"] is None:
            return [(None, "(no task)")]
        return [(str(row["task_id"]), row.get("task_title") or "(untitled)")]
    if group_by == "user":
        return [(str(row["user_id"]), row.get("user_name") or "(unknown user)")]
    if group_by == "tag":
        return [(tag, tag) for tag in row["tags"] or []] or [(None, "(no tag)")]
    raise ValueError(f"unknown grouping {group_by!r}")


def report(
    rows: Iterable[dict[str, Any]],
    *,
    group_by: str,
    days: list[date],
    zone: ZoneInfo,
    now: datetime,
) -> dict[str, Any]:
    """Totals over the local days ``days`` (consecutive), and per group.

    Grouped by tag, an entry counts once in each of its tags (the groups then add up to
    more than the total).
    """
    start, _ = day_bounds(days[0], zone)
    _, end = day_bounds(days[-1], zone)
    bounds = [(day, *day_bounds(day, zone)) for day in days]
    totals = Totals()
    groups: dict[str | None, tuple[str, Totals]] = {}
    if group_by == "day":
        groups = {day.isoformat(): (day.isoformat(), Totals()) for day in days}
    for row in rows:
        segments = live_segments(row, now)
        billable, rate = row["is_billable"], row.get("rate")
        seconds = seconds_within(segments, start, end)
        if seconds == 0:
            continue
        totals.add(seconds, billable, rate)
        if group_by == "day":
            for day, day_start, day_end in bounds:
                part = seconds_within(segments, day_start, day_end)
                if part:
                    groups[day.isoformat()][1].add(part, billable, rate)
            continue
        for key, label in _keys(row, group_by):
            groups.setdefault(key, (label, Totals()))[1].add(seconds, billable, rate)
    listed = [{"key": key, "label": label, **t.as_dict()} for key, (label, t) in groups.items()]
    if group_by != "day":
        listed.sort(key=lambda g: (-g["total_seconds"], g["label"]))
    return {"totals": totals.as_dict(), "groups": listed}
