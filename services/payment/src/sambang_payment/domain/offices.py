"""The office rules this service copies from ``queue.office.updated``, and office-local time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class OfficeRules:
    """What this service needs of an office's settings (copied from ``queue.office.updated``)."""

    timezone: dt.tzinfo
    bill_validity_seconds: int
    priority_bill_validity_seconds: int


def zone(name: str, fallback: str = "Asia/Jakarta") -> dt.tzinfo:
    """An IANA time zone; an unknown name falls back to the default instead of failing a bill."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def as_utc(value: dt.datetime) -> dt.datetime:
    """An instant in UTC; SQLite hands back naive datetimes, which we always store as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def local_day_bounds(days: Sequence[dt.date], tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants from the start of the first to the end of the last of some office-local days."""
    first, last = min(days), max(days)
    start = dt.datetime.combine(first, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    return start, end
