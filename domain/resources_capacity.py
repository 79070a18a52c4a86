"""Capacity arithmetic of resource allocation: rules without state, shared by the aggregates,
the conflict policy, the read side (utilization, forecast) and the optimizer.

Dates are calendar days of the workspace (its time zone decides which day "today" is and
which week a tracked hour falls in); a week is an ISO week, Monday to Sunday.

- A team member's day: ``capacity / 5`` hours Monday to Friday and none at the weekend,
  unless ``availability.weekdays`` says otherwise for that weekday ("fri": 0 is Fridays off,
  "wed": 4 is four hours on Wednesdays, "sat": 3 works Saturdays); a day inside one of
  ``availability.leave``'s date ranges has no hours; an inactive member has none at all.
- An allocation of H hours a week is spread over the working days Monday to Friday: a week
  it covers fully counts H, a week it covers partly counts H x (its weekdays that week) / 5.
  So one allocation ending on a Wednesday and another starting on the Thursday after do not
  add up to a double booking.
- A week is over-allocated when its allocated hours exceed its capacity. Consecutive
  over-allocated weeks with the same allocations form one conflict; its percentage is the
  largest excess over capacity, in percent of capacity (999.99 when capacity is zero).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.shared import name_based_id

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKING_DAYS = 5  # an allocation's hours are spread over Monday to Friday
MAX_WEEK_HOURS = 168
MAX_DAY_HOURS = 24
MAX_SPAN_DAYS = 731  # an allocation or a leave lasts at most two years
MAX_LEAVES = 100
MAX_PERCENT = Decimal("999.99")
HUNDREDTH = Decimal("0.01")
WEEK = timedelta(days=7)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def mondays(first: date, last: date) -> list[date]:
    """The Mondays of every week from the one holding ``first`` to the one holding ``last``."""
    monday, end = monday_of(first), monday_of(last)
    out = []
    while monday <= end:
        out.append(monday)
        monday += WEEK
    return out


def hours(value: Fraction) -> Decimal:
    """Hours to two decimals (half up), as the read tables show them."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        HUNDREDTH, rounding=ROUND_HALF_UP
    )


def percent(part: Fraction, whole: Fraction) -> Decimal:
    """``part`` in percent of ``whole``, capped at 999.99 (and 999.99 when ``whole`` is 0)."""
    if whole <= 0:
        return MAX_PERCENT if part > 0 else Decimal("0.00")
    return min(MAX_PERCENT, hours(part * 100 / whole))


# Team members ------------------------------------------------------------------------------


