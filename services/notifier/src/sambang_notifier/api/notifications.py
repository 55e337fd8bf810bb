"""The delivery log: every message to an applicant, its channel, status and attempts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sambang_runtime.auth import ensure_office
from sambang_runtime.http import valid_receipt
from sambang_runtime.service import UowDep

from ..stores import notifications
from ..stores.notifications import LogEntry
from .deps import LogReader

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


@router.get("", response_model=list[LogEntry])
async def delivery_log(
    principal: LogReader, uow: UowDep, receipt: Annotated[str, Query(min_length=1, max_length=32)]
) -> list[LogEntry]:
    """The delivery log of one receipt, for the supervisor or customer care of its office."""
    ensure_office(principal, valid_receipt(receipt)[:3])
    return await notifications.log_of(uow, receipt)
