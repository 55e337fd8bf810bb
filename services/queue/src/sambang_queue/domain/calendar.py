"""The queue's calendar (Indonesian public holidays) and slot plans, which skip those holidays."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sambang_contracts.values import IsHoliday, indonesian_public_holidays
from sambang_runtime.errors import DomainError

#: The queue's calendar: its offices are in Indonesia, so Indonesian public holidays (hari libur
#: nasional). Working days are counted with it by the contracts' one calendar rule
#: (``sambang_contracts.values.working_days_between(start, end, PUBLIC_HOLIDAYS)``).
PUBLIC_HOLIDAYS: IsHoliday = indonesian_public_holidays()


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
            (skipped if PUBLIC_HOLIDAYS(current) else dates).append(current)
        current += dt.timedelta(days=1)
    return dates, skipped
