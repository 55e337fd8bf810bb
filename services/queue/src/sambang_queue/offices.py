"""Offices and slots as the hot paths need them: small immutable records, cached in the process."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from sambang_contracts import OfficeSettings
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from .domain import RuleBroken
from .models import office, slot


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


class OfficeDirectory:
    """Offices read through a short-lived cache: a booking rush must not re-read settings each time."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._offices: dict[str, tuple[float, OfficeInfo | None]] = {}
        self._slots: dict[int, SlotInfo] = {}

    async def office(self, conn: AsyncConnection, code: str) -> OfficeInfo | None:
        """The office, or None when unknown."""
        now = time.monotonic()
        hit = self._offices.get(code)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        row = (await conn.execute(select(office).where(office.c.code == code))).first()
        info = (
            None
            if row is None
            else OfficeInfo(row.code, row.name, row.timezone, OfficeSettings.model_validate(row.settings))
        )
        self._offices[code] = (now, info)
        return info

    def peek_office(self, code: str) -> OfficeInfo | None:
        """The cached office when fresh, without I/O (None: ask `office`)."""
        hit = self._offices.get(code)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        return None

    def peek_slot(self, slot_id: int) -> SlotInfo | None:
        """The cached slot, without I/O (None: ask `slot`)."""
        return self._slots.get(slot_id)

    def forget(self, code: str) -> None:
        """Drop a cached office (after this process changed it)."""
        self._offices.pop(code, None)

    async def slot(self, conn: AsyncConnection, slot_id: int) -> SlotInfo | None:
        """The slot's office, date and times, or None when unknown."""
        hit = self._slots.get(slot_id)
        if hit is not None:
            return hit
        row = (
            await conn.execute(
                select(slot.c.id, slot.c.office, slot.c.date, slot.c.start, slot.c.end).where(slot.c.id == slot_id)
            )
        ).first()
        if row is None:
            return None
        info = SlotInfo(row.id, row.office, row.date, row.start, row.end)
        if len(self._slots) > 100_000:
            self._slots.clear()
        self._slots[slot_id] = info
        return info


async def save_office(
    conn: AsyncConnection, code: str, name: str, timezone: str, settings: OfficeSettings, now: dt.datetime
) -> None:
    """Create or replace an office's name, time zone and rules."""
    exists = (await conn.execute(select(office.c.code).where(office.c.code == code))).first() is not None
    values = {"name": name, "timezone": timezone, "settings": settings.model_dump(mode="json"), "updated_at": now}
    if exists:
        await conn.execute(office.update().where(office.c.code == code).values(**values))
    else:
        await conn.execute(office.insert().values(code=code, **values))


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    """What a slot plan did."""

    created: int
    updated: int
    unchanged: int
    skipped_holidays: list[dt.date]


async def apply_slot_plan(
    conn: AsyncConnection,
    code: str,
    dates: list[dt.date],
    sessions: list[tuple[dt.time, dt.time, int]],
    skipped: list[dt.date],
    now: dt.datetime,
) -> PlanOutcome:
    """Create each session on each date, or set its quota; never below what is already booked."""
    if not dates:
        return PlanOutcome(0, 0, 0, skipped)
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
                raise RuleBroken("quota_below_booked", date=day.isoformat(), start=start.isoformat(), booked=row.booked)
            updated += 1
    if new_rows:
        await conn.execute(slot.insert(), new_rows)
    return PlanOutcome(created, updated, unchanged, skipped)
