"""Bills: issued when the queue registers an application, voided when it cancels one, expired by
the sweeper (and by tests, one round at a time)."""

from __future__ import annotations

import datetime as dt

from sambang_contracts import (
    ApplicationCancelled,
    ApplicationRegistered,
    BillExpired,
    BillIssued,
    BillItem,
    BillVoided,
    VoidReason,
)
from sambang_contracts.values import parse_receipt_number
from sambang_runtime.logs import get_logger
from sambang_runtime.uow import UnitOfWork

from ..context import context_of
from ..domain.bills import draft_bill, is_priority
from ..domain.fees import BillRequest, schedule_on
from ..stores import bills, offices, schedules

log = get_logger(__name__)


async def issue_bill(uow: UnitOfWork, registration: ApplicationRegistered, *, now: dt.datetime) -> str | None:
    """Bill a registered application (billing code, itemised amount) and emit ``payment.bill.issued``.

    Returns the billing code, or None when the application was cancelled first or already billed.
    """
    data = registration
    receipt = data.receipt_number
    if await bills.was_cancelled(uow, receipt):
        log.info("bill.not_issued_cancelled_first", receipt_number=receipt)
        return None
    if await bills.has_bill(uow, receipt):
        return None
    rules = await offices.office_rules(uow, data.office, context_of(uow).default_timezone)
    today = now.astimezone(rules.timezone).date()
    schedule = schedule_on(await schedules.all_schedules(uow), today)
    if schedule is None:
        # Retried, then parked: an operator loads a schedule and replays it.
        raise RuntimeError(f"no fee schedule in force on {today.isoformat()}")
    # v1.1 registrations say which validity was chosen and whether same-day service was asked;
    # queue checked the ten-year rule against the marital status it holds (married=None: trusted).
    # A v1.0 registration (validity_years None) is billed the default by age.
    request = BillRequest(
        passport_type=data.passport_type,
        service_type=data.service_type,
        birth_date=data.applicant.birth_date,
        registered_on=parse_receipt_number(receipt).registered_on,
        validity_years=data.validity_years,
        married=None,
        express=data.express,
    )
    draft = draft_bill(schedule, request, rules, priority=is_priority(data.priority_category, data.walk_in), now=now)
    code = await bills.insert_bill(
        uow, receipt_number=receipt, office=data.office, draft=draft, birth_date=data.applicant.birth_date
    )
    if code is None:
        return None  # a twin registration billed it first
    uow.emit(
        BillIssued(
            receipt_number=receipt,
            billing_code=code,
            amount=draft.amount,
            items=[BillItem(code=x.code, description=x.description, amount=x.amount) for x in draft.lines],
            expires_at=draft.expires_at,
        ),
        office=data.office,
    )
    log.info("bill.issued", receipt_number=receipt, billing_code=code, amount=draft.amount, priority=draft.priority)
    return code


async def void_bill(uow: UnitOfWork, cancellation: ApplicationCancelled, *, now: dt.datetime) -> bool:
    """Void an unpaid bill, emit ``payment.bill.voided``, and remember the cancellation (so a late
    registration bills nothing). Returns whether a bill was voided."""
    receipt = cancellation.receipt_number
    await bills.remember_cancellation(uow, receipt, reason=cancellation.reason.value, at=now)
    # A paid, expired or already void bill is left as it is (BILL_EXPIRED arrives after our expiry).
    voided = await bills.void_unpaid(uow, receipt, at=now)
    if voided is None:
        return False
    uow.emit(
        BillVoided(
            receipt_number=voided.receipt_number,
            billing_code=voided.billing_code,
            reason=VoidReason.APPLICATION_CANCELLED,
            voided_at=now,
        ),
        office=voided.office,
    )
    log.info("bill.voided", receipt_number=receipt, reason=cancellation.reason.value)
    return True


async def expire_due_bills(uow: UnitOfWork, *, batch: int, now: dt.datetime) -> int:
    """Expire one batch of bills past their time, emitting ``payment.bill.expired`` for each.

    Returns how many expired; the caller commits, so each expiry and its event share one transaction.
    """
    expired = await bills.expire_due(uow, now=now, batch=batch)
    for bill in expired:
        uow.emit(
            BillExpired(receipt_number=bill.receipt_number, billing_code=bill.billing_code, expired_at=bill.expires_at),
            office=bill.office,
        )
    if expired:
        log.info("bill.expired_batch", count=len(expired))
    return len(expired)
