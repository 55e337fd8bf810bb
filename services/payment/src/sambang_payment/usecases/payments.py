"""Recording payments: a bank's signed notification (the webhook) and a settlement file's rows both
come through ``record_payment``; money is counted once, whichever arrives first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sambang_contracts import DiscrepancyDetected, PaymentConfirmed, PaymentSource
from sambang_runtime.logs import get_logger
from sambang_runtime.uow import UnitOfWork

from ..context import context_of
from ..domain.notifications import (
    NotificationBody,
    SignatureError,
    SignedNotification,
    invalid_signature,
    verify_signature,
)
from ..domain.partners import KeyState, key_state
from ..domain.payments import (
    Discrepancy,
    IncomingPayment,
    KnownPayment,
    Outcome,
    Verdict,
    judge_payment,
    payment_discrepancy,
)
from ..stores import bills, discrepancies, partners, payments

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording a payment did, and the bill it concerned (None: unknown billing code)."""

    verdict: Verdict
    receipt_number: str | None
    office: str | None


@dataclass(frozen=True, slots=True)
class NotificationRecorded:
    """A signed notification taken in: its record's id, the payment it reported and what that did."""

    notification_id: int
    payment: IncomingPayment
    verdict: Verdict


async def raise_discrepancy(uow: UnitOfWork, discrepancy: Discrepancy, *, now: dt.datetime) -> bool:
    """Record a discrepancy and emit ``payment.discrepancy.detected``, once per ``dedupe_key``."""
    if not await discrepancies.add_discrepancy(uow, discrepancy, now=now):
        return False
    d = discrepancy
    uow.emit(
        DiscrepancyDetected(receipt_number=d.receipt_number, billing_code=d.billing_code, kind=d.kind, detail=d.detail),
        subject=d.receipt_number,
        office=d.office,
    )
    log.warning("payment.discrepancy", kind=d.kind.value, billing_code=d.billing_code, receipt_number=d.receipt_number)
    return True


async def record_payment(
    uow: UnitOfWork, p: IncomingPayment, *, now: dt.datetime, office_scope: str | None = None
) -> Recorded | None:
    """Record one payment and apply it to its bill at most once.

    The bill row is locked first, so payments of one bill are judged one after the other. The NTPN
    is unique: a twin recorded by a concurrent transaction makes our insert do nothing, and the
    payment is judged again (now as a duplicate). ``office_scope`` (settlement files): a bill of
    another office is left alone and None returned.
    """
    bill = await bills.lock_for_payment(uow, p.billing_code)
    if office_scope is not None and bill is not None and bill.office != office_scope:
        return None
    state = bill.state if bill is not None else None
    receipt = bill.receipt_number if bill is not None else None
    office = bill.office if bill is not None else office_scope

    def judge(known: KnownPayment | None) -> Verdict:
        return judge_payment(billing_code=p.billing_code, amount=p.amount, paid_at=p.paid_at, bill=state, known=known)

    known = await payments.known_payment(uow, p.ntpn)
    verdict = judge(known)
    # A conflicting resend of a known NTPN keeps the first record; it is not a new payment.
    if known is None and not await payments.claim_ntpn(
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
        found = payment_discrepancy(verdict, p, receipt_number=receipt, office=office)
        await raise_discrepancy(uow, found, now=now)
    return Recorded(verdict, receipt, office)


async def authenticate_notification(
    uow: UnitOfWork, *, key_id: str, header: str, body: bytes, now: dt.datetime
) -> SignedNotification:
    """Who signed a bank notification, checked over the exact bytes received (raises ``SignatureError``).

    An unknown, revoked or expired key and a wrong signature are refused alike.
    """
    settings = context_of(uow).settings
    key = await partners.signing_key(uow, key_id)
    if (
        key is None
        or key.secret is None
        or key_state(revoked_at=key.revoked_at, valid_until=key.valid_until, now=now) is not KeyState.ACTIVE
    ):
        log.warning("notification.refused", reason="unknown_revoked_or_expired_key", key_id=key_id)
        raise invalid_signature()
    try:
        signed = verify_signature(
            [key.secret],
            header,
            body,
            now=now.timestamp(),
            window_seconds=settings.signature_window_seconds,
            future_skew_seconds=settings.signature_future_skew_seconds,
        )
    except SignatureError as error:
        log.warning("notification.refused", reason=error.code, key_id=key_id, partner=key.partner_id)
        raise
    return SignedNotification(key.partner_id, key_id, dt.datetime.fromtimestamp(signed, dt.UTC))


async def record_notification(
    uow: UnitOfWork, signed: SignedNotification, notice: NotificationBody, *, body: bytes, now: dt.datetime
) -> NotificationRecorded:
    """Record the payment a signed notification reports, and the notification with what it did."""
    payment = IncomingPayment.reported(notice, source=PaymentSource.WEBHOOK, partner_id=signed.partner_id)
    recorded = await record_payment(uow, payment, now=now)
    assert recorded is not None  # no office scope: every payment is recorded
    notification_id = await payments.record_notification(uow, signed, payment, recorded.verdict, body=body, now=now)
    return NotificationRecorded(notification_id, payment, recorded.verdict)
