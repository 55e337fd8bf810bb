"""Settlement reconciliation (rekonsiliasi): a bank's daily file, uploaded by the office supervisor (or a
national admin), applied only with a second person's approval of those exact bytes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sambang_contracts import ApprovalAction
from sambang_runtime.auth import ensure_office
from sambang_runtime.errors import DomainError
from sambang_runtime.http import ApprovalHeader, read_limited_body

from ..domain.partners import PARTNER_ID
from ..domain.settlement import ReconciliationPreview, ReconciliationResult, settlement_sha256
from ..usecases.reconciliation import preview_settlement, reconcile_settlement
from .deps import ContextDep, RuntimeDep, SettlementUploaderDep, UowDep, approved

router = APIRouter(prefix="/v1/reconciliations", tags=["reconciliations"])


_CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "billing_code,ntpn,amount,paid_at,channel,bank_reference (header line first)",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.post("", responses={403: {}, 404: {}, 409: {}, 413: {}, 415: {}, 422: {}}, openapi_extra=_CSV_BODY)
async def upload_settlement(
    request: Request,
    uow: UowDep,
    principal: SettlementUploaderDep,
    context: ContextDep,
    runtime: RuntimeDep,
    partner: Annotated[
        str,
        Query(
            pattern=PARTNER_ID.pattern, max_length=32, description="The partner (bank) whose settlement file this is"
        ),
    ],
    date: Annotated[
        dt.date | None, Query(description="Settlement day (office time); default: the days of the rows")
    ] = None,
    office: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z]{3}$",
            description="The office the file is reconciled for: a supervisor's own (the default); a national "
            "admin names any",
        ),
    ] = None,
    approval: ApprovalHeader = None,
) -> ReconciliationResult | ReconciliationPreview:
    """Reconcile a bank's daily settlement file (text/csv) for an office: a dry run without an approval,
    applied (once per file) with one.

    Four eyes, chosen so: uploading alone never moves money. **Without** ``X-Supervisor-Approval``
    the answer is a dry run (``dry_run: true``): ``{matched, would_apply, other_office, discrepancies,
    errors, already_processed}`` and the ``approval_subject`` (the file's sha256 hex). Nothing is
    applied, no discrepancy recorded, no event emitted; the look is audited. **With** an approval of
    action ``settlement_apply`` whose subject is the sha256 hex of these exact bytes, given by another
    person (a supervisor of that office or a national admin), the file is applied and the answer is
    the result (``dry_run: false``); the uploader and the approver go into the audit trail and the
    approval is used up (409 ``approval_used`` the second time). An approval that does not fit
    (another file, expired, the uploader's own, a supervisor of another office) answers 403
    ``approval_invalid`` with its ``reason``, never a dry run.

    Header exactly ``billing_code,ntpn,amount,paid_at,channel,bank_reference`` (CRLF and a UTF-8 BOM
    accepted); a control character anywhere refuses the file (422 ``settlement_control_characters``
    with the ``line``). The bank is named by the ``partner`` query parameter. Applying the same bytes
    again answers the first result with ``already_processed: true`` and applies nothing.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "application/csv"):
        raise DomainError("unsupported_media_type")
    target = (office or principal.office).upper()
    if "national_admin" not in principal.roles:
        ensure_office(principal, target)
    raw = await read_limited_body(request, context.settings.settlement_max_bytes)
    now = uow.now()
    if approval is None:
        preview = await preview_settlement(
            uow, raw, partner_id=partner, office=target, uploader=principal, settlement_date=date, now=now
        )
        await uow.commit()
        return preview
    claims = await approved(
        uow,
        runtime,
        approval,
        action=ApprovalAction.SETTLEMENT_APPLY,
        subject=settlement_sha256(raw),
        caller=principal,
        office=target,
    )
    result = await reconcile_settlement(
        uow,
        raw,
        partner_id=partner,
        office=target,
        uploader=principal,
        approval=claims,
        settlement_date=date,
        now=now,
    )
    await uow.commit()
    return result
