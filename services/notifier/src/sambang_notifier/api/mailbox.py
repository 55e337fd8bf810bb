"""The development mailbox: what the built-in SMTP sink caught (embedded and development mode only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sambang_contracts.values import Text
from sambang_runtime.errors import DomainError

from .deps import ContextDep

router = APIRouter(prefix="/v1/dev/mailbox", tags=["development"])


class MailOut(BaseModel):
    """One caught message."""

    mail_from: str
    to: list[str]
    subject: str
    text: str
    html: str
    notification_id: str | None
    received_at: dt.datetime


@router.get("", response_model=list[MailOut])
async def dev_mailbox(
    ctx: ContextDep, to: Annotated[Text | None, Query(max_length=254, description="only mail to this address")] = None
) -> list[MailOut]:
    """Mail caught by the SMTP sink, oldest first; 404 outside development (there is no sink there at all,
    whatever ``smtp_sink`` says)."""
    if ctx.mailbox is None:
        raise DomainError("not_found")
    return [
        MailOut(
            mail_from=m.mail_from,
            to=list(m.to),
            subject=m.subject,
            text=m.text,
            html=m.html,
            notification_id=m.notification_id,
            received_at=m.received_at,
        )
        for m in ctx.mailbox.to(to)
    ]
