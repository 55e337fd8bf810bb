"""The applicant's timeline and the officers' audit trail, written inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sambang_runtime.auth import Principal
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import insert, select

from ..models import audit_entry, timeline_entry
from . import connection_of


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One step of an applicant's journey."""

    at: dt.datetime
    kind: str
    #: False for what the applicant must not see (a hold, its decision, a failed submission).
    public: bool
    detail: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who did what, when, on which receipt."""

    at: dt.datetime
    officer: str
    office: str
    action: str
    receipt_number: str | None
    detail: dict[str, Any] | None


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


async def timeline_of(uow: UnitOfWork, receipt_number: str) -> list[TimelineEntry]:
    """The steps of one application's journey, in order (public and officers-only alike)."""
    conn = await connection_of(uow)
    t = timeline_entry.c
    rows = await conn.execute(
        select(t.at, t.kind, t.public, t.detail).where(t.receipt_number == receipt_number).order_by(t.at, t.id)
    )
    return [TimelineEntry(r.at, r.kind, r.public, r.detail) for r in rows]


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


async def audit_of(uow: UnitOfWork, receipt_number: str, office: str) -> list[AuditEntry]:
    """The officers' actions on one receipt within an office, in order."""
    conn = await connection_of(uow)
    a = audit_entry.c
    rows = await conn.execute(
        select(a.at, a.officer, a.office, a.action, a.receipt_number, a.detail)
        .where(a.receipt_number == receipt_number, a.office == office)
        .order_by(a.at, a.id)
    )
    return [AuditEntry(r.at, r.officer, r.office, r.action, r.receipt_number, r.detail) for r in rows]
