"""What the reminder the day before needs of each application, kept from queue and payment events.

Events come in any order (a cancellation before its registration): each writes only its own columns, and
the row is created by whichever comes first. The reminder is claimed by one conditional update (reminded
and still open), so two replicas' rounds never both take it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sambang_contracts import ApplicationRegistered
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Row, and_, delete, func, or_, select, update

from ..domain.reminders import Visit
from ..models import appointment


def _context(field: str, receipt: str) -> str:
    # Bound to the row: a ciphertext copied onto another receipt does not decrypt.
    return f"appointment.{field}:{receipt}"


async def _write(uow: UnitOfWork, receipt: str, values: dict[str, Any], *, now: dt.datetime) -> None:
    row = {"receipt_number": receipt, "office": receipt[:3], **values, "updated_at": now}
    conn = await uow.session.connection()
    await upsert(conn, appointment, row, key=["receipt_number"], update=[*values, "updated_at"])


async def remember_registration(uow: UnitOfWork, data: ApplicationRegistered, *, now: dt.datetime) -> None:
    """The visit of a registration: office, slot, service type, walk-in, and the birth date (encrypted)."""
    receipt = data.receipt_number
    birth = uow.cipher.encrypt(data.applicant.birth_date.isoformat(), context=_context("birth_date", receipt))
    values = {
        "office": data.office,
        "slot_date": data.slot.date,
        "slot_start": data.slot.start,
        "slot_end": data.slot.end,
        "service_type": data.service_type.value,
        "birth_date_enc": birth,
        "walk_in": data.walk_in,
    }
    await _write(uow, receipt, values, now=now)


async def remember_arrival_link(
    uow: UnitOfWork, receipt: str, url: str, expires_at: dt.datetime, *, now: dt.datetime
) -> None:
    """The arrival link (a secret: encrypted), told again in the reminder while arrival is not confirmed."""
    url_enc = uow.cipher.encrypt(url, context=_context("arrival_url", receipt))
    await _write(uow, receipt, {"arrival_url_enc": url_enc, "arrival_expires_at": expires_at}, now=now)


async def remember_arrival_confirmed(uow: UnitOfWork, receipt: str, *, now: dt.datetime) -> None:
    """Arrival confirmed: the reminder no longer carries the link."""
    await _write(uow, receipt, {"arrival_confirmed": True}, now=now)


async def close(uow: UnitOfWork, receipt: str, reason: str, *, now: dt.datetime) -> None:
    """No reminder for this application any more (cancelled, its bill expired or voided); the first reason stays."""
    row = {"receipt_number": receipt, "office": receipt[:3], "closed": reason, "updated_at": now}
    conn = await uow.session.connection()
    await upsert(
        conn,
        appointment,
        row,
        key=["receipt_number"],
        update=lambda excluded: {
            "closed": func.coalesce(appointment.c.closed, excluded.closed),
            "updated_at": excluded.updated_at,
        },
    )


_OPEN = and_(
    appointment.c.reminded_at.is_(None),
    appointment.c.closed.is_(None),
    appointment.c.walk_in.is_(False),
    appointment.c.birth_date_enc.is_not(None),
)


async def offices_with_visits_after(uow: UnitOfWork, day: dt.date) -> list[str]:
    """Offices with an open, not yet reminded visit after ``day``."""
    conn = await uow.session.connection()
    query = select(appointment.c.office).where(_OPEN, appointment.c.slot_date > day).distinct()
    return sorted((await conn.execute(query)).scalars())


def _visit(uow: UnitOfWork, row: Row[Any]) -> Visit:
    receipt = row.receipt_number
    cipher = uow.cipher
    birth = cipher.decrypt(row.birth_date_enc, context=_context("birth_date", receipt))
    url = cipher.decrypt(row.arrival_url_enc, context=_context("arrival_url", receipt)) if row.arrival_url_enc else None
    return Visit(
        receipt_number=receipt,
        office=row.office,
        slot_date=row.slot_date,
        slot_start=row.slot_start,
        slot_end=row.slot_end,
        service_type=row.service_type,
        birth_date=dt.date.fromisoformat(birth),
        arrival_url=url,
        arrival_expires_at=row.arrival_expires_at,
        arrival_confirmed=bool(row.arrival_confirmed),
    )


async def due(uow: UnitOfWork, office: str, *, after: dt.date, until: dt.date, limit: int) -> list[Visit]:
    """Open, not yet reminded visits of an office on the days after ``after`` up to ``until``, soonest first."""
    conn = await uow.session.connection()
    rows = await conn.execute(
        select(appointment)
        .where(
            _OPEN,
            appointment.c.office == office,
            appointment.c.slot_date > after,
            appointment.c.slot_date <= until,
        )
        .order_by(appointment.c.slot_date, appointment.c.receipt_number)
        .limit(limit)
    )
    return [_visit(uow, r) for r in rows]


async def claim_reminder(uow: UnitOfWork, receipt: str, *, now: dt.datetime) -> Visit | None:
    """Take the reminder of one visit: None when another round took it first or the application closed since.

    On PostgreSQL a second replica's update waits for the first one's commit and then finds the row
    reminded: one of them gets it, whatever the timing.
    """
    conn = await uow.session.connection()
    row = (
        await conn.execute(
            update(appointment)
            .where(appointment.c.receipt_number == receipt, _OPEN)
            .values(reminded_at=now)
            .returning(*appointment.c)
        )
    ).first()
    return _visit(uow, row) if row is not None else None


async def forget_older_than(uow: UnitOfWork, *, visit_before: dt.date, updated_before: dt.datetime) -> int:
    """Drop visits that are over, and rows whose registration never came; returns how many."""
    conn = await uow.session.connection()
    result = await conn.execute(
        delete(appointment)
        .where(
            or_(
                appointment.c.slot_date < visit_before,
                and_(appointment.c.slot_date.is_(None), appointment.c.updated_at < updated_before),
            )
        )
        .returning(appointment.c.receipt_number)
    )
    return len(result.all())
