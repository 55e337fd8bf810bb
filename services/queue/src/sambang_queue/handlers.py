"""Event handlers of the queue service, registered in one table (STYLE.md rule 5).

They keep the applicant's status and timeline true from what payment, capture and the SIMKIM
gateway report. Each is idempotent (the inbox drops redeliveries) and order-tolerant: the status
only moves forward (domain.advanced), so a late event never undoes a later one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sambang_contracts import (
    ApplicationCancelled,
    BillExpired,
    BillIssued,
    CancelReason,
    CaptureCompleted,
    CloudEvent,
    DocumentsVerified,
    HoldDecided,
    HoldDecision,
    HoldRaised,
    InterviewCompleted,
    InterviewDecision,
    NotificationSent,
    PassportIssued,
    PaymentConfirmed,
    SubmissionAccepted,
    SubmissionFailed,
)
from sambang_runtime.consumer import HandlerTable
from sambang_runtime.logs import get_logger
from sambang_runtime.uow import UnitOfWork

from .domain.status import Status
from .stores import applications, trail, visits
from .stores.applications import NO_CHANGES, ApplicationRecord, ApplicationUpdate
from .usecases.arrival import issue_arrival_link
from .usecases.visits import close_visit

log = get_logger(__name__)


async def _application(uow: UnitOfWork, receipt_number: str) -> ApplicationRecord | None:
    """The application an event is about, row-locked; None (and a warning) when it is not ours."""
    row = await applications.find(uow, receipt_number, lock=True)
    if row is None:
        # Not ours (another office's system, or a test event): nothing to keep true here.
        log.warning("queue.event_for_unknown_application", receipt_number=receipt_number)
    return row


async def _note(
    uow: UnitOfWork,
    receipt_number: str,
    step: str,
    at: dt.datetime,
    *,
    status: Status | None = None,
    public: bool = True,
    detail: Mapping[str, Any] | None = None,
    changes: ApplicationUpdate = NO_CHANGES,
) -> None:
    """Add a step to the timeline of an application of ours, moving it forward (never back) to
    `status` when given."""
    if await _application(uow, receipt_number) is None:
        return
    if status is not None:
        await applications.set_status(uow, receipt_number, status, uow.now(), changes)
    await trail.add_timeline(uow, receipt_number, step, at, public=public, detail=detail)


async def when_bill_issued_record_bill_summary(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Keep the billing code, amount and expiry for the applicant's status page."""
    data: BillIssued = event.data
    row = await _application(uow, data.receipt_number)
    if row is None:
        return
    await applications.update_application(
        uow,
        data.receipt_number,
        ApplicationUpdate(
            billing_code=data.billing_code,
            bill_amount=data.amount,
            bill_expires_at=data.expires_at,
            # payment.confirmed may have come first: a paid bill stays paid.
            bill_status="PAID" if row.paid_at is not None else "ISSUED",
        ),
    )
    await trail.add_timeline(
        uow,
        data.receipt_number,
        "BILL_ISSUED",
        event.time,
        detail={"billing_code": data.billing_code, "amount": data.amount, "expires_at": data.expires_at.isoformat()},
    )


