"""Payment outcomes: what one payment (NTPN) means for its bill; money is counted exactly once."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Protocol, Self

from sambang_contracts import DiscrepancyKind, PaymentChannel, PaymentSource

from .bills import BillStatus
from .offices import as_utc


class Outcome(enum.StrEnum):
    """What a bank notification (or a settlement row) did."""

    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"
    DISCREPANCY = "DISCREPANCY"


@dataclass(frozen=True)
class BillState:
    """What the outcome of a payment depends on, read under the bill's row lock."""

    billing_code: str
    status: BillStatus
    amount: int
    expires_at: dt.datetime


@dataclass(frozen=True)
class KnownPayment:
    """A payment already recorded under the same NTPN."""

    billing_code: str
    amount: int


@dataclass(frozen=True)
class Verdict:
    """An outcome, with the discrepancy kind and an explanation when it is one."""

    outcome: Outcome
    kind: DiscrepancyKind | None = None
    detail: str = ""


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

    @classmethod
    def reported(cls, report: PaymentReport, *, source: PaymentSource, partner_id: str) -> Self:
        """The payment a webhook body or a settlement row reports, paid at a UTC instant."""
        return cls(
            billing_code=report.billing_code,
            ntpn=report.ntpn,
            amount=report.amount,
            paid_at=as_utc(report.paid_at),
            channel=report.channel,
            bank_reference=report.bank_reference,
            source=source,
            partner_id=partner_id,
        )


class PaymentReport(Protocol):
    """What a bank says of one payment, in a notification body or a settlement row."""

    @property
    def billing_code(self) -> str: ...
    @property
    def ntpn(self) -> str: ...
    @property
    def amount(self) -> int: ...
    @property
    def paid_at(self) -> dt.datetime: ...
    @property
    def channel(self) -> PaymentChannel: ...
    @property
    def bank_reference(self) -> str: ...


#: The longest explanation a discrepancy keeps (its column, and the event's ``detail``).
DETAIL_MAX = 2000
_DEDUPE_MAX = 200


@dataclass(frozen=True, slots=True)
class LedgerPayment:
    """A payment we recorded, as a settlement file is checked against it."""

    ntpn: str
    billing_code: str
    receipt_number: str | None
    amount: int


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """A payment problem for the office to resolve; the same ``dedupe_key`` is recorded once."""

    kind: DiscrepancyKind
    detail: str
    billing_code: str
    receipt_number: str | None
    office: str | None
    ntpn: str | None
    amount: int | None
    source: PaymentSource
    partner_id: str | None
    dedupe_key: str


def payment_discrepancy(
    verdict: Verdict, payment: IncomingPayment, *, receipt_number: str | None, office: str | None
) -> Discrepancy:
    """The discrepancy a judged payment is: the same problem with the same money is one discrepancy,
    however often the bank resends it."""
    assert verdict.kind is not None
    return Discrepancy(
        kind=verdict.kind,
        detail=verdict.detail[:DETAIL_MAX],
        billing_code=payment.billing_code,
        receipt_number=receipt_number,
        office=office,
        ntpn=payment.ntpn,
        amount=payment.amount,
        source=payment.source,
        partner_id=payment.partner_id,
        dedupe_key=f"{verdict.kind.value}:{payment.ntpn}:{payment.billing_code}:{payment.amount}"[:_DEDUPE_MAX],
    )


def missing_in_settlement(payment: LedgerPayment, *, office: str, partner_id: str) -> Discrepancy:
    """A payment we recorded that the partner's settlement file lacks (once per NTPN)."""
    return Discrepancy(
        kind=DiscrepancyKind.MISSING_IN_SETTLEMENT,
        detail=f"Payment {payment.ntpn} of {payment.amount} is not in the partner's settlement file",
        billing_code=payment.billing_code,
        receipt_number=payment.receipt_number,
        office=office,
        ntpn=payment.ntpn,
        amount=payment.amount,
        source=PaymentSource.SETTLEMENT,
        partner_id=partner_id,
        dedupe_key=f"{DiscrepancyKind.MISSING_IN_SETTLEMENT.value}:{payment.ntpn}",
    )


def judge_payment(
    *,
    billing_code: str,
    amount: int,
    paid_at: dt.datetime,
    bill: BillState | None,
    known: KnownPayment | None,
) -> Verdict:
    """Decide what one payment (NTPN) means for its bill: money is counted exactly once.

    - the same NTPN again for the same bill and amount is a DUPLICATE (nothing happens);
    - the same NTPN with another bill or amount is a DOUBLE_PAYMENT / AMOUNT_MISMATCH discrepancy;
    - unknown billing code, wrong amount, a second NTPN on a paid bill, payment after expiry or on a
      voided bill are discrepancies the office resolves;
    - a payment made before the bill expired is APPLIED even if our expiry sweep already marked the
      bill EXPIRED (the bank accepted it in time; only its notice was late).
    """
    if known is not None:
        if known.billing_code == billing_code and known.amount == amount:
            return Verdict(Outcome.DUPLICATE)
        if known.billing_code != billing_code:
            return Verdict(
                Outcome.DISCREPANCY,
                DiscrepancyKind.DOUBLE_PAYMENT,
                "NTPN already recorded for another billing code",
            )
        return Verdict(
            Outcome.DISCREPANCY,
            DiscrepancyKind.AMOUNT_MISMATCH,
            f"NTPN already recorded with amount {known.amount}, now reported as {amount}",
        )
    if bill is None:
        return Verdict(Outcome.DISCREPANCY, DiscrepancyKind.UNKNOWN_BILL, "No bill has this billing code")
    if bill.status is BillStatus.PAID:
        return Verdict(
            Outcome.DISCREPANCY, DiscrepancyKind.DOUBLE_PAYMENT, "The bill was already paid with another NTPN"
        )
    if amount != bill.amount:
        return Verdict(
            Outcome.DISCREPANCY,
            DiscrepancyKind.AMOUNT_MISMATCH,
            f"Paid {amount} for a bill of {bill.amount}",
        )
    if bill.status is BillStatus.VOID:
        return Verdict(Outcome.DISCREPANCY, DiscrepancyKind.LATE_PAYMENT, "The application was cancelled; bill void")
    if paid_at > bill.expires_at:
        return Verdict(
            Outcome.DISCREPANCY,
            DiscrepancyKind.LATE_PAYMENT,
            f"Paid at {paid_at.isoformat()} after the bill expired at {bill.expires_at.isoformat()}",
        )
    return Verdict(Outcome.APPLIED)
