"""Event handlers of the payment service and their table (STYLE.md rule 5).

Each is idempotent (the inbox drops redeliveries; the bill's unique receipt number and the
conditional updates drop re-published twins) and order-tolerant (a cancellation may arrive before
the registration it cancels; an older office update may arrive after a newer one).
"""

from __future__ import annotations

from typing import Any

from sambang_contracts import (
    ApplicationCancelled,
    ApplicationRegistered,
    BillIssued,
    BillItem,
    BillVoided,
    CloudEvent,
    OfficeUpdated,
    VoidReason,
)
from sambang_contracts.values import parse_receipt_number
from sambang_runtime.consumer import HandlerTable
from sambang_runtime.logs import get_logger
from sambang_runtime.uow import UnitOfWork

from .context import context_of
from .domain.bills import draft_bill, is_priority
from .domain.fees import BillRequest, schedule_on
from .stores import bills, offices, schedules

log = get_logger(__name__)


async def when_application_registered_issue_bill(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Issue the bill (billing code, itemised amount) and emit ``payment.bill.issued``."""
    data: ApplicationRegistered = event.data
    receipt = data.receipt_number
    if await bills.was_cancelled(uow, receipt):
        log.info("bill.not_issued_cancelled_first", receipt_number=receipt)
        return
    if await bills.has_bill(uow, receipt):
        return
    now = uow.now()
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
        return  # a twin registration billed it first
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


async def when_application_cancelled_void_bill(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Void an unpaid bill, emit ``payment.bill.voided``, and remember the cancellation (so a late
    registration bills nothing)."""
    data: ApplicationCancelled = event.data
    now = uow.now()
    await bills.remember_cancellation(uow, data.receipt_number, reason=data.reason.value, at=now)
    # A paid, expired or already void bill is left as it is (BILL_EXPIRED arrives after our expiry).
    voided = await bills.void_unpaid(uow, data.receipt_number, at=now)
    if voided is None:
        return
    uow.emit(
        BillVoided(
            receipt_number=voided.receipt_number,
            billing_code=voided.billing_code,
            reason=VoidReason.APPLICATION_CANCELLED,
            voided_at=now,
        ),
        office=voided.office,
    )
    log.info("bill.voided", receipt_number=data.receipt_number, reason=data.reason.value)


async def when_office_updated_store_bill_rules(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Keep the office's bill validity rules for bills issued from now on (an older update loses)."""
    data: OfficeUpdated = event.data
    await offices.keep_office_rules(
        uow,
        office=data.office,
        timezone=data.timezone,
        bill_validity_seconds=data.settings.bill_validity_seconds,
        priority_bill_validity_seconds=data.settings.priority_bill_validity_seconds,
        event_time=event.time,
    )


HANDLERS: HandlerTable = {
    "queue.application.registered": [when_application_registered_issue_bill],
    "queue.application.cancelled": [when_application_cancelled_void_bill],
    "queue.office.updated": [when_office_updated_store_bill_rules],
}
