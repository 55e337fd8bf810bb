"""The audit trail: append-only rows of who did what, when, on which receipt."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sambang_runtime.uow import UnitOfWork
from sqlalchemy import func, insert, select

from ..models import audit_entry
from .applications import ApplicationRecord


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One officer (or system) action."""

    at: dt.datetime
    officer: str
    office: str
    action: str
    receipt_number: str | None
    detail: dict[str, Any] | None


async def record(
    uow: UnitOfWork,
    *,
    officer: str,
    office: str,
    action: str,
    receipt_number: str | None,
    at: dt.datetime,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append an entry; ``detail`` holds codes, positions and hashes, never personal data or image bytes."""
    conn = await uow.session.connection()
    await conn.execute(
        insert(audit_entry).values(
            at=at,
            officer=officer,
            office=office.upper(),
            action=action,
            receipt_number=receipt_number,
            detail=dict(detail) if detail else None,
        )
    )


async def record_on(
    uow: UnitOfWork,
    app: ApplicationRecord,
    action: str,
    *,
    officer: str,
    at: dt.datetime,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append an entry about one application (its receipt number and office)."""
    await record(
        uow, officer=officer, office=app.office, action=action, receipt_number=app.receipt_number, at=at, detail=detail
    )


async def trail(uow: UnitOfWork, receipt_number: str) -> list[AuditEntry]:
    """Every entry of one receipt, oldest first."""
    conn = await uow.session.connection()
    rows = (
        await conn.execute(
            select(audit_entry)
            .where(audit_entry.c.receipt_number == receipt_number)
            .order_by(audit_entry.c.at, audit_entry.c.id)
        )
    ).all()
    return [AuditEntry(r.at, r.officer, r.office, r.action, r.receipt_number, r.detail) for r in rows]


async def count(uow: UnitOfWork, *, office: str, action: str, start: dt.datetime, end: dt.datetime) -> int:
    """How many entries of one action an office has in [start, end)."""
    conn = await uow.session.connection()
    stmt = select(func.count()).where(
        audit_entry.c.office == office.upper(),
        audit_entry.c.action == action,
        audit_entry.c.at >= start,
        audit_entry.c.at < end,
    )
    return int((await conn.execute(stmt)).scalar_one())
