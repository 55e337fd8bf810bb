"""Offices, their rules and their slots; offices and slots read through a short in-process cache."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from sambang_contracts import OfficeSettings
from sambang_runtime.errors import DomainError
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..domain.rules import stored_rules
from ..models import office, slot
from . import connection_of


@dataclass(frozen=True, slots=True)
class OfficeInfo:
    """An office: code, name, time zone and rules."""

    code: str
    name: str
    timezone: str
    settings: OfficeSettings


@dataclass(frozen=True, slots=True)
class SlotInfo:
    """The unchanging part of a slot (its quota and bookings change; these never do)."""

    id: int
    office: str
    date: dt.date
    start: dt.time
    end: dt.time


class OfficeCache:
    """Offices for `ttl_seconds` and slots for good: a booking rush must not re-read them each time.

    Other replicas may change an office's settings, hence the short time to live; a slot's office,
    date and times never change. The clock is the process's monotonic one (a cache age, not domain time).
    """

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._offices: dict[str, tuple[float, OfficeInfo | None]] = {}
        self._slots: dict[int, SlotInfo] = {}

    def office(self, code: str) -> tuple[bool, OfficeInfo | None]:
        """(fresh, office): whether the cache knows the code now, and the office (None: unknown)."""
        hit = self._offices.get(code)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return True, hit[1]
        return False, None

    def keep_office(self, code: str, info: OfficeInfo | None) -> None:
        """Remember what the database said about an office."""
        self._offices[code] = (time.monotonic(), info)

    def forget(self, code: str) -> None:
        """Drop a cached office (after this process changed it)."""
        self._offices.pop(code, None)

    def slot(self, slot_id: int) -> SlotInfo | None:
        """A cached slot, or None."""
        return self._slots.get(slot_id)

    def keep_slot(self, info: SlotInfo) -> None:
        """Remember a slot (bounded: a long-running process forgets them all now and then)."""
        if len(self._slots) > 100_000:
            self._slots.clear()
        self._slots[info.id] = info


async def find_office(uow: UnitOfWork, cache: OfficeCache, code: str) -> OfficeInfo | None:
    """The office, or None when unknown; from the cache when fresh (no connection taken)."""
    fresh, info = cache.office(code)
    if fresh:
        return info
    conn = await connection_of(uow)
    row = (await conn.execute(select(office).where(office.c.code == code))).first()
    info = None if row is None else OfficeInfo(row.code, row.name, row.timezone, stored_rules(row.settings))
    cache.keep_office(code, info)
    return info


async def lock_office(uow: UnitOfWork, code: str) -> OfficeInfo | None:
    """The office as stored now (never the cache), row-locked until the unit of work ends on
    PostgreSQL; None when unknown."""
    conn = await connection_of(uow)
    row = (await conn.execute(select(office).where(office.c.code == code).with_for_update())).first()
    if row is None:
        return None
    return OfficeInfo(row.code, row.name, row.timezone, stored_rules(row.settings))


async def office_or_404(uow: UnitOfWork, cache: OfficeCache, code: str) -> OfficeInfo:
    """The office of a path, or office_not_found."""
    info = await find_office(uow, cache, code.upper())
    if info is None:
        raise DomainError("office_not_found")
    return info


async def find_slot(uow: UnitOfWork, cache: OfficeCache, slot_id: int) -> SlotInfo | None:
    """The slot's office, date and times, or None when unknown; from the cache when known."""
    hit = cache.slot(slot_id)
    if hit is not None:
        return hit
    conn = await connection_of(uow)
    row = (
        await conn.execute(
            select(slot.c.id, slot.c.office, slot.c.date, slot.c.start, slot.c.end).where(slot.c.id == slot_id)
        )
    ).first()
    if row is None:
        return None
    info = SlotInfo(row.id, row.office, row.date, row.start, row.end)
    cache.keep_slot(info)
    return info


