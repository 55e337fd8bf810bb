"""Event handlers of the payment service, registered in one table (STYLE.md rule 5).

Each is idempotent (the inbox drops redeliveries; the bill's unique receipt number and the
conditional updates drop re-published twins) and order-tolerant (a cancellation may arrive before
the registration it cancels; an older office update may arrive after a newer one).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sambang_contracts import ApplicationCancelled, ApplicationRegistered, CloudEvent, OfficeUpdated
from sambang_runtime.consumer import HandlerTable
from sambang_runtime.uow import UnitOfWork

from .billing import issue_bill, store_office_rules, void_bill


class PaymentHandlers:
    """The handlers, bound to the settings they need beyond the unit of work (which has the cipher)."""

    def __init__(self, default_timezone: str) -> None:
        self.default_timezone = default_timezone

    async def when_application_registered_issue_bill(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """Issue the bill (billing code, itemised amount) and emit ``payment.bill.issued``."""
        data: ApplicationRegistered = event.data
        await issue_bill(uow, uow.cipher, data, now=dt.datetime.now(dt.UTC), default_timezone=self.default_timezone)

    async def when_application_cancelled_void_bill(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """Void an unpaid bill and remember the cancellation (so a late registration bills nothing)."""
        data: ApplicationCancelled = event.data
        await void_bill(uow, data, now=dt.datetime.now(dt.UTC))

    async def when_office_updated_store_bill_rules(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """Keep the office's bill validity rules for bills issued from now on."""
        data: OfficeUpdated = event.data
        await store_office_rules(uow, data, event_time=event.time)

    def table(self) -> HandlerTable:
        """The handler table of the service."""
        return {
            "queue.application.registered": [self.when_application_registered_issue_bill],
            "queue.application.cancelled": [self.when_application_cancelled_void_bill],
            "queue.office.updated": [self.when_office_updated_store_bill_rules],
        }
