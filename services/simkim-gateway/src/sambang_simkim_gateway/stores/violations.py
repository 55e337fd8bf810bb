"""Every SQL statement about violation reports waiting to reach SIMKIM."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TypedDict

from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import RowMapping, update

from ..models import violation_report
from . import leases


@dataclass(frozen=True, slots=True)
class Violation:
    """A violation flagged by an officer, on its way to SIMKIM."""

    id: str
    receipt_number: str
    office: str
    category: str
    detail_enc: str
    officer_id: str
    flagged_at: dt.datetime
    attempts: int


async def add(
    uow: UnitOfWork,
    *,
    violation_id: str,
    receipt_number: str,
    category: str,
    detail_enc: str,
    officer_id: str,
    flagged_at: dt.datetime,
) -> None:
    """Queue a violation for SIMKIM, due at once (the same id twice is one report)."""
    await upsert(
        await uow.session.connection(),
        violation_report,
        {
            "id": violation_id,
            "receipt_number": receipt_number,
            "office": receipt_number[:3],
            "category": category,
            "detail_enc": detail_enc,
            "officer_id": officer_id,
            "flagged_at": flagged_at,
            "next_attempt_at": uow.now(),
            "attempts": 0,
            "deferred": False,
        },
        key=["id"],
    )


async def claim_due(uow: UnitOfWork, *, owner: str, lease_seconds: float, limit: int) -> list[Violation]:
    """Lease up to ``limit`` reports whose next try is due; returns them as claimed."""
    now = uow.now()
    return await leases.claim_due(
        await uow.session.connection(),
        violation_report,
        violation_report.c.id,
        owner=owner,
        now=now,
        until=now + dt.timedelta(seconds=lease_seconds),
        limit=limit,
        read=_from_row,
    )


def _from_row(m: RowMapping) -> Violation:
    return Violation(
        id=m["id"],
        receipt_number=m["receipt_number"],
        office=m["office"],
        category=m["category"],
        detail_enc=m["detail_enc"],
        officer_id=m["officer_id"],
        flagged_at=m["flagged_at"],
        attempts=m["attempts"],
    )


class ViolationChange(TypedDict, total=False):
    """Columns the outcome of a forwarding try may write (``finish``)."""

    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime | None
    deferred: bool
    forwarded_at: dt.datetime | None


async def finish(uow: UnitOfWork, violation_id: str, change: ViolationChange, *, owner: str) -> bool:
    """Record the outcome of a leased try and end the lease; False when the lease was lost meanwhile."""
    conn = await uow.session.connection()
    result = await conn.execute(
        update(violation_report)
        .where(violation_report.c.id == violation_id, violation_report.c.lease_owner == owner)
        .values(**change, lease_owner=None, lease_until=None)
    )
    return bool(result.rowcount == 1)


async def wake_deferred(uow: UnitOfWork) -> int:
    """Make every report the open breaker put off due now."""
    conn = await uow.session.connection()
    result = await conn.execute(
        update(violation_report)
        .where(violation_report.c.deferred.is_(True), violation_report.c.forwarded_at.is_(None))
        .values(deferred=False, next_attempt_at=uow.now())
    )
    return int(result.rowcount)


async def release_leases(uow: UnitOfWork, owner: str) -> int:
    """Give back this replica's leases (it stops)."""
    return await leases.release_all(await uow.session.connection(), violation_report, owner=owner)
