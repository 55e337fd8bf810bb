"""The applicant's timeline and the officers' audit trail, written inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sambang_runtime.auth import Principal
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .models import audit_entry, timeline_entry


async def add_timeline(
    conn: AsyncConnection,
    receipt_number: str,
    kind: str,
    at: dt.datetime,
    *,
    public: bool = True,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """One step of the journey; `public=False` for what the applicant must never see (holds)."""
    await conn.execute(
        insert(timeline_entry).values(
            receipt_number=receipt_number, kind=kind, at=at, public=public, detail=dict(detail) if detail else None
        )
    )


async def add_audit(
    conn: AsyncConnection,
    principal: Principal,
    action: str,
    at: dt.datetime,
    *,
    receipt_number: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Who did what, when, on which receipt (append-only; nothing updates or deletes these rows)."""
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
