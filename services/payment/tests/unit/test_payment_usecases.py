"""Use cases on a real unit of work over in-memory SQLite (``sambang_runtime.testing.memory_uow``):
what each changes and emits, in milliseconds, without a server or an app."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sambang_contracts import (
    Applicant,
    ApplicationCancelled,
    ApplicationRegistered,
    CancelReason,
    DiscrepancyKind,
    Language,
    OfficeSettings,
    OfficeUpdated,
    PassportType,
    PaymentChannel,
    PaymentSource,
    PriorityCategory,
    ServiceType,
    Slot,
    new_event,
)
from sambang_contracts.values import generate_receipt_number
from sambang_payment.app import spec
from sambang_payment.domain.bills import BillStatus
from sambang_payment.domain.payments import IncomingPayment, Outcome
from sambang_payment.handlers import when_office_updated_store_bill_rules
from sambang_payment.stores import bills, offices, schedules
from sambang_payment.usecases.bills import expire_due_bills, issue_bill, void_bill
from sambang_payment.usecases.payments import record_payment
from sambang_runtime.testing import FakeClock, memory_uow
from sambang_runtime.uow import UnitOfWork

START = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def uow(clock: FakeClock) -> AsyncIterator[UnitOfWork]:
    """A unit of work of the payment service with the shipped fee schedule loaded."""
    async with memory_uow(spec(), clock=clock) as uow:
        await schedules.seed_if_empty(uow, schedules.shipped_schedule(), now=clock())
        yield uow


def registration(receipt: str | None = None) -> ApplicationRegistered:
    """An adult's electronic passport, no validity chosen (the default by age: 10 years)."""
    return ApplicationRegistered(
        receipt_number=receipt or generate_receipt_number("BLT", START.date()),
        office="BLT",
        slot=Slot(date=START.date() + dt.timedelta(days=3), start=dt.time(8), end=dt.time(9)),
        service_type=ServiceType.NEW,
        passport_type=PassportType.ELECTRONIC,
        priority_category=PriorityCategory.NONE,
        walk_in=False,
        applicant=Applicant(
            full_name="Siti Rahayu", nik="3505015705900001", birth_date=dt.date(1990, 5, 17), language=Language.ID
        ),
    )


def payment(billing_code: str, ntpn: str, amount: int, paid_at: dt.datetime) -> IncomingPayment:
    return IncomingPayment(
        billing_code=billing_code,
        ntpn=ntpn,
        amount=amount,
        paid_at=paid_at,
        channel=PaymentChannel.ATM,
        bank_reference=f"REF-{ntpn}",
        source=PaymentSource.WEBHOOK,
        partner_id="BANKBRI",
    )


def emitted(uow: UnitOfWork, event_type: str) -> list[Any]:
    return [e for e in uow.events if e.type == event_type]


async def test_a_registration_is_billed_once_and_its_bill_announced(uow: UnitOfWork, clock: FakeClock) -> None:
    data = registration()
    code = await issue_bill(uow, data, now=clock())
    assert code is not None
    [issued] = emitted(uow, "payment.bill.issued")
    assert (issued.subject, issued.office) == (data.receipt_number, "BLT")
    assert (issued.data.billing_code, issued.data.amount) == (code, 950_000)
    assert issued.data.expires_at == clock() + dt.timedelta(hours=2)
    assert await issue_bill(uow, registration(data.receipt_number), now=clock()) is None  # a twin: nothing
    assert len(uow.events) == 1


async def test_a_cancellation_before_the_registration_leaves_it_unbilled(uow: UnitOfWork, clock: FakeClock) -> None:
    data = registration()
    cancelled = ApplicationCancelled(receipt_number=data.receipt_number, reason=CancelReason.APPLICANT)
    assert await void_bill(uow, cancelled, now=clock()) is False  # no bill yet: nothing to void
    assert await issue_bill(uow, data, now=clock()) is None
    assert not await bills.has_bill(uow, data.receipt_number)
    assert uow.events == []


async def test_a_payment_is_applied_once_and_its_resend_is_a_duplicate(uow: UnitOfWork, clock: FakeClock) -> None:
    data = registration()
    code = await issue_bill(uow, data, now=clock())
    assert code is not None
    paid = payment(code, "NTPN000000000001", 950_000, clock())
    first = await record_payment(uow, paid, now=clock())
    again = await record_payment(uow, paid, now=clock())
    assert first is not None and again is not None
    assert (first.verdict.outcome, again.verdict.outcome) == (Outcome.APPLIED, Outcome.DUPLICATE)
    [confirmed] = emitted(uow, "payment.confirmed")
    assert (confirmed.data.receipt_number, confirmed.data.ntpn) == (data.receipt_number, "NTPN000000000001")
    bill = await bills.bill_by_receipt(uow, data.receipt_number)
    assert bill is not None and bill.status is BillStatus.PAID and bill.ntpn == "NTPN000000000001"


async def test_a_wrong_amount_is_one_discrepancy_however_often_the_bank_resends_it(
    uow: UnitOfWork, clock: FakeClock
) -> None:
    data = registration()
    code = await issue_bill(uow, data, now=clock())
    assert code is not None
    short = payment(code, "NTPN000000000002", 900_000, clock())
    outcomes = [(await record_payment(uow, short, now=clock())) for _ in range(3)]
    assert [r.verdict.outcome if r else None for r in outcomes] == [Outcome.DISCREPANCY] + [Outcome.DUPLICATE] * 2
    [found] = emitted(uow, "payment.discrepancy.detected")
    assert found.data.kind is DiscrepancyKind.AMOUNT_MISMATCH and found.subject == data.receipt_number
    assert emitted(uow, "payment.confirmed") == []
    bill = await bills.bill_by_receipt(uow, data.receipt_number)
    assert bill is not None and bill.status is BillStatus.UNPAID


async def test_an_expired_bill_paid_in_time_is_still_applied(uow: UnitOfWork, clock: FakeClock) -> None:
    data = registration()
    code = await issue_bill(uow, data, now=clock())
    assert code is not None
    paid_at = clock() + dt.timedelta(hours=1, minutes=59)  # the bank took the money in time
    now = clock.advance(hours=2, seconds=1)
    assert await expire_due_bills(uow, batch=10, now=now) == 1
    assert await expire_due_bills(uow, batch=10, now=now) == 0  # each bill expires once
    [expired] = emitted(uow, "payment.bill.expired")
    assert expired.subject == data.receipt_number
    recorded = await record_payment(uow, payment(code, "NTPN000000000003", 950_000, paid_at), now=now)
    assert recorded is not None and recorded.verdict.outcome is Outcome.APPLIED
    assert len(emitted(uow, "payment.confirmed")) == 1


async def test_an_older_office_update_handled_late_leaves_the_newer_rules(uow: UnitOfWork, clock: FakeClock) -> None:
    def update(seconds: int, sent: dt.datetime) -> Any:
        rules = OfficeSettings(bill_validity_seconds=seconds)
        data = OfficeUpdated(office="BLT", name="Blitar", timezone="Asia/Makassar", settings=rules)
        return new_event(data, source="sambang/queue", time=sent)

    await when_office_updated_store_bill_rules(update(600, clock()), uow)
    await when_office_updated_store_bill_rules(update(900, clock() - dt.timedelta(seconds=1)), uow)
    assert (await offices.office_rules(uow, "BLT", "Asia/Jakarta")).bill_validity_seconds == 600
    await when_office_updated_store_bill_rules(update(1200, clock() + dt.timedelta(seconds=1)), uow)
    assert (await offices.office_rules(uow, "BLT", "Asia/Jakarta")).bill_validity_seconds == 1200