def normalize_availability(availability: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check and normalize an availability schedule: ``{"weekdays": {"fri": 0, "wed": 4},
    "leave": [{"start": "2027-03-01", "end": "2027-03-05", "note": "..."}]}``.
    Raises ValueError naming what is wrong."""
    availability = dict(availability or {})
    unknown = set(availability) - {"weekdays", "leave"}
    if unknown:
        raise ValueError(f"unknown availability keys: {', '.join(sorted(unknown))}")
    weekdays: dict[str, str] = {}
    for day, value in dict(availability.get("weekdays") or {}).items():
        if day not in WEEKDAYS:
            raise ValueError(f"weekdays: {day!r} is not one of {', '.join(WEEKDAYS)}")
        amount = Decimal(str(value))
        if not (0 <= amount <= MAX_DAY_HOURS) or amount != amount.quantize(HUNDREDTH):
            raise ValueError(f"weekdays.{day}: hours from 0 to 24, at most two decimals")
        weekdays[day] = str(amount.quantize(HUNDREDTH))
    leave = []
    for item in list(availability.get("leave") or []):
        start, end = _day(item["start"]), _day(item["end"])
        if end < start:
            raise ValueError("leave: end before start")
        if (end - start).days >= MAX_SPAN_DAYS:
            raise ValueError(f"leave: at most {MAX_SPAN_DAYS} days")
        entry = {"start": start.isoformat(), "end": end.isoformat()}
        if item.get("note"):
            entry["note"] = str(item["note"])
        leave.append(entry)
    if len(leave) > MAX_LEAVES:
        raise ValueError(f"leave: at most {MAX_LEAVES} ranges")
    leave.sort(key=lambda x: (x["start"], x["end"]))
    return {"weekdays": dict(sorted(weekdays.items())), "leave": leave}


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@dataclass
class Capacity:
    """A team member's hours, day by day (see the module's rules)."""

    weekly: Fraction
    weekdays: dict[int, Fraction] = field(default_factory=dict)
    leave: tuple[tuple[date, date], ...] = ()
    active: bool = True
    _weeks: dict[date, Fraction] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, capacity: Any, availability: Mapping[str, Any] | None, active: bool) -> Capacity:
        av = availability or {}
        return cls(
            weekly=Fraction(str(capacity if capacity is not None else 40)),
            weekdays={
                WEEKDAYS.index(d): Fraction(str(h)) for d, h in (av.get("weekdays") or {}).items()
            },
            leave=tuple((_day(x["start"]), _day(x["end"])) for x in (av.get("leave") or [])),
            active=bool(active),
        )

    @classmethod
    def from_member(cls, member: Mapping[str, Any]) -> Capacity:
        return cls.of(member.get("capacity"), member.get("availability"), member["is_active"])

    def day(self, day: date) -> Fraction:
        if not self.active or any(s <= day <= e for s, e in self.leave):
            return Fraction(0)
        weekday = day.weekday()
        if weekday in self.weekdays:
            return self.weekdays[weekday]
        return self.weekly / WORKING_DAYS if weekday < WORKING_DAYS else Fraction(0)

    def week(self, monday: date) -> Fraction:
        found = self._weeks.get(monday)
        if found is None:
            sunday = monday + timedelta(days=6)
            if not self.active:
                found = Fraction(0)
            elif any(s <= sunday and e >= monday for s, e in self.leave):
                found = sum((self.day(monday + timedelta(days=i)) for i in range(7)), Fraction(0))
            else:
                found = self._usual_week()
            self._weeks[monday] = found
        return found

    def _usual_week(self) -> Fraction:
        """A week without leave: the same every week."""
        usual = self._weeks.get(date.min)
        if usual is None:
            usual = sum(
                (
                    self.weekdays.get(i, self.weekly / WORKING_DAYS if i < WORKING_DAYS else 0)
                    for i in range(7)
                ),
                Fraction(0),
            )
            self._weeks[date.min] = usual
        return usual

    def between(self, first: date, last: date) -> Fraction:
        return sum(
            (self.day(first + timedelta(days=i)) for i in range((last - first).days + 1)),
            Fraction(0),
        )


# Allocations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Booking:
    """An allocation as the capacity arithmetic sees it."""

    id: str
    hours: Fraction
    start: date
    end: date
    project_id: str = ""

    @classmethod
    def of(
        cls, ident: Any, hours_per_week: Any, start: Any, end: Any, project: Any = ""
    ) -> Booking:
        return cls(str(ident), Fraction(str(hours_per_week)), _day(start), _day(end), str(project))

    def days_between(self, first: date, last: date) -> int:
        """Its working days (Monday to Friday) from ``first`` to ``last``."""
        lo, hi = max(self.start, first), min(self.end, last)
        if hi < lo:
            return 0
        return sum(1 for i in range((hi - lo).days + 1) if (lo + timedelta(days=i)).weekday() < 5)

    def week_days(self, monday: date) -> int:
        """Its working days in the week of ``monday`` (0 to 5)."""
        lo, hi = max(self.start, monday), min(self.end, monday + timedelta(days=4))
        return (hi - lo).days + 1 if hi >= lo else 0

    def week(self, monday: date) -> Fraction:
        return self.hours * self.week_days(monday) / WORKING_DAYS

    def between(self, first: date, last: date) -> Fraction:
        return self.hours * self.days_between(first, last) / WORKING_DAYS


@dataclass(frozen=True)
class Overload:
    """One conflict: consecutive over-allocated weeks with the same allocations."""

    id: UUID
    allocation_ids: tuple[str, ...]
    start_date: date  # Monday of the first week
    end_date: date  # Sunday of the last week
    percentage: Decimal  # the largest excess over capacity, in percent
    over_hours: Decimal  # the largest excess, in hours

    def signature(self) -> list[Any]:
        return [
            list(self.allocation_ids),
            self.start_date.isoformat(),
            self.end_date.isoformat(),
            str(self.percentage),
            str(self.over_hours),
        ]


def conflict_id(workspace_id: Any, user_id: Any, first_monday: date, ids: Iterable[str]) -> UUID:
    key = f"{workspace_id}:{user_id}:{first_monday.isoformat()}:{','.join(sorted(ids))}"
    return name_based_id("resource-conflict", key)


def weekly_load(bookings: Iterable[Booking]) -> dict[date, dict[str, Fraction]]:
    """Each week's hours per allocation, for every week any allocation touches."""
    weeks: dict[date, dict[str, Fraction]] = {}
    for booking in bookings:
        for monday in mondays(booking.start, booking.end):
            amount = booking.week(monday)
            if amount > 0:
                weeks.setdefault(monday, {})[booking.id] = amount
    return weeks


