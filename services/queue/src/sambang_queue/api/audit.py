"""The audit trail of one application, for the office's supervisor."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sambang_runtime.auth import ensure_office
from sqlalchemy import select

from ..models import audit_entry
from .deps import Conn, Supervisor, valid_receipt

router = APIRouter(tags=["audit"])


@router.get("/v1/audit")
async def audit_trail(principal: Supervisor, conn: Conn, receipt: str = Query()) -> list[dict[str, Any]]:
    """Every officer action on a receipt within the supervisor's office: who, what, when."""
    valid_receipt(receipt)
    ensure_office(principal, receipt[:3])
    rows = (
        await conn.execute(
            select(audit_entry)
            .where(audit_entry.c.receipt_number == receipt, audit_entry.c.office == principal.office.upper())
            .order_by(audit_entry.c.at, audit_entry.c.id)
        )
    ).all()
    return [
        {
            "at": r.at,
            "officer": r.officer,
            "office": r.office,
            "action": r.action,
            "receipt_number": r.receipt_number,
            "detail": r.detail,
        }
        for r in rows
    ]
