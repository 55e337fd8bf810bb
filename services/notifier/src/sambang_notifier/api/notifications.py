"""The delivery log: every message to an applicant, its channel, status and attempts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sambang_runtime.auth import ensure_office
from sambang_runtime.http import valid_receipt
from sambang_runtime.service import UowDep

from ..stores import notifications
from .deps import LogReader

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


class NotificationOut(BaseModel):
    """One message of the delivery log (the address masked)."""

    notification_id: str
    event_id: str
    event_type: str
    template: str
    language: str
    channel: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    failed_at: dt.datetime | None


@router.get("", response_model=list[NotificationOut])
async def delivery_log(
    principal: LogReader, uow: UowDep, receipt: Annotated[str, Query(min_length=1, max_length=32)]
) -> list[NotificationOut]:
    """The delivery log of one receipt, for the supervisor or customer care of its office."""
    ensure_office(principal, valid_receipt(receipt)[:3])
    return [
        NotificationOut(
            notification_id=e.id,
            event_id=e.event_id,
            event_type=e.event_type,
            template=e.template,
            language=e.language,
            channel=e.channel,
            recipient=e.recipient,
            status=e.status,
            attempts=e.attempts,
            last_error=e.last_error,
            created_at=e.created_at,
            next_attempt_at=e.next_attempt_at,
            sent_at=e.sent_at,
            failed_at=e.failed_at,
        )
        for e in await notifications.log_of(uow, receipt)
    ]