def overloads(
    workspace_id: Any,
    user_id: Any,
    capacity: Capacity,
    bookings: Iterable[Booking],
    load: dict[date, dict[str, Fraction]] | None = None,
) -> list[Overload]:
    """The user's conflicts, in date order (see the module's rules). ``load``: their
    ``weekly_load``, when the caller has it already."""
    over: list[tuple[date, tuple[str, ...], Fraction, Fraction]] = []
    weeks = weekly_load(bookings) if load is None else load
    for monday, parts in sorted(weeks.items()):
        load, cap = sum(parts.values(), Fraction(0)), capacity.week(monday)
        if load > cap:
            over.append((monday, tuple(sorted(parts)), load, cap))
    found: list[Overload] = []
    run: list[tuple[date, tuple[str, ...], Fraction, Fraction]] = []

    def close() -> None:
        if not run:
            return
        ids = run[0][1]
        worst = max(run, key=lambda w: (percent(w[2] - w[3], w[3]), w[2] - w[3]))
        found.append(
            Overload(
                id=conflict_id(workspace_id, user_id, run[0][0], ids),
                allocation_ids=ids,
                start_date=run[0][0],
                end_date=run[-1][0] + timedelta(days=6),
                percentage=percent(worst[2] - worst[3], worst[3]),
                over_hours=hours(max(w[2] - w[3] for w in run)),
            )
        )
        run.clear()

    for week in over:
        if run and (week[0] - run[-1][0] != WEEK or week[1] != run[-1][1]):
            close()
        run.append(week)
    close()
    return found


# Time zones and tracked time -----------------------------------------------------------------


def zone_name(settings: Mapping[str, Any] | None) -> str:
    """A workspace's time zone: ``settings.timezone`` when it is an IANA name, else UTC."""
    name = (settings or {}).get("timezone")
    if not isinstance(name, str) or not name or len(name) > 64:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, ZoneInfoNotFoundError):
        return "UTC"
    return name


def week_start_instant(monday: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(monday, time(), tzinfo=zone).astimezone(UTC)


def seconds_by_week(segments: Iterable[Iterable[Any]], zone_name_: str) -> dict[str, int]:
    """Tracked seconds per week (Monday's ISO date) of closed segments, split at Monday
    00:00 in the zone."""
    zone = ZoneInfo(zone_name_)
    out: dict[str, int] = {}
    for start, end in segments:
        if start is None or end is None:
            continue
        lo = start if isinstance(start, datetime) else datetime.fromisoformat(str(start))
        hi = end if isinstance(end, datetime) else datetime.fromisoformat(str(end))
        while lo < hi:
            monday = monday_of(lo.astimezone(zone).date())
            cut = min(hi, week_start_instant(monday + WEEK, zone))
            key = monday.isoformat()
            out[key] = out.get(key, 0) + int((cut - lo).total_seconds())
            lo = cut
    return out
