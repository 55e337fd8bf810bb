"""The delivery log: every message to an applicant, its channel, status and attempts (each read audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sambang_contracts.values import Text
from sambang_runtime.auth import ensure_office
from sambang_runtime.http import valid_receipt
from sambang_runtime.service import UowDep

from ..stores import audit, notifications
from ..stores.audit import AuditAction
from ..stores.notifications import LogEntry
from .deps import LogReader

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


@router.get("", response_model=list[LogEntry])
async def delivery_log(
    principal: LogReader, uow: UowDep, receipt: Annotated[Text, Query(min_length=1, max_length=32)]
) -> list[LogEntry]:
    """The delivery log of one receipt, for the supervisor or customer care of its office; every read goes
    into the audit trail (who, which receipt, when, how many entries)."""
    receipt = valid_receipt(receipt)
    ensure_office(principal, receipt[:3])
    entries = await notifications.log_of(uow, receipt)
    await audit.add(
        uow, principal, AuditAction.DELIVERY_LOG_READ, receipt_number=receipt, detail={"entries": len(entries)}
    )
    await uow.commit()
    return entries
