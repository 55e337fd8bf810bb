"""Event handlers of the capture service, registered in one table (STYLE.md rule 5).

Capture learns the rest of the journey only from events: the office's rules, each application's
service type and birth date, the visit's lane and seat, and the issuance that starts the clock of
biometric retention. Each handler is idempotent (the inbox drops redeliveries) and order-tolerant
(a check-in may arrive before its registration).
"""

from __future__ import annotations

from typing import Any

from sambang_contracts import ApplicationRegistered, CloudEvent, OfficeUpdated, PassportIssued, VisitCheckedIn
from sambang_runtime.consumer import HandlerTable
from sambang_runtime.logs import get_logger
from sambang_runtime.uow import UnitOfWork

from .context import context_of
from .domain.capture import purge_due_at
from .stores import applications, offices

log = get_logger(__name__)


async def when_office_updated_keep_rules(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Keep the office's fingerprint threshold, retention days and time zone."""
    data: OfficeUpdated = event.data
    await offices.keep_rules(uow, data, event.time or uow.now())


async def when_application_registered_open_capture(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Know the application: its office, service type, priority and (encrypted) birth date."""
    data: ApplicationRegistered = event.data
    await applications.record_registration(uow, data, uow.now())


async def when_visit_checked_in_note_lane_and_seat(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Know where the applicant waits: the lane, the priority seat, the category set on sight."""
    data: VisitCheckedIn = event.data
    await applications.record_check_in(uow, data, event.office or data.receipt_number[:3], uow.now())


async def when_passport_issued_schedule_purge(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Start the retention clock: the biometrics go the office's number of days after issuance."""
    data: PassportIssued = event.data
    rules = await offices.rules_of(uow, data.receipt_number[:3], context_of(uow).default_office_rules)
    due = purge_due_at(data.issued_at, rules.biometric_retention_days)
    if not await applications.record_issuance(uow, data.receipt_number, data.issued_at, due, uow.now()):
        log.warning("capture.issuance_for_unknown_application", receipt_number=data.receipt_number)


HANDLERS: HandlerTable = {
    "queue.office.updated": [when_office_updated_keep_rules],
    "queue.application.registered": [when_application_registered_open_capture],
    "queue.visit.checked_in": [when_visit_checked_in_note_lane_and_seat],
    "simkim.passport.issued": [when_passport_issued_schedule_purge],
}
