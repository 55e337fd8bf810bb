"""Interview decisions (wawancara) and the violations flagged with them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sambang_contracts import CaptureMode, InterviewDecision
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import func, insert, select

from ..domain.capture import ViolationCategory
from ..models import interview, violation


@dataclass(frozen=True, slots=True)
class InterviewRecord:
    """One decision (notes stay encrypted in the table)."""

    id: int
    decision: InterviewDecision
    mode: CaptureMode
    officer: str
    request_hash: str
    decided_at: dt.datetime


def _context(receipt_number: str, what: str) -> str:
    return f"{what}:{receipt_number}"


async def latest(uow: UnitOfWork, receipt_number: str) -> InterviewRecord | None:
    """The application's latest interview decision."""
    conn = await uow.session.connection()
    row = (
        await conn.execute(
            select(interview)
            .where(interview.c.receipt_number == receipt_number)
            .order_by(interview.c.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return InterviewRecord(
        row.id, InterviewDecision(row.decision), CaptureMode(row.mode), row.officer, row.request_hash, row.decided_at
    )


async def add(
    uow: UnitOfWork,
    receipt_number: str,
    decision: InterviewDecision,
    *,
    notes: str | None,
    mode: CaptureMode,
    officer: str,
    request_hash: str,
    now: dt.datetime,
) -> int:
    """Record a decision; returns its id."""
    conn = await uow.session.connection()
    result = await conn.execute(
        insert(interview)
        .values(
            receipt_number=receipt_number,
            decision=decision.value,
            notes_enc=uow.cipher.encrypt(notes, context=_context(receipt_number, "interview.notes")) if notes else None,
            mode=mode.value,
            officer=officer,
            request_hash=request_hash,
            decided_at=now,
        )
        .returning(interview.c.id)
    )
    return int(result.scalar_one())


async def add_violation(
    uow: UnitOfWork,
    receipt_number: str,
    category: ViolationCategory,
    detail: str,
    *,
    interview_id: int | None,
    officer: str,
    now: dt.datetime,
) -> None:
    """Record a flagged violation (detail encrypted)."""
    conn = await uow.session.connection()
    await conn.execute(
        insert(violation).values(
            receipt_number=receipt_number,
            interview_id=interview_id,
            category=category.value,
            detail_enc=uow.cipher.encrypt(detail, context=_context(receipt_number, "violation.detail")),
            officer=officer,
            flagged_at=now,
        )
    )


async def violation_count(uow: UnitOfWork, receipt_number: str) -> int:
    """How many violations were flagged on an application."""
    conn = await uow.session.connection()
    return int(
        (
            await conn.execute(
                select(func.count()).select_from(violation).where(violation.c.receipt_number == receipt_number)
            )
        ).scalar_one()
    )
