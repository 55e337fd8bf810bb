"""Settlement reconciliation (rekonsiliasi): a bank's daily file, previewed without an approval, applied
(once per file, for one office) with a second person's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sambang_contracts import PaymentSource
from sambang_runtime.approvals import ApprovalClaims
from sambang_runtime.auth import Principal
from sambang_runtime.errors import DomainError
from sambang_runtime.logs import get_logger
from sambang_runtime.uow import UnitOfWork

from ..context import context_of
from ..domain.bills import BillStatus
from ..domain.offices import local_day_bounds
from ..domain.payments import (
    BillState,
    Discrepancy,
    IncomingPayment,
    Outcome,
    judge_payment,
    missing_in_settlement,
    payment_discrepancy,
)
from ..domain.settlement import (
    ReconciliationPreview,
    ReconciliationResult,
    SettlementDiscrepancy,
    SettlementFile,
    SettlementRowError,
    parse_settlement,
    settlement_days,
    settlement_sha256,
)
from ..stores import bills, partners, payments, reconciliations
from ..stores.audit import AuditAction, add_audit
from ..stores.offices import office_rules
from .payments import raise_discrepancy, record_payment

log = get_logger(__name__)


@dataclass(slots=True)
class RowTally:
    """What the file's rows did: already ours, newly applied, another office's, or discrepancies."""

    matched: int = 0
    applied: int = 0
    other_office: int = 0
    discrepancies: list[SettlementDiscrepancy] = field(default_factory=list)


async def reconcile_settlement(
    uow: UnitOfWork,
    raw: bytes,
    *,
    partner_id: str,
    office: str,
    uploader: Principal,
    approval: ApprovalClaims,
    settlement_date: dt.date | None,
    now: dt.datetime,
) -> ReconciliationResult:
    """Apply a bank's settlement file for ``office``, once per file, and audit the upload with the
    uploader and the second person who approved it (``approval``, already verified and used up).

    Rows: matched (we have that NTPN, same bill and amount), applied (a payment we never heard of,
    for an unpaid bill with the right amount: source SETTLEMENT), discrepancy, or another office's
    bill (left to that office's upload). Then our payments through this partner for this office on
    the file's days (office-local) that the file lacks are MISSING_IN_SETTLEMENT. The same bytes
    again answer the first result with ``already_processed`` and apply nothing.
    """
    if not await partners.partner_exists(uow, partner_id):
        raise DomainError("unknown_partner")
    parsed = _parse_within_limit(uow, raw)
    sha256 = settlement_sha256(raw)
    reconciliation_id = await reconciliations.claim_file(
        uow, partner_id=partner_id, office=office, sha256=sha256, uploaded_by=uploader.sub, now=now
    )
    if reconciliation_id is None:
        # The same bytes were processed before (or just now by a concurrent upload that committed).
        earlier = await reconciliations.earlier_result(uow, partner_id=partner_id, office=office, sha256=sha256)
        result = earlier.model_copy(update={"already_processed": True})
    else:
        tally = await _apply_rows(uow, parsed, partner_id=partner_id, office=office, now=now)
        missing = await _flag_missing_payments(
            uow, parsed, partner_id=partner_id, office=office, settlement_date=settlement_date, now=now
        )
        result = ReconciliationResult(
            reconciliation_id=reconciliation_id,
            partner=partner_id,
            office=office,
            file_sha256=sha256,
            uploaded_at=now,
            rows=len(parsed.rows) + len(parsed.errors),
            matched=tally.matched,
            applied=tally.applied,
            other_office=tally.other_office,
            discrepancies=tally.discrepancies + missing,
            errors=[SettlementRowError(line=e.line, errors=list(e.errors)) for e in parsed.errors],
            already_processed=False,
        )
        await reconciliations.keep_result(uow, result)
        log.info(
            "reconciliation.done",
            partner=partner_id,
            office=office,
            by=uploader.sub,
            approved_by=approval.approver,
            matched=result.matched,
            applied=result.applied,
            discrepancies=len(result.discrepancies),
            errors=len(result.errors),
        )
    await _audit_upload(uow, uploader, result, approval=approval, now=now)
    return result


async def preview_settlement(
    uow: UnitOfWork,
    raw: bytes,
    *,
    partner_id: str,
    office: str,
    uploader: Principal,
    settlement_date: dt.date | None,
    now: dt.datetime,
) -> ReconciliationPreview:
    """What applying a settlement file for ``office`` would do, changing nothing but the audit trail
    (who looked at which file): no payment, bill, discrepancy or reconciliation is written, no event
    emitted, no bill locked.

    Rows are judged in the order applying takes them, each seeing what the rows before it would have
    done (a second payment of one bill in the file is the double payment it would be).
    """
    if not await partners.partner_exists(uow, partner_id):
        raise DomainError("unknown_partner")
    parsed = _parse_within_limit(uow, raw)
    sha256 = settlement_sha256(raw)
    matched = would_apply = other_office = 0
    found: list[SettlementDiscrepancy] = []
    paid_here: dict[str, BillState] = {}  # bills the file's earlier rows would pay
    for row in sorted(parsed.rows, key=lambda r: (r.billing_code, r.ntpn)):
        payment = IncomingPayment.reported(row, source=PaymentSource.SETTLEMENT, partner_id=partner_id)
        bill = await bills.bill_for_preview(uow, row.billing_code)
        if bill is not None and bill.office != office:
            other_office += 1
            continue
        state = paid_here.get(row.billing_code, bill.state if bill is not None else None)
        verdict = judge_payment(
            billing_code=row.billing_code,
            amount=row.amount,
            paid_at=payment.paid_at,
            bill=state,
            known=await payments.known_payment(uow, row.ntpn),
        )
        if verdict.outcome is Outcome.DUPLICATE:
            matched += 1
        elif verdict.outcome is Outcome.APPLIED:
            would_apply += 1
            assert state is not None
            paid_here[row.billing_code] = BillState(state.billing_code, BillStatus.PAID, state.amount, state.expires_at)
        else:
            receipt = bill.receipt_number if bill is not None else None
            discrepancy = payment_discrepancy(verdict, payment, receipt_number=receipt, office=office)
            found.append(SettlementDiscrepancy.found(row.line, discrepancy))
    missing = [
        SettlementDiscrepancy.found(None, d)
        for d in await _missing_payments(
            uow, parsed, partner_id=partner_id, office=office, settlement_date=settlement_date
        )
    ]
    preview = ReconciliationPreview(
        partner=partner_id,
        office=office,
        file_sha256=sha256,
        rows=len(parsed.rows) + len(parsed.errors),
        matched=matched,
        would_apply=would_apply,
        other_office=other_office,
        discrepancies=found + missing,
        errors=[SettlementRowError(line=e.line, errors=list(e.errors)) for e in parsed.errors],
        already_processed=await reconciliations.was_processed(uow, partner_id=partner_id, office=office, sha256=sha256),
        approval_subject=sha256,
    )
    await add_audit(
        uow,
        uploader,
        AuditAction.SETTLEMENT_PREVIEWED,
        at=now,
        partner_id=partner_id,
        file_sha256=sha256,
        detail={
            "office": office,
            "already_processed": preview.already_processed,
            "matched": preview.matched,
            "would_apply": preview.would_apply,
            "discrepancies": len(preview.discrepancies),
            "errors": len(preview.errors),
        },
    )
    log.info(
        "reconciliation.previewed",
        partner=partner_id,
        office=office,
        matched=matched,
        would_apply=would_apply,
        discrepancies=len(preview.discrepancies),
    )
    return preview


def _parse_within_limit(uow: UnitOfWork, raw: bytes) -> SettlementFile:
    """The file's rows, refused whole (422 ``too_many_rows``) beyond the configured count."""
    max_rows = context_of(uow).settings.settlement_max_rows
    parsed = parse_settlement(raw)
    if len(parsed.rows) + len(parsed.errors) > max_rows:
        raise DomainError("too_many_rows", max_rows=max_rows)
    return parsed


async def _apply_rows(
    uow: UnitOfWork, parsed: SettlementFile, *, partner_id: str, office: str, now: dt.datetime
) -> RowTally:
    """Record each well-formed row as a payment of this office (another office's bills are left alone)."""
    tally = RowTally()
    # Bills are locked in billing-code order, so two uploads running together cannot deadlock.
    for row in sorted(parsed.rows, key=lambda r: (r.billing_code, r.ntpn)):
        payment = IncomingPayment.reported(row, source=PaymentSource.SETTLEMENT, partner_id=partner_id)
        recorded = await record_payment(uow, payment, now=now, office_scope=office)
        if recorded is None:
            tally.other_office += 1
        elif recorded.verdict.outcome is Outcome.DUPLICATE:
            tally.matched += 1
        elif recorded.verdict.outcome is Outcome.APPLIED:
            tally.applied += 1
        else:
            found = payment_discrepancy(
                recorded.verdict, payment, receipt_number=recorded.receipt_number, office=recorded.office
            )
            tally.discrepancies.append(SettlementDiscrepancy.found(row.line, found))
    return tally


async def _missing_payments(
    uow: UnitOfWork,
    parsed: SettlementFile,
    *,
    partner_id: str,
    office: str,
    settlement_date: dt.date | None,
) -> list[Discrepancy]:
    """Our payments through this partner for this office on the file's office-local days that the
    file lacks: each a MISSING_IN_SETTLEMENT discrepancy (not yet recorded)."""
    rules = await office_rules(uow, office, context_of(uow).default_timezone)
    days = settlement_days(parsed, settlement_date, rules.timezone)
    if not days:
        return []
    start, end = local_day_bounds(days, rules.timezone)
    in_file = {r.ntpn for r in parsed.rows}
    return [
        missing_in_settlement(pay, office=office, partner_id=partner_id)
        for pay in await payments.payments_between(uow, partner_id=partner_id, office=office, start=start, end=end)
        if pay.ntpn not in in_file
    ]


async def _flag_missing_payments(
    uow: UnitOfWork,
    parsed: SettlementFile,
    *,
    partner_id: str,
    office: str,
    settlement_date: dt.date | None,
    now: dt.datetime,
) -> list[SettlementDiscrepancy]:
    """The file's missing payments (``_missing_payments``), each recorded as a discrepancy."""
    missing: list[SettlementDiscrepancy] = []
    for found in await _missing_payments(
        uow, parsed, partner_id=partner_id, office=office, settlement_date=settlement_date
    ):
        await raise_discrepancy(uow, found, now=now)
        missing.append(SettlementDiscrepancy.found(None, found))
    return missing


async def _audit_upload(
    uow: UnitOfWork,
    uploader: Principal,
    result: ReconciliationResult,
    *,
    approval: ApprovalClaims,
    now: dt.datetime,
) -> None:
    """The audit row of an upload, with its approver (a repeated file too: who sent it again is worth
    knowing)."""
    await add_audit(
        uow,
        uploader,
        AuditAction.SETTLEMENT_UPLOADED,
        at=now,
        partner_id=result.partner,
        file_sha256=result.file_sha256,
        approval=approval,
        detail={
            "office": result.office,
            "reconciliation_id": result.reconciliation_id,
            "already_processed": result.already_processed,
            "matched": result.matched,
            "applied": result.applied,
            "discrepancies": len(result.discrepancies),
            "errors": len(result.errors),
        },
    )
