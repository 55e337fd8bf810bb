"""Passport pickups: the pickup record of a C ticket, and the hand-over to the applicant or a proxy."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sambang_runtime.uow import UnitOfWork
from sqlalchemy import insert, select, update

from ..models import pickup
from . import connection_of


@dataclass(frozen=True, slots=True)
class PickupRecord:
    """A pickup of an issued passport (what the hand-over needs of it; the proxy's data stays at rest)."""

    id: str
    receipt_number: str
    office: str
    created_at: dt.datetime
    handed_over_at: dt.datetime | None


async def add(uow: UnitOfWork, pickup_id: str, receipt_number: str, office: str, now: dt.datetime) -> None:
    """The pickup record of a pickup visit (same id)."""
    conn = await connection_of(uow)
    await conn.execute(
        insert(pickup).values(id=pickup_id, receipt_number=receipt_number, office=office, created_at=now)
    )


async def find_locked(uow: UnitOfWork, pickup_id: str) -> PickupRecord | None:
    """A pickup, row-locked (two desks never hand one passport over twice)."""
    conn = await connection_of(uow)
    row = (
        await conn.execute(
            select(pickup.c.id, pickup.c.receipt_number, pickup.c.office, pickup.c.created_at, pickup.c.handed_over_at)
            .where(pickup.c.id == pickup_id)
            .with_for_update()
        )
    ).first()
    return (
        None
        if row is None
        else PickupRecord(row.id, row.receipt_number, row.office, row.created_at, row.handed_over_at)
    )


async def hand_over(
    uow: UnitOfWork,
    pickup_id: str,
    *,
    officer: str,
    collected_by: str,
    now: dt.datetime,
    proxy_name: str | None,
    proxy_nik: str | None,
    proxy_letter_reference: str | None,
) -> None:
    """Record the hand-over; the proxy's name and NIK are encrypted at rest, bound to the pickup."""
    cipher = uow.cipher
    conn = await connection_of(uow)
    await conn.execute(
        update(pickup)
        .where(pickup.c.id == pickup_id)
        .values(
            handed_over_at=now,
            officer=officer,
            collected_by=collected_by,
            proxy_name_enc=None
            if proxy_name is None
            else cipher.encrypt(proxy_name, context=f"pickup.proxy_name:{pickup_id}"),
            proxy_nik_enc=None
            if proxy_nik is None
            else cipher.encrypt(proxy_nik, context=f"pickup.proxy_nik:{pickup_id}"),
            proxy_letter_reference=proxy_letter_reference,
        )
    )
