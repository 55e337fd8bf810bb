"""The applicant's timeline and the officers' audit trail, written inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sambang_runtime.auth import Principal
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Row, insert, select

from ..models import audit_entry, timeline_entry
from . import connection_of


async def add_timeline(
    uow: UnitOfWork,
    receipt_number: str,
    kind: str,
    at: dt.datetime,
    *,
    public: bool = True,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """One step of the journey; `public=False` for what the applicant must never see (holds)."""
    conn = await connection_of(uow)
    await conn.execute(
        insert(timeline_entry).values(
            receipt_number=receipt_number, kind=kind, at=at, public=public, detail=dict(detail) if detail else None
        )
    )


async def timeline_of(uow: UnitOfWork, receipt_number: str) -> list[Row[Any]]:
    """The steps of one application's journey, in order (public and officers-only alike)."""
    conn = await connection_of(uow)
    return list(
        (
            await conn.execute(
                select(timeline_entry)
                .where(timeline_entry.c.receipt_number == receipt_number)
                .order_by(timeline_entry.c.at, timeline_entry.c.id)
            )
        ).all()
    )


async def add_audit(
    uow: UnitOfWork,
    principal: Principal,
    action: str,
    at: dt.datetime,
    *,
    receipt_number: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Who did what, when, on which receipt (append-only; nothing updates or deletes these rows)."""
    conn = await connection_of(uow)
    await conn.execute(
        insert(audit_entry).values(
            at=at,
            officer=principal.sub,
            office=principal.office,
            action=action,
            receipt_number=receipt_number,
            detail=dict(detail) if detail else None,
        )
    )


async def audit_of(uow: UnitOfWork, receipt_number: str, office: str) -> list[Row[Any]]:
    """The officers' actions on one receipt within an office, in order."""
    conn = await connection_of(uow)
    return list(
        (
            await conn.execute(
                select(audit_entry)
                .where(audit_entry.c.receipt_number == receipt_number, audit_entry.c.office == office)
                .order_by(audit_entry.c.at, audit_entry.c.id)
            )
        ).all()
    )
