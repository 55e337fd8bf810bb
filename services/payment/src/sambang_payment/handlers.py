"""Event handlers of the payment service and their table (STYLE.md rule 5).

Each is idempotent (the inbox drops redeliveries; the bill's unique receipt number and the
conditional updates drop re-published twins) and order-tolerant (a cancellation may arrive before
the registration it cancels; an older office update may arrive after a newer one).
"""

from __future__ import annotations

from typing import Any

from sambang_contracts import ApplicationCancelled, ApplicationRegistered, CloudEvent, OfficeUpdated
from sambang_runtime.consumer import HandlerTable
from sambang_runtime.uow import UnitOfWork

from .stores import offices
from .usecases.bills import issue_bill, void_bill


async def when_application_registered_issue_bill(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Issue the bill (billing code, itemised amount) and emit ``payment.bill.issued``."""
    data: ApplicationRegistered = event.data
    await issue_bill(uow, data, now=uow.now())


async def when_application_cancelled_void_bill(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Void an unpaid bill, emit ``payment.bill.voided``, and remember the cancellation (so a late
    registration bills nothing)."""
    data: ApplicationCancelled = event.data
    await void_bill(uow, data, now=uow.now())


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
