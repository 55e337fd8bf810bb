"""Payment outcomes: what one payment (NTPN) means for its bill; money is counted exactly once."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sambang_contracts import DiscrepancyKind, PaymentChannel, PaymentSource

from .bills import BillStatus


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


@dataclass(frozen=True)
class Recorded:
    """What recording a payment did, and the bill it concerned (None: unknown billing code)."""

    verdict: Verdict
    receipt_number: str | None
    office: str | None


def dedupe_key(verdict: Verdict, payment: IncomingPayment) -> str:
    """The same problem with the same money is one discrepancy, however often the bank resends it."""
    assert verdict.kind is not None
    return f"{verdict.kind.value}:{payment.ntpn}:{payment.billing_code}:{payment.amount}"


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
