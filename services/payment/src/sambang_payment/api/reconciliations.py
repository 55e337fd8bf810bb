"""Settlement reconciliation (rekonsiliasi): a bank's daily file, uploaded by the office supervisor."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sambang_runtime.errors import DomainError
from sambang_runtime.http import read_limited_body

from ..domain.settlement import ReconciliationResult
from ..usecases.reconciliation import reconcile_settlement
from .deps import ContextDep, SupervisorDep, UowDep

router = APIRouter(prefix="/v1/reconciliations", tags=["reconciliations"])


_CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "billing_code,ntpn,amount,paid_at,channel,bank_reference (header line first)",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.post("", responses={404: {}, 413: {}, 415: {}, 422: {}}, openapi_extra=_CSV_BODY)
async def upload_settlement(
    request: Request,
    uow: UowDep,
    principal: SupervisorDep,
    context: ContextDep,
    partner: Annotated[str, Query(description="The partner (bank) whose settlement file this is")],
    date: Annotated[
        dt.date | None, Query(description="Settlement day (office time); default: the days of the rows")
    ] = None,
) -> ReconciliationResult:
    """Reconcile a bank's daily settlement file (text/csv) for the supervisor's office; once per file.

    Header exactly ``billing_code,ntpn,amount,paid_at,channel,bank_reference`` (CRLF and a UTF-8 BOM
    accepted). The bank is named by the ``partner`` query parameter. Uploading the same bytes again
    answers the first result with ``already_processed: true`` and applies nothing.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "application/csv"):
        raise DomainError("unsupported_media_type")
    raw = await read_limited_body(request, context.settings.settlement_max_bytes)
    now = uow.now()
    result = await reconcile_settlement(uow, raw, partner_id=partner, uploader=principal, settlement_date=date, now=now)
    await uow.commit()
    return result
