"""Office time: time zones, local days, the booking window and the check-in window."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sambang_contracts import OfficeSettings
from sambang_runtime.errors import DomainError


def zone(name: str) -> ZoneInfo:
    """The office's time zone."""
    return ZoneInfo(name)


def local_today(now: dt.datetime, tz: str) -> dt.date:
    """The office's calendar date at `now`."""
    return now.astimezone(zone(tz)).date()


def local_instant(day: dt.date, at: dt.time, tz: str) -> dt.datetime:
    """A local wall-clock time of the office as an aware UTC instant."""
    return dt.datetime.combine(day, at, tzinfo=zone(tz)).astimezone(dt.UTC)


def day_bounds(day: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of an office-local day in UTC."""
    start = local_instant(day, dt.time(0, 0), tz)
    return start, local_instant(day + dt.timedelta(days=1), dt.time(0, 0), tz)


def booking_window(today: dt.date, settings: OfficeSettings) -> tuple[dt.date, dt.date]:
    """First and last bookable day (inclusive), e.g. from tomorrow to 30 days ahead."""
    first = today + dt.timedelta(days=settings.first_bookable_offset_days)
    last = today + dt.timedelta(days=settings.booking_window_days)
    return first, last


def check_bookable(slot_date: dt.date, today: dt.date, settings: OfficeSettings) -> None:
    """Refuse a slot in the past or outside the office's booking window."""
    first, last = booking_window(today, settings)
    if not first <= slot_date <= last:
        raise DomainError("outside_booking_window", first_bookable=first.isoformat(), last_bookable=last.isoformat())


def check_checkin_time(
    now: dt.datetime, slot_date: dt.date, start: dt.time, end: dt.time, tz: str, settings: OfficeSettings
) -> None:
    """Check-in only on the slot's day, from `checkin_early_minutes` before its start to
    `checkin_late_minutes` after its end."""
    if local_today(now, tz) != slot_date:
        raise DomainError("not_today", appointment_date=slot_date.isoformat())
    opens = local_instant(slot_date, start, tz) - dt.timedelta(minutes=settings.checkin_early_minutes)
    closes = local_instant(slot_date, end, tz) + dt.timedelta(minutes=settings.checkin_late_minutes)
    if now < opens:
        raise DomainError("too_early", opens_at=opens.isoformat())
    if now > closes:
        raise DomainError("too_late", closed_at=closes.isoformat())
