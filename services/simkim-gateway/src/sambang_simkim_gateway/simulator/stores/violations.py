"""Every SQL statement about violations SIMKIM received."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..models import violation


@dataclass(frozen=True, slots=True)
class Violation:
    """A violation SIMKIM recorded."""

    violation_id: str
    reference: str
    received_at: dt.datetime
    #: 1 the first time; a repeat counts up.
    received_count: int


@dataclass(frozen=True, slots=True)
class ReceivedReport:
    """A violation report as received (its detail encrypted)."""

    violation_id: str
    receipt_number: str
    office: str
    category: str
    detail_enc: str
    officer_id: str
    flagged_at: dt.datetime


async def receive(uow: UnitOfWork, report: ReceivedReport, *, reference: str) -> Violation:
    """Record a violation report once per violation id; a repeat is counted and answered the same."""
    conn = await uow.session.connection()
    await upsert(
        conn,
        violation,
        {**asdict(report), "reference": reference, "received_count": 1, "received_at": uow.now()},
        key=["violation_id"],
        update={"received_count": violation.c.received_count + 1},
    )
    row = (
        await conn.execute(
            select(
                violation.c.violation_id, violation.c.reference, violation.c.received_at, violation.c.received_count
            ).where(violation.c.violation_id == report.violation_id)
        )
    ).one()
    return Violation(row.violation_id, row.reference, row.received_at, row.received_count)


async def counts(uow: UnitOfWork) -> tuple[int, int, dict[str, int]]:
    """Violations, reports received (repeats included), and violations per receipt."""
    conn = await uow.session.connection()
    rows = (await conn.execute(select(violation.c.receipt_number, violation.c.received_count))).all()
    per_receipt: dict[str, int] = {}
    for r in rows:
        per_receipt[r.receipt_number] = per_receipt.get(r.receipt_number, 0) + 1
    return len(rows), sum(r.received_count for r in rows), per_receipt
