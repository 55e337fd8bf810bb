"""The audit trail of one application, for the office's supervisor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sambang_contracts.values import Text
from sambang_runtime.auth import ensure_office
from sambang_runtime.http import valid_receipt
from sambang_runtime.service import UowDep

from ..stores import trail
from .deps import ReportReader
from .schemas import Instant

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class AuditEntry(BaseModel):
    """Who did what, when, on which receipt."""

    at: Instant
    officer: str
    office: str
    action: str
    receipt_number: str | None
    detail: dict[str, Any] | None


@router.get("")
async def audit_trail(
    principal: ReportReader, uow: UowDep, receipt: Annotated[Text, Query(max_length=32)]
) -> list[AuditEntry]:
    """Every officer action on a receipt within the supervisor's office: who, what, when."""
    valid_receipt(receipt)
    ensure_office(principal, receipt[:3])
    return [
        AuditEntry(
            at=r.at,
            officer=r.officer,
            office=r.office,
            action=r.action,
            receipt_number=r.receipt_number,
            detail=r.detail,
        )
        for r in await trail.audit_of(uow, receipt, principal.office.upper())
    ]