@dataclass(frozen=True, slots=True)
class OfficeListing:
    """An office as the public list shows it."""

    code: str
    name: str
    timezone: str


async def all_offices(uow: UnitOfWork) -> list[OfficeListing]:
    """Every office's code, name and time zone, by code."""
    conn = await connection_of(uow)
    rows = await conn.execute(select(office.c.code, office.c.name, office.c.timezone).order_by(office.c.code))
    return [OfficeListing(r.code, r.name, r.timezone) for r in rows]


async def timezone_of(uow: UnitOfWork, code: str) -> str:
    """The time zone of a known office."""
    conn = await connection_of(uow)
    return str((await conn.execute(select(office.c.timezone).where(office.c.code == code))).scalar_one())


async def save_office(
    uow: UnitOfWork, code: str, name: str, timezone: str, settings: OfficeSettings, now: dt.datetime
) -> None:
    """Create or replace an office's name, time zone and rules."""
    conn = await connection_of(uow)
    values = {
        "code": code,
        "name": name,
        "timezone": timezone,
        "settings": settings.model_dump(mode="json"),
        "updated_at": now,
    }
    await upsert(conn, office, values, key=("code",), update=("name", "timezone", "settings", "updated_at"))


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    """What a slot plan did."""

    created: int
    updated: int
    unchanged: int
    skipped_holidays: list[dt.date]


async def apply_slot_plan(
    uow: UnitOfWork,
    code: str,
    dates: list[dt.date],
    sessions: list[tuple[dt.time, dt.time, int]],
    skipped: list[dt.date],
    now: dt.datetime,
) -> PlanOutcome:
    """Create each session on each date, or set its quota; never below what is already booked."""
    if not dates:
        return PlanOutcome(0, 0, 0, skipped)
    conn = await connection_of(uow)
    existing = {
        (r.date, r.start): r
        for r in (
            await conn.execute(
                select(slot.c.id, slot.c.date, slot.c.start, slot.c.end, slot.c.quota, slot.c.booked).where(
                    slot.c.office == code, slot.c.date >= min(dates), slot.c.date <= max(dates)
                )
            )
        ).all()
    }
    created = updated = unchanged = 0
    new_rows = []
    for day in dates:
        for start, end, quota in sessions:
            row = existing.get((day, start))
            if row is None:
                new_rows.append(
                    {
                        "office": code,
                        "date": day,
                        "start": start,
                        "end": end,
                        "quota": quota,
                        "booked": 0,
                        "created_at": now,
                    }
                )
                created += 1
                continue
            if row.quota == quota and row.end == end:
                unchanged += 1
                continue
            # Conditional, so a booking committed meanwhile cannot slip under the new quota.
            result = await conn.execute(
                slot.update().where(slot.c.id == row.id, slot.c.booked <= quota).values(quota=quota, end=end)
            )
            if result.rowcount != 1:
                raise DomainError(
                    "quota_below_booked", date=day.isoformat(), start=start.isoformat(), booked=row.booked
                )
            updated += 1
    if new_rows:
        await conn.execute(slot.insert(), new_rows)
    return PlanOutcome(created, updated, unchanged, skipped)


@dataclass(frozen=True, slots=True)
class SlotPlaces:
    """A slot with its quota and the places booked."""

    id: int
    date: dt.date
    start: dt.time
    end: dt.time
    quota: int
    booked: int


async def slots_between(uow: UnitOfWork, code: str, first: dt.date, last: dt.date) -> list[SlotPlaces]:
    """The office's slots of the days first..last, in order."""
    conn = await connection_of(uow)
    rows = (
        await conn.execute(
            select(slot.c.id, slot.c.date, slot.c.start, slot.c.end, slot.c.quota, slot.c.booked)
            .where(slot.c.office == code, slot.c.date >= first, slot.c.date <= last)
            .order_by(slot.c.date, slot.c.start)
        )
    ).all()
    return [SlotPlaces(r.id, r.date, r.start, r.end, r.quota, r.booked) for r in rows]
