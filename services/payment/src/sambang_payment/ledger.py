"""The payment ledger: every NTPN recorded once, bills paid once, discrepancies raised once,
settlement files reconciled once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sambang_contracts import DiscrepancyDetected, DiscrepancyKind, PaymentChannel, PaymentConfirmed, PaymentSource
from sambang_runtime.logs import get_logger
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .billing import office_rules
from .dialects import insert_ignoring_conflicts, locking
from .domain import (
    BillState,
    BillStatus,
    KnownPayment,
    Outcome,
    SettlementFile,
    Verdict,
    as_utc,
    judge_payment,
    local_day_bounds,
)
from .models import BILL, DISCREPANCY, NOTIFICATION, PAYMENT, RECONCILIATION

log = get_logger(__name__)


@dataclass(frozen=True)
class IncomingPayment:
    """A payment as a bank reports it (webhook body or settlement row)."""

    billing_code: str
    ntpn: str
    amount: int
    paid_at: dt.datetime
    channel: PaymentChannel
    bank_reference: str
    source: PaymentSource
    partner_id: str


@dataclass(frozen=True)
class Recorded:
    """What recording a payment did."""

    verdict: Verdict
    receipt_number: str | None
    office: str | None


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
    conn = await uow.session.connection()
    values = {
        "office": office,
        "receipt_number": receipt_number,
        "billing_code": billing_code,
        "ntpn": ntpn,
        "amount": amount,
        "kind": kind.value,
        "detail": detail[:2000],
        "source": source.value,
        "partner_id": partner_id,
        "detected_at": now,
        "dedupe_key": dedupe_key[:200],
    }
    inserted = await conn.execute(insert_ignoring_conflicts(conn, DISCREPANCY, values))
    if not inserted.rowcount:
        return False
    uow.emit(
        DiscrepancyDetected(receipt_number=receipt_number, billing_code=billing_code, kind=kind, detail=detail[:2000]),
        subject=receipt_number,
        office=office,
    )
    log.warning("payment.discrepancy", kind=kind.value, billing_code=billing_code, receipt_number=receipt_number)
    return True


async def _known(conn: AsyncConnection, ntpn: str) -> KnownPayment | None:
    row = (await conn.execute(select(PAYMENT.c.billing_code, PAYMENT.c.amount).where(PAYMENT.c.ntpn == ntpn))).first()
    return None if row is None else KnownPayment(row.billing_code, row.amount)


async def record_payment(
    uow: UnitOfWork, p: IncomingPayment, *, now: dt.datetime, office_scope: str | None = None
) -> Recorded | None:
    """Record one payment and apply it to its bill at most once; the caller commits.

    Concurrency: the bill row is locked first (``SELECT … FOR UPDATE``), so notifications for one bill
    are judged one after the other, each seeing what the previous one committed. The NTPN is unique
    and inserted with ``ON CONFLICT DO NOTHING``, which covers payments for unknown bills (nothing to
    lock): a concurrent twin waits for the first commit, inserts nothing and is judged again as a
    duplicate. The bill moves to PAID with a conditional UPDATE as a last guard.

    ``office_scope`` (settlement files): a bill of another office is left alone and None returned.
    """
    conn = await uow.session.connection()
    bill = (
        await conn.execute(
            locking(
                conn,
                select(
                    BILL.c.id,
                    BILL.c.receipt_number,
                    BILL.c.office,
                    BILL.c.status,
                    BILL.c.amount,
                    BILL.c.expires_at,
                ).where(BILL.c.billing_code == p.billing_code),
            )
        )
    ).first()
    if office_scope is not None and bill is not None and bill.office != office_scope:
        return None
    state = (
        None
        if bill is None
        else BillState(p.billing_code, BillStatus(bill.status), bill.amount, as_utc(bill.expires_at))
    )
    receipt = bill.receipt_number if bill is not None else None
    office = bill.office if bill is not None else office_scope
    verdict = judge_payment(
        billing_code=p.billing_code, amount=p.amount, paid_at=p.paid_at, bill=state, known=await _known(conn, p.ntpn)
    )
    if (
        verdict.outcome is not Outcome.DUPLICATE
        and (
            await _claim_ntpn(
                conn, p, verdict, bill_id=bill.id if bill else None, receipt=receipt, office=office, now=now
            )
        )
        is False
    ):
        # Another transaction recorded this NTPN between our read and our insert: judge again.
        verdict = judge_payment(
            billing_code=p.billing_code,
            amount=p.amount,
            paid_at=p.paid_at,
            bill=state,
            known=await _known(conn, p.ntpn),
        )
    if verdict.outcome is Outcome.APPLIED:
        assert bill is not None
        paid = await conn.execute(
            update(BILL)
            .where(
                BILL.c.id == bill.id,
                BILL.c.status.in_([BillStatus.UNPAID.value, BillStatus.EXPIRED.value]),
            )
            .values(status=BillStatus.PAID.value, paid_at=p.paid_at, ntpn=p.ntpn)
        )
        if paid.rowcount != 1:  # unreachable while the row lock holds; never pay twice regardless
            raise RuntimeError("bill changed under its row lock")
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
            dedupe_key=f"{verdict.kind.value}:{p.ntpn}:{p.billing_code}:{p.amount}",
            now=now,
        )
    return Recorded(verdict, receipt, office)


async def _claim_ntpn(
    conn: AsyncConnection,
    p: IncomingPayment,
    verdict: Verdict,
    *,
    bill_id: int | None,
    receipt: str | None,
    office: str | None,
    now: dt.datetime,
) -> bool:
    values = {
        "ntpn": p.ntpn,
        "billing_code": p.billing_code,
        "bill_id": bill_id,
        "receipt_number": receipt,
        "office": office,
        "amount": p.amount,
        "channel": p.channel.value,
        "bank_reference": p.bank_reference,
        "paid_at": p.paid_at,
        "source": p.source.value,
        "partner_id": p.partner_id,
        "outcome": verdict.outcome.value,
        "discrepancy_kind": verdict.kind.value if verdict.kind else None,
        "recorded_at": now,
    }
    if verdict.kind is not None and verdict.outcome is Outcome.DISCREPANCY:
        # A conflicting resend of a known NTPN keeps the first record; it is not a new payment.
        known = await _known(conn, p.ntpn)
        if known is not None:
            return True
    result = await conn.execute(insert_ignoring_conflicts(conn, PAYMENT, values))
    return bool(result.rowcount)


async def record_notification(
    conn: AsyncConnection,
    *,
    partner_id: str,
    key_id: str,
    signed_at: dt.datetime,
    p: IncomingPayment,
    verdict: Verdict,
    body: bytes,
    now: dt.datetime,
) -> int:
    """The audit row of one signed notification; returns its id."""
    result = await conn.execute(
        NOTIFICATION.insert()
        .values(
            partner_id=partner_id,
            key_id=key_id,
            signed_at=signed_at,
            received_at=now,
            billing_code=p.billing_code,
            ntpn=p.ntpn,
            amount=p.amount,
            outcome=verdict.outcome.value,
            discrepancy_kind=verdict.kind.value if verdict.kind else None,
            body=body.decode("utf-8", errors="replace"),
        )
        .returning(NOTIFICATION.c.id)
    )
    return int(result.scalar_one())


# --- settlement reconciliation ------------------------------------------------------------------


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
    now: dt.datetime,
) -> dict[str, Any]:
    """Apply a bank's settlement file for one office, once per file; the caller commits.

    Rows: matched (we have that NTPN, same bill and amount), applied (a payment we never heard of,
    for an unpaid bill with the right amount: source SETTLEMENT), discrepancy, or another office's
    bill (left to that office's upload). Then our payments through this partner for this office on
    the file's days (office-local) that the file lacks are MISSING_IN_SETTLEMENT.
    """
    conn = await uow.session.connection()
    claim = await conn.execute(
        insert_ignoring_conflicts(
            conn,
            RECONCILIATION,
            {
                "partner_id": partner_id,
                "office": office,
                "file_sha256": sha256,
                "uploaded_at": now,
                "uploaded_by": uploaded_by,
                "result": {},
            },
        ).returning(RECONCILIATION.c.id)
    )
    claimed = claim.first()
    if claimed is None:
        # The same bytes were processed before (or just now by a concurrent upload that committed).
        earlier = (
            await conn.execute(
                select(RECONCILIATION.c.result).where(
                    RECONCILIATION.c.partner_id == partner_id,
                    RECONCILIATION.c.office == office,
                    RECONCILIATION.c.file_sha256 == sha256,
                )
            )
        ).scalar_one()
        return {**earlier, "already_processed": True}
    reconciliation_id = int(claimed[0])
    matched = applied = other_office = 0
    discrepancies: list[dict[str, Any]] = []
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
            now=now,
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
            discrepancies.append(
                {
                    "line": row.line,
                    "kind": recorded.verdict.kind.value,
                    "billing_code": row.billing_code,
                    "ntpn": row.ntpn,
                    "detail": recorded.verdict.detail,
                }
            )
    rules = await office_rules(uow, office, default_timezone)
    days = [settlement_date] if settlement_date else [r.paid_at.astimezone(rules.timezone).date() for r in parsed.rows]
    missing: list[dict[str, Any]] = []
    if days:
        start, end = local_day_bounds(days, rules.timezone)
        in_file = {r.ntpn for r in parsed.rows}
        ours = (
            await conn.execute(
                select(PAYMENT.c.ntpn, PAYMENT.c.billing_code, PAYMENT.c.receipt_number, PAYMENT.c.amount)
                .where(
                    PAYMENT.c.partner_id == partner_id,
                    PAYMENT.c.office == office,
                    PAYMENT.c.paid_at >= start,
                    PAYMENT.c.paid_at < end,
                )
                .order_by(PAYMENT.c.paid_at)
            )
        ).all()
        for pay in ours:
            if pay.ntpn in in_file:
                continue
            detail = f"Payment {pay.ntpn} of {pay.amount} is not in the partner's settlement file"
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
                    "kind": "MISSING_IN_SETTLEMENT",
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
        "discrepancies": discrepancies + missing,
        "errors": [{"line": e.line, "errors": list(e.errors)} for e in parsed.errors],
        "already_processed": False,
    }
    await conn.execute(update(RECONCILIATION).where(RECONCILIATION.c.id == reconciliation_id).values(result=result))
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
