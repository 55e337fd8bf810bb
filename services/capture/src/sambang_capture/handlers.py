"""Event handlers of the capture service, registered in one table (STYLE.md rule 5).

Capture learns the rest of the journey only from events: the office's rules, each application's
service type and birth date, the visit's lane and seat, and every final outcome, which starts the
clock of biometric retention (collected, denied, cancelled, no-show, failed; a rejection is capture's
own interview decision). Each handler is idempotent (the inbox drops redeliveries, and a replayed
outcome schedules nothing later than before) and order-tolerant (a check-in may arrive before its
registration, an outcome before either).
"""

from __future__ import annotations

from typing import Any

from sambang_contracts import (
    ApplicationCancelled,
    ApplicationRegistered,
    CancelReason,
    CloudEvent,
    HoldDecided,
    HoldDecision,
    OfficeUpdated,
    PassportCollected,
    PassportIssued,
    SubmissionFailed,
    VisitCheckedIn,
)
from sambang_runtime.consumer import HandlerTable
from sambang_runtime.logs import get_logger
from sambang_runtime.uow import UnitOfWork

from .context import context_of
from .domain.retention import Outcome
from .stores import applications, offices
from .usecases.retention import schedule_purge

log = get_logger(__name__)


async def when_office_updated_keep_rules(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Keep the office's fingerprint threshold, retention days and time zone (within their bounds)."""
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


async def _ended(event: CloudEvent[Any], uow: UnitOfWork, outcome: Outcome, **kwargs: Any) -> None:
    receipt: str = event.data.receipt_number
    at = kwargs.pop("at", None) or event.time or uow.now()
    await schedule_purge(uow, receipt, outcome, at, context_of(uow).default_office_rules, **kwargs)
    log.info("capture.purge_scheduled", receipt_number=receipt, outcome=outcome.value)


async def when_passport_issued_schedule_purge(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Issued: SIMKIM holds the biometrics now; capture's copy goes after the office's retention."""
    data: PassportIssued = event.data
    await _ended(event, uow, Outcome.COLLECTED, at=data.issued_at, issued_at=data.issued_at)


async def when_passport_collected_schedule_purge(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Handed over at the pickup counter (issuance not heard of yet, or later): the same clock."""
    data: PassportCollected = event.data
    await _ended(event, uow, Outcome.COLLECTED, at=data.collected_at)


async def when_hold_denied_schedule_purge(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The head of office denied a hold (cekal): no passport comes; a release changes nothing here."""
    data: HoldDecided = event.data
    if data.decision is HoldDecision.DENY:
        await _ended(event, uow, Outcome.DENIED)


async def when_application_cancelled_schedule_purge(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Cancelled (by the applicant, an officer, an expired bill) or closed as a no-show."""
    data: ApplicationCancelled = event.data
    await _ended(event, uow, Outcome.NO_SHOW if data.reason is CancelReason.NO_SHOW else Outcome.CANCELLED)


async def when_submission_failed_schedule_purge(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """SIMKIM refused the submission for good; a failure the gateway still retries is not an outcome."""
    data: SubmissionFailed = event.data
    if data.permanent:
        await _ended(event, uow, Outcome.FAILED)


HANDLERS: HandlerTable = {
    "queue.office.updated": [when_office_updated_keep_rules],
    "queue.application.registered": [when_application_registered_open_capture],
    "queue.visit.checked_in": [when_visit_checked_in_note_lane_and_seat],
    "queue.application.cancelled": [when_application_cancelled_schedule_purge],
    "queue.passport.collected": [when_passport_collected_schedule_purge],
    "simkim.passport.issued": [when_passport_issued_schedule_purge],
    "simkim.hold.decided": [when_hold_denied_schedule_purge],
    "simkim.submission.failed": [when_submission_failed_schedule_purge],
}
