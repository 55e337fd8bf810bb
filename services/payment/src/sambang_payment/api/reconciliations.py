"""Settlement reconciliation (rekonsiliasi): a bank's daily file, uploaded by the office supervisor."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sambang_runtime.errors import DomainError

from ..domain.settlement import parse_settlement, settlement_sha256
from ..ledger import reconcile
from ..stores import partners
from ..stores.audit import AuditAction, add_audit
from .deps import ContextDep, SupervisorDep, UowDep, read_body

router = APIRouter(prefix="/v1/reconciliations", tags=["reconciliations"])


class SettlementDiscrepancy(BaseModel):
    """A row that disagrees with our ledger, or one of our payments the file lacks (line null)."""

    line: int | None
    kind: str
    billing_code: str
    ntpn: str
    detail: str


class SettlementRowError(BaseModel):
    """A malformed row, by line number (the header is line 1)."""

    line: int
    errors: list[str]


class ReconciliationResult(BaseModel):
    """What reconciling one file found; the same file again answers this with ``already_processed``."""

    reconciliation_id: int
    partner: str
    office: str
    file_sha256: str
    uploaded_at: dt.datetime
    rows: int
    matched: int = Field(description="rows we already had (same NTPN, bill and amount)")
    applied: int = Field(description="payments we learnt of from the file")
    other_office: int = Field(description="rows for another office's bills, left to its supervisor")
    discrepancies: list[SettlementDiscrepancy]
    errors: list[SettlementRowError]
    already_processed: bool


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
    settings = context.settings
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "application/csv"):
        raise DomainError("unsupported_media_type")
    raw = await read_body(request, settings.settlement_max_bytes)
    if not await partners.partner_exists(uow, partner):
        raise DomainError("unknown_partner")
    parsed = parse_settlement(raw)
    if len(parsed.rows) + len(parsed.errors) > settings.settlement_max_rows:
        raise DomainError("too_many_rows", max_rows=settings.settlement_max_rows)
    sha256 = settlement_sha256(raw)
    result = await reconcile(
        uow,
        partner_id=partner,
        office=principal.office,
        uploaded_by=principal.sub,
        sha256=sha256,
        parsed=parsed,
        settlement_date=date,
        default_timezone=context.default_timezone,
    )
    await add_audit(
        uow,
        officer=principal.sub,
        office=principal.office,
        action=AuditAction.SETTLEMENT_UPLOADED,
        at=uow.now(),
        partner_id=partner,
        file_sha256=sha256,
        detail={
            "reconciliation_id": result["reconciliation_id"],
            "already_processed": result["already_processed"],
            "matched": result["matched"],
            "applied": result["applied"],
            "discrepancies": len(result["discrepancies"]),
            "errors": len(result["errors"]),
        },
    )
    await uow.commit()
    return ReconciliationResult.model_validate(result)