async def when_payment_confirmed_issue_arrival_link(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Mark the application paid and send a signed, expiring arrival link."""
    data: PaymentConfirmed = event.data
    row = await _application(uow, data.receipt_number)
    if row is None:
        return
    now = uow.now()
    await applications.update_application(
        uow,
        data.receipt_number,
        ApplicationUpdate(
            paid_at=data.paid_at,
            ntpn=data.ntpn,
            billing_code=row.billing_code or data.billing_code,
            bill_amount=row.bill_amount or data.amount,
            bill_status="PAID",
            updated_at=now,
        ),
    )
    # Regular lane visits waiting unpaid cannot exist; a priority visit paid after the interview is noted.
    await visits.mark_paid(uow, data.receipt_number)
    status = await applications.set_status(uow, data.receipt_number, Status.PAID, now)
    await trail.add_timeline(
        uow, data.receipt_number, "PAID", data.paid_at, detail={"ntpn": data.ntpn, "channel": data.channel.value}
    )
    await issue_arrival_link(uow, row, status, now)


async def when_bill_expired_cancel_application(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """An unpaid bill expired: cancel the booking (BILL_EXPIRED) and give the place back."""
    data: BillExpired = event.data
    row = await _application(uow, data.receipt_number)
    if row is None or row.paid_at is not None:
        return  # paid after all (events in any order): nothing expires
    await applications.update_application(uow, data.receipt_number, ApplicationUpdate(bill_status="EXPIRED"))
    if Status(row.status) != Status.BOOKED:
        # A checked-in priority applicant may pay after the interview: the visit goes on.
        await trail.add_timeline(uow, data.receipt_number, "BILL_EXPIRED", data.expired_at)
        return
    await applications.set_status(
        uow,
        data.receipt_number,
        Status.EXPIRED,
        uow.now(),
        ApplicationUpdate(close_reason=CancelReason.BILL_EXPIRED.value),
    )
    await applications.give_place_back(uow, row.slot_id)
    await trail.add_timeline(uow, data.receipt_number, "EXPIRED", data.expired_at, detail={"reason": "BILL_EXPIRED"})
    uow.emit(ApplicationCancelled(receipt_number=data.receipt_number, reason=CancelReason.BILL_EXPIRED))


async def when_documents_verified_add_to_timeline(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Document check (verifikasi berkas) done."""
    data: DocumentsVerified = event.data
    await _note(
        uow,
        data.receipt_number,
        "DOCUMENTS_VERIFIED",
        event.time,
        detail={"documents": [{"kind": d.kind.value, "status": d.status.value} for d in data.documents]},
    )


async def _complete_sambang_visit_if_done(uow: UnitOfWork, receipt_number: str) -> None:
    """A sambang visit ends when capture and interview are both done, or at a rejection."""
    app = await applications.find(uow, receipt_number)
    assert app is not None
    rejected = app.interview_decision == InterviewDecision.REJECTED.value
    if not rejected and (app.capture_completed_at is None or app.interview_completed_at is None):
        return
    v = await visits.open_sambang_visit(uow, receipt_number)
    if v is not None:
        await close_visit(uow, v, uow.now())


async def when_capture_completed_complete_sambang_visit(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Photo, fingerprints and signature done; a sambang visit ends when the interview is done too."""
    data: CaptureCompleted = event.data
    if await _application(uow, data.receipt_number) is None:
        return
    await applications.update_application(
        uow, data.receipt_number, ApplicationUpdate(capture_completed_at=data.completed_at)
    )
    await trail.add_timeline(uow, data.receipt_number, "CAPTURE_COMPLETED", data.completed_at)
    await _complete_sambang_visit_if_done(uow, data.receipt_number)


async def when_interview_completed_complete_sambang_visit(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Interview (wawancara) decided; a rejection ends the application."""
    data: InterviewCompleted = event.data
    if await _application(uow, data.receipt_number) is None:
        return
    await applications.update_application(
        uow,
        data.receipt_number,
        ApplicationUpdate(interview_completed_at=data.completed_at, interview_decision=data.decision.value),
    )
    await trail.add_timeline(
        uow,
        data.receipt_number,
        "INTERVIEW_COMPLETED",
        data.completed_at,
        detail={"decision": data.decision.value},
    )
    if data.decision == InterviewDecision.REJECTED:
        await applications.set_status(
            uow, data.receipt_number, Status.REJECTED, uow.now(), ApplicationUpdate(close_reason="INTERVIEW")
        )
    await _complete_sambang_visit_if_done(uow, data.receipt_number)


async def when_submission_accepted_show_in_process(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """SIMKIM accepted the application: it is in process."""
    data: SubmissionAccepted = event.data
    await _note(
        uow,
        data.receipt_number,
        "SUBMITTED",
        data.submitted_at,
        status=Status.IN_PROCESS,
        changes=ApplicationUpdate(simkim_reference=data.simkim_reference),
    )


async def when_submission_failed_note_for_officers(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """A failed submission is the office's problem: officers see it, the applicant sees IN_PROCESS."""
    data: SubmissionFailed = event.data
    await _note(
        uow,
        data.receipt_number,
        "SUBMISSION_FAILED",
        event.time,
        public=False,
        detail={"attempts": data.attempts, "permanent": data.permanent},
    )


async def when_hold_raised_keep_it_from_the_applicant(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """A hold (cekal, duplicate passport) is recorded for officers only: the applicant sees IN_PROCESS."""
    data: HoldRaised = event.data
    await _note(
        uow,
        data.receipt_number,
        "HOLD_RAISED",
        event.time,
        status=Status.HELD,
        public=False,
        detail={"kind": data.kind.value},
    )


async def when_hold_decided_resume_or_reject(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Released: back in process. Denied: the application is rejected (without saying why)."""
    data: HoldDecided = event.data
    if await _application(uow, data.receipt_number) is None:
        return
    now = uow.now()
    await trail.add_timeline(
        uow,
        data.receipt_number,
        "HOLD_DECIDED",
        event.time,
        public=False,
        detail={"decision": data.decision.value, "decided_by": data.decided_by},
    )
    if data.decision == HoldDecision.RELEASE:
        await applications.set_status(uow, data.receipt_number, Status.IN_PROCESS, now)
    else:
        await applications.set_status(
            uow, data.receipt_number, Status.REJECTED, now, ApplicationUpdate(close_reason="HOLD_DENIED")
        )
        await trail.add_timeline(uow, data.receipt_number, "REJECTED", event.time)


async def when_passport_issued_open_pickup(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The passport is ready: pickup from `pickup_from` (working days after issuance)."""
    data: PassportIssued = event.data
    await _note(
        uow,
        data.receipt_number,
        "ISSUED",
        data.issued_at,
        status=Status.ISSUED,
        detail={"pickup_from": data.pickup_from.isoformat()},
        changes=ApplicationUpdate(
            pickup_from=data.pickup_from,
            passport_number_enc=applications.encrypted_passport_number(
                uow.cipher, data.receipt_number, data.passport_number
            ),
            issued_at=data.issued_at,
        ),
    )


#: The notifier's template of the reminder the working day before the visit.
REMINDER_TEMPLATE = "visit_reminder"


async def when_notification_sent_note_reminder(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The reminder the day before reached the applicant: noted once on the application (the monthly
    report compares no-shows with and without one)."""
    data: NotificationSent = event.data
    if data.template != REMINDER_TEMPLATE:
        return
    if await applications.note_reminder_sent(uow, data.receipt_number, event.time):
        log.info("queue.reminder_noted", receipt_number=data.receipt_number, channel=data.channel.value)


HANDLERS: HandlerTable = {
    "payment.bill.issued": [when_bill_issued_record_bill_summary],
    "payment.confirmed": [when_payment_confirmed_issue_arrival_link],
    "payment.bill.expired": [when_bill_expired_cancel_application],
    "capture.documents.verified": [when_documents_verified_add_to_timeline],
    "capture.completed": [when_capture_completed_complete_sambang_visit],
    "capture.interview.completed": [when_interview_completed_complete_sambang_visit],
    "simkim.submission.accepted": [when_submission_accepted_show_in_process],
    "simkim.submission.failed": [when_submission_failed_note_for_officers],
    "simkim.hold.raised": [when_hold_raised_keep_it_from_the_applicant],
    "simkim.hold.decided": [when_hold_decided_resume_or_reject],
    "simkim.passport.issued": [when_passport_issued_open_pickup],
    "notifier.notification.sent": [when_notification_sent_note_reminder],
}
