"""Discrepancies: payment problems for the office to resolve, each recorded once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sambang_contracts import DiscrepancyKind, PaymentSource
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..domain.offices import as_utc
from ..models import DISCREPANCY
from .dialects import insert_ignoring_conflicts

DETAIL_MAX = 2000


@dataclass(frozen=True)
class DiscrepancyView:
    """One recorded discrepancy."""

    id: int
    kind: str
    receipt_number: str | None
    billing_code: str
    ntpn: str | None
    amount: int | None
    detail: str
    source: str
    partner_id: str | None
    detected_at: dt.datetime


async def add_discrepancy(
    uow: UnitOfWork,
    *,
    kind: DiscrepancyKind,
    detail: str,
    billing_code: str,
    receipt_number: str | None,
    office: str | None,
    ntpn: str | None,
    amount: int | None,
    source: PaymentSource,
    partner_id: str | None,
    dedupe_key: str,
    now: dt.datetime,
) -> bool:
    """Record a discrepancy once per ``dedupe_key``; returns whether it is new."""
    conn = await uow.session.connection()
    values = {
        "office": office,
        "receipt_number": receipt_number,
        "billing_code": billing_code,
        "ntpn": ntpn,
        "amount": amount,
        "kind": kind.value,
        "detail": detail[:DETAIL_MAX],
        "source": source.value,
        "partner_id": partner_id,
        "detected_at": now,
        "dedupe_key": dedupe_key[:200],
    }
    inserted = await conn.execute(insert_ignoring_conflicts(conn, DISCREPANCY, values))
    return bool(inserted.rowcount)


async def discrepancies_between(
    uow: UnitOfWork, *, office: str, start: dt.datetime, end: dt.datetime, limit: int
) -> list[DiscrepancyView]:
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
        DiscrepancyView(
            id=r.id,
            kind=r.kind,
            receipt_number=r.receipt_number,
            billing_code=r.billing_code,
            ntpn=r.ntpn,
            amount=r.amount,
            detail=r.detail,
            source=r.source,
            partner_id=r.partner_id,
            detected_at=as_utc(r.detected_at),
        )
        for r in rows
    ]
