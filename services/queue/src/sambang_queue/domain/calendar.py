"""Working days (weekends and Indonesian public holidays skipped) and slot plans."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import holidays
from sambang_runtime.errors import DomainError


@lru_cache(maxsize=64)
def _indonesian_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("ID", years=year).keys())


def is_public_holiday(day: dt.date) -> bool:
    """An Indonesian public holiday (hari libur nasional), from the `holidays` package."""
    return day in _indonesian_holidays(day.year)


def is_working_day(day: dt.date) -> bool:
    """Monday to Friday and not a public holiday."""
    return day.isoweekday() <= 5 and not is_public_holiday(day)


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The n-th working day after `day` (n = 0 gives `day` itself)."""
    current = day
    left = n
    while left > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            left -= 1
    return current


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    count = 0
    current = start
    while current < end:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count


@dataclass(frozen=True)
class SessionPlan:
    """One session of a slot plan (e.g. 08:00-12:00 quota 90)."""

    start: dt.time
    end: dt.time
    quota: int


MAX_PLAN_DAYS = 366


def plan_dates(
    date_from: dt.date, date_to: dt.date, weekdays: Iterable[int], sessions: Sequence[SessionPlan]
) -> tuple[list[dt.date], list[dt.date]]:
    """Dates of a slot plan and the public holidays skipped; refuses inconsistent plans."""
    if date_to < date_from:
        raise DomainError("invalid_slot_plan", reason="date_to is before date_from")
    if (date_to - date_from).days >= MAX_PLAN_DAYS:
        raise DomainError("range_too_long", max_days=MAX_PLAN_DAYS)
    ordered = sorted(sessions, key=lambda s: s.start)
    for s in ordered:
        if s.end <= s.start:
            raise DomainError("invalid_slot_plan", reason="a session ends before it starts")
    for a, b in itertools.pairwise(ordered):
        if b.start < a.end:
            raise DomainError("invalid_slot_plan", reason="sessions overlap")
    days = set(weekdays)
    dates: list[dt.date] = []
    skipped: list[dt.date] = []
    current = date_from
    while current <= date_to:
        if current.isoweekday() in days:
            (skipped if is_public_holiday(current) else dates).append(current)
        current += dt.timedelta(days=1)
    return dates, skipped
