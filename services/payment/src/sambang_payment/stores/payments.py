"""The payment ledger: one row per NTPN (money counted once) and every signed bank notification."""

from __future__ import annotations

import datetime as dt

from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..domain.notifications import SignedNotification
from ..domain.payments import IncomingPayment, KnownPayment, LedgerPayment, Verdict
from ..models import NOTIFICATION, PAYMENT


async def known_payment(uow: UnitOfWork, ntpn: str) -> KnownPayment | None:
    """The payment already recorded under an NTPN."""
    conn = await uow.session.connection()
    row = (await conn.execute(select(PAYMENT.c.billing_code, PAYMENT.c.amount).where(PAYMENT.c.ntpn == ntpn))).first()
    return None if row is None else KnownPayment(row.billing_code, row.amount)


async def claim_ntpn(
    uow: UnitOfWork,
    p: IncomingPayment,
    verdict: Verdict,
    *,
    bill_id: int | None,
    receipt_number: str | None,
    office: str | None,
    now: dt.datetime,
) -> bool:
    """Record a payment under its NTPN; False when another transaction recorded that NTPN first.

    ``ON CONFLICT DO NOTHING`` on the unique NTPN covers payments for unknown bills (no bill row to
    lock): a concurrent twin waits for the first commit, inserts nothing and is judged again.
    """
    conn = await uow.session.connection()
    values = {
        "ntpn": p.ntpn,
        "billing_code": p.billing_code,
        "bill_id": bill_id,
        "receipt_number": receipt_number,
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
    result = await upsert(conn, PAYMENT, values, key=("ntpn",))
    return bool(result.rowcount)


async def record_notification(
    uow: UnitOfWork, signed: SignedNotification, p: IncomingPayment, verdict: Verdict, *, body: bytes, now: dt.datetime
) -> int:
    """The record of one signed notification and what it did; returns its id."""
    conn = await uow.session.connection()
    result = await conn.execute(
        NOTIFICATION.insert()
        .values(
            partner_id=signed.partner_id,
            key_id=signed.key_id,
            signed_at=signed.signed_at,
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


async def payments_between(
    uow: UnitOfWork, *, partner_id: str, office: str, start: dt.datetime, end: dt.datetime
) -> list[LedgerPayment]:
    """Our payments through one partner for one office paid in ``[start, end)``, in payment order."""
    conn = await uow.session.connection()
    rows = (
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
    return [LedgerPayment(r.ntpn, r.billing_code, r.receipt_number, r.amount) for r in rows]
