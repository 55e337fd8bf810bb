"""The money workflows shared by the webhook and the settlement upload: record one payment, and
reconcile a bank's settlement file. The domain decides, the stores read and write, events leave
through the unit of work; no SQL, HTTP or wall clock here. The caller commits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sambang_contracts import DiscrepancyDetected, DiscrepancyKind, PaymentConfirmed, PaymentSource
from sambang_runtime.logs import get_logger
from sambang_runtime.uow import UnitOfWork

from .domain.offices import local_day_bounds
from .domain.payments import IncomingPayment, KnownPayment, Outcome, Recorded, Verdict, dedupe_key, judge_payment
from .domain.settlement import SettlementFile, missing_detail, settlement_days
from .stores import bills, discrepancies, payments, reconciliations
from .stores.discrepancies import DETAIL_MAX
from .stores.offices import office_rules

log = get_logger(__name__)


async def raise_discrepancy(
    uow: UnitOfWork,
    *,
    kind: DiscrepancyKind,
    detail: str,
    billing_code: str,
    receipt_number: str | None,
    office: str | None,
    ntpn: str | None,
    amount: int | None,
    source: PaymentSource,
    partner_id: str | None,
    dedupe_key: str,
    now: dt.datetime,
) -> bool:
    """Record a discrepancy and emit ``payment.discrepancy.detected``, once per ``dedupe_key``."""
    new = await discrepancies.add_discrepancy(
        uow,
        kind=kind,
        detail=detail,
        billing_code=billing_code,
        receipt_number=receipt_number,
        office=office,
        ntpn=ntpn,
        amount=amount,
        source=source,
        partner_id=partner_id,
        dedupe_key=dedupe_key,
        now=now,
    )
    if not new:
        return False
    uow.emit(
        DiscrepancyDetected(
            receipt_number=receipt_number, billing_code=billing_code, kind=kind, detail=detail[:DETAIL_MAX]
        ),
        subject=receipt_number,
        office=office,
    )
    log.warning("payment.discrepancy", kind=kind.value, billing_code=billing_code, receipt_number=receipt_number)
    return True


async def record_payment(uow: UnitOfWork, p: IncomingPayment, *, office_scope: str | None = None) -> Recorded | None:
    """Record one payment and apply it to its bill at most once.

    The bill row is locked first, so payments of one bill are judged one after the other. The NTPN
    is unique: a twin recorded by a concurrent transaction makes our insert do nothing, and the
    payment is judged again (now as a duplicate). ``office_scope`` (settlement files): a bill of
    another office is left alone and None returned.
    """
    now = uow.now()
    bill = await bills.lock_for_payment(uow, p.billing_code)
    if office_scope is not None and bill is not None and bill.office != office_scope:
        return None
    state = bill.state if bill is not None else None
    receipt = bill.receipt_number if bill is not None else None
    office = bill.office if bill is not None else office_scope

    def judge(known: KnownPayment | None) -> Verdict:
        return judge_payment(billing_code=p.billing_code, amount=p.amount, paid_at=p.paid_at, bill=state, known=known)

    verdict = judge(await payments.known_payment(uow, p.ntpn))
    if verdict.outcome is not Outcome.DUPLICATE:
        # A conflicting resend of a known NTPN keeps the first record; it is not a new payment.
        conflicting_resend = (
            verdict.outcome is Outcome.DISCREPANCY and await payments.known_payment(uow, p.ntpn) is not None
        )
        if not conflicting_resend and not await payments.claim_ntpn(
            uow, p, verdict, bill_id=bill.id if bill else None, receipt_number=receipt, office=office, now=now
        ):
            # Another transaction recorded this NTPN between our read and our insert: judge again.
            verdict = judge(await payments.known_payment(uow, p.ntpn))
    if verdict.outcome is Outcome.APPLIED:
        assert bill is not None
        await bills.mark_paid(uow, bill.id, paid_at=p.paid_at, ntpn=p.ntpn)
        uow.emit(
            PaymentConfirmed(
                receipt_number=bill.receipt_number,
                billing_code=p.billing_code,
                amount=p.amount,
                ntpn=p.ntpn,
                bank_reference=p.bank_reference,
                channel=p.channel,
                paid_at=p.paid_at,
                source=p.source,
            ),
            office=bill.office,
        )
        log.info("payment.applied", receipt_number=bill.receipt_number, ntpn=p.ntpn, source=p.source.value)
    elif verdict.outcome is Outcome.DISCREPANCY:
        assert verdict.kind is not None
        await raise_discrepancy(
            uow,
            kind=verdict.kind,
            detail=verdict.detail,
            billing_code=p.billing_code,
            receipt_number=receipt,
            office=office,
            ntpn=p.ntpn,
            amount=p.amount,
            source=p.source,
            partner_id=p.partner_id,
            dedupe_key=dedupe_key(verdict, p),
            now=now,
        )
    return Recorded(verdict, receipt, office)


async def reconcile(
    uow: UnitOfWork,
    *,
    partner_id: str,
    office: str,
    uploaded_by: str,
    sha256: str,
    parsed: SettlementFile,
    settlement_date: dt.date | None,
    default_timezone: str,
) -> dict[str, Any]:
    """Apply a bank's settlement file for one office, once per file.

    Rows: matched (we have that NTPN, same bill and amount), applied (a payment we never heard of,
    for an unpaid bill with the right amount: source SETTLEMENT), discrepancy, or another office's
    bill (left to that office's upload). Then our payments through this partner for this office on
    the file's days (office-local) that the file lacks are MISSING_IN_SETTLEMENT.
    """
    now = uow.now()
    reconciliation_id = await reconciliations.claim_file(
        uow, partner_id=partner_id, office=office, sha256=sha256, uploaded_by=uploaded_by, now=now
    )
    if reconciliation_id is None:
        # The same bytes were processed before (or just now by a concurrent upload that committed).
        earlier = await reconciliations.earlier_result(uow, partner_id=partner_id, office=office, sha256=sha256)
        return {**earlier, "already_processed": True}
    matched = applied = other_office = 0
    found: list[dict[str, Any]] = []
    # Bills are locked in billing-code order, so two uploads running together cannot deadlock.
    for row in sorted(parsed.rows, key=lambda r: (r.billing_code, r.ntpn)):
        recorded = await record_payment(
            uow,
            IncomingPayment(
                billing_code=row.billing_code,
                ntpn=row.ntpn,
                amount=row.amount,
                paid_at=row.paid_at,
                channel=row.channel,
                bank_reference=row.bank_reference,
                source=PaymentSource.SETTLEMENT,
                partner_id=partner_id,
            ),
            office_scope=office,
        )
        if recorded is None:
            other_office += 1
        elif recorded.verdict.outcome is Outcome.DUPLICATE:
            matched += 1
        elif recorded.verdict.outcome is Outcome.APPLIED:
            applied += 1
        else:
            assert recorded.verdict.kind is not None
            found.append(
                {
                    "line": row.line,
                    "kind": recorded.verdict.kind.value,
                    "billing_code": row.billing_code,
                    "ntpn": row.ntpn,
                    "detail": recorded.verdict.detail,
                }
            )
    rules = await office_rules(uow, office, default_timezone)
    days = settlement_days(parsed, settlement_date, rules.timezone)
    missing: list[dict[str, Any]] = []
    if days:
        start, end = local_day_bounds(days, rules.timezone)
        in_file = {r.ntpn for r in parsed.rows}
        ours = await payments.payments_between(uow, partner_id=partner_id, office=office, start=start, end=end)
        for pay in ours:
            if pay.ntpn in in_file:
                continue
            detail = missing_detail(pay.ntpn, pay.amount)
            await raise_discrepancy(
                uow,
                kind=DiscrepancyKind.MISSING_IN_SETTLEMENT,
                detail=detail,
                billing_code=pay.billing_code,
                receipt_number=pay.receipt_number,
                office=office,
                ntpn=pay.ntpn,
                amount=pay.amount,
                source=PaymentSource.SETTLEMENT,
                partner_id=partner_id,
                dedupe_key=f"MISSING_IN_SETTLEMENT:{pay.ntpn}",
                now=now,
            )
            missing.append(
                {
                    "line": None,
                    "kind": DiscrepancyKind.MISSING_IN_SETTLEMENT.value,
                    "billing_code": pay.billing_code,
                    "ntpn": pay.ntpn,
                    "detail": detail,
                }
            )
    result: dict[str, Any] = {
        "reconciliation_id": reconciliation_id,
        "partner": partner_id,
        "office": office,
        "file_sha256": sha256,
        "uploaded_at": now.isoformat(),
        "rows": len(parsed.rows) + len(parsed.errors),
        "matched": matched,
        "applied": applied,
        "other_office": other_office,
        "discrepancies": found + missing,
        "errors": [{"line": e.line, "errors": list(e.errors)} for e in parsed.errors],
        "already_processed": False,
    }
    await reconciliations.keep_result(uow, reconciliation_id, result)
    log.info(
        "reconciliation.done",
        partner=partner_id,
        office=office,
        matched=matched,
        applied=applied,
        discrepancies=len(result["discrepancies"]),
        errors=len(parsed.errors),
    )
    return result
