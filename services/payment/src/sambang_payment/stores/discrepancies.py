"""Discrepancies: payment problems for the office to resolve, each recorded once."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sambang_contracts import DiscrepancyKind, PaymentSource
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..domain.offices import as_utc
from ..domain.payments import Discrepancy
from ..models import DISCREPANCY


@dataclass(frozen=True, slots=True)
class RecordedDiscrepancy:
    """A discrepancy as recorded: its id and when it was detected."""

    id: int
    detected_at: dt.datetime
    discrepancy: Discrepancy


async def add_discrepancy(uow: UnitOfWork, discrepancy: Discrepancy, *, now: dt.datetime) -> bool:
    """Record a discrepancy once per ``dedupe_key``; returns whether it is new."""
    conn = await uow.session.connection()
    values = {
        **asdict(discrepancy),
        "kind": discrepancy.kind.value,
        "source": discrepancy.source.value,
        "detected_at": now,
    }
    inserted = await upsert(conn, DISCREPANCY, values, key=("dedupe_key",))
    return bool(inserted.rowcount)


async def discrepancies_between(
    uow: UnitOfWork, *, office: str, start: dt.datetime, end: dt.datetime, limit: int
) -> list[RecordedDiscrepancy]:
    """An office's discrepancies detected in ``[start, end)``, oldest first."""
    conn = await uow.session.connection()
    rows = (
        await conn.execute(
            select(DISCREPANCY)
            .where(DISCREPANCY.c.office == office, DISCREPANCY.c.detected_at >= start, DISCREPANCY.c.detected_at < end)
            .order_by(DISCREPANCY.c.detected_at, DISCREPANCY.c.id)
            .limit(limit)
        )
    ).all()
    return [
        RecordedDiscrepancy(
            r.id,
            as_utc(r.detected_at),
            Discrepancy(
                kind=DiscrepancyKind(r.kind),
                detail=r.detail,
                billing_code=r.billing_code,
                receipt_number=r.receipt_number,
                office=r.office,
                ntpn=r.ntpn,
                amount=r.amount,
                source=PaymentSource(r.source),
                partner_id=r.partner_id,
                dedupe_key=r.dedupe_key,
            ),
        )
        for r in rows
    ]
