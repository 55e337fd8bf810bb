"""Event handlers of the queue service, registered in one table (STYLE.md rule 5).

They keep the applicant's status and timeline true from what payment, capture and the SIMKIM
gateway report. Each is idempotent (the inbox drops redeliveries) and order-tolerant: the status
only moves forward (domain.advanced), so a late event never undoes a later one.
"""

from __future__ import annotations

from typing import Any

from sambang_contracts import (
    ApplicationCancelled,
    ArrivalLinkIssued,
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
    Lane,
    PassportIssued,
    PaymentConfirmed,
    SubmissionAccepted,
    SubmissionFailed,
)
from sambang_runtime.consumer import HandlerTable
from sambang_runtime.logs import get_logger
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .booking import give_place_back
from .context import QueueContext
from .domain import NOT_YET_ARRIVED, Status, arrival_link_expiry, sign_arrival_token
from .models import application, office, visit
from .trail import add_timeline
from .visits import IN_SERVICE, SERVICE, WAITING, complete_visit, set_status

log = get_logger(__name__)


async def _application(conn: AsyncConnection, receipt_number: str) -> Row[Any] | None:
    row = (
        await conn.execute(select(application).where(application.c.receipt_number == receipt_number).with_for_update())
    ).first()
    if row is None:
        # Not ours (another office's system, or a test event): nothing to keep true here.
        log.warning("queue.event_for_unknown_application", receipt_number=receipt_number)
    return row


class QueueHandlers:
    """The reactions of the queue service to other services' events."""

    def __init__(self, ctx: QueueContext) -> None:
        self.ctx = ctx

    async def when_bill_issued_record_bill_summary(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """Keep the billing code, amount and expiry for the applicant's status page."""
        data: BillIssued = event.data
        conn = await uow.session.connection()
        row = await _application(conn, data.receipt_number)
        if row is None:
            return
        await conn.execute(
            update(application)
            .where(application.c.receipt_number == data.receipt_number)
            .values(
                billing_code=data.billing_code,
                bill_amount=data.amount,
                bill_expires_at=data.expires_at,
                # payment.confirmed may have come first: a paid bill stays paid.
                bill_status="PAID" if row.paid_at is not None else "ISSUED",
            )
        )
        await add_timeline(
            conn,
            data.receipt_number,
            "BILL_ISSUED",
            event.time,
            detail={
                "billing_code": data.billing_code,
                "amount": data.amount,
                "expires_at": data.expires_at.isoformat(),
            },
        )

    async def when_payment_confirmed_issue_arrival_link(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """Mark the application paid and send a signed, expiring arrival link."""
        data: PaymentConfirmed = event.data
        conn = await uow.session.connection()
        row = await _application(conn, data.receipt_number)
        if row is None:
            return
        now = self.ctx.now()
        await conn.execute(
            update(application)
            .where(application.c.receipt_number == data.receipt_number)
            .values(
                paid_at=data.paid_at,
                ntpn=data.ntpn,
                billing_code=row.billing_code or data.billing_code,
                bill_amount=row.bill_amount or data.amount,
                bill_status="PAID",
                updated_at=now,
            )
        )
        # Regular lane visits waiting unpaid cannot exist; a priority visit paid after the interview is noted.
        await conn.execute(update(visit).where(visit.c.receipt_number == data.receipt_number).values(paid=True))
        status = await set_status(conn, data.receipt_number, Status.PAID, now)
        await add_timeline(
            conn, data.receipt_number, "PAID", data.paid_at, detail={"ntpn": data.ntpn, "channel": data.channel.value}
        )
        if status not in NOT_YET_ARRIVED or row.walk_in or row.arrival_expires_at is not None:
            return
        tz = (await conn.execute(select(office.c.timezone).where(office.c.code == row.office))).scalar_one()
        expires_at = arrival_link_expiry(row.slot_date, tz)
        if expires_at <= now:
            return
        token = sign_arrival_token(data.receipt_number, expires_at, self.ctx.mac("arrival"))
        url = f"{self.ctx.public_base_url}/arrival?receipt={data.receipt_number}&token={token}"
        await conn.execute(
            update(application)
            .where(application.c.receipt_number == data.receipt_number)
            .values(arrival_expires_at=expires_at)
        )
        await add_timeline(
            conn, data.receipt_number, "ARRIVAL_LINK_ISSUED", now, detail={"expires_at": expires_at.isoformat()}
        )
        uow.emit(ArrivalLinkIssued(receipt_number=data.receipt_number, url=url, token=token, expires_at=expires_at))

    async def when_bill_expired_cancel_application(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """An unpaid bill expired: cancel the booking (BILL_EXPIRED) and give the place back."""
        data: BillExpired = event.data
        conn = await uow.session.connection()
        row = await _application(conn, data.receipt_number)
        if row is None or row.paid_at is not None:
            return  # paid after all (events in any order): nothing expires
        now = self.ctx.now()
        await conn.execute(
            update(application).where(application.c.receipt_number == data.receipt_number).values(bill_status="EXPIRED")
        )
        if Status(row.status) != Status.BOOKED:
            # A checked-in priority applicant may pay after the interview: the visit goes on.
            await add_timeline(conn, data.receipt_number, "BILL_EXPIRED", data.expired_at)
            return
        await set_status(conn, data.receipt_number, Status.EXPIRED, now, close_reason=CancelReason.BILL_EXPIRED.value)
        await give_place_back(conn, row.slot_id)
        await add_timeline(conn, data.receipt_number, "EXPIRED", data.expired_at, detail={"reason": "BILL_EXPIRED"})
        uow.emit(ApplicationCancelled(receipt_number=data.receipt_number, reason=CancelReason.BILL_EXPIRED))

    async def when_documents_verified_add_to_timeline(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """Document check (verifikasi berkas) done."""
        data: DocumentsVerified = event.data
        conn = await uow.session.connection()
        if await _application(conn, data.receipt_number) is None:
            return
        await add_timeline(
            conn,
            data.receipt_number,
            "DOCUMENTS_VERIFIED",
            event.time,
            detail={"documents": [{"kind": d.kind.value, "status": d.status.value} for d in data.documents]},
        )

    async def when_capture_completed_complete_sambang_visit(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """Photo, fingerprints and signature done; a sambang visit ends when the interview is done too."""
        data: CaptureCompleted = event.data
        conn = await uow.session.connection()
        if await _application(conn, data.receipt_number) is None:
            return
        await conn.execute(
            update(application)
            .where(application.c.receipt_number == data.receipt_number)
            .values(capture_completed_at=data.completed_at)
        )
        await add_timeline(conn, data.receipt_number, "CAPTURE_COMPLETED", data.completed_at)
        await self._complete_sambang_visit_if_done(conn, uow, data.receipt_number)

    async def when_interview_completed_complete_sambang_visit(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """Interview (wawancara) decided; a rejection ends the application."""
        data: InterviewCompleted = event.data
        conn = await uow.session.connection()
        if await _application(conn, data.receipt_number) is None:
            return
        now = self.ctx.now()
        await conn.execute(
            update(application)
            .where(application.c.receipt_number == data.receipt_number)
            .values(interview_completed_at=data.completed_at, interview_decision=data.decision.value)
        )
        await add_timeline(
            conn,
            data.receipt_number,
            "INTERVIEW_COMPLETED",
            data.completed_at,
            detail={"decision": data.decision.value},
        )
        if data.decision == InterviewDecision.REJECTED:
            await set_status(conn, data.receipt_number, Status.REJECTED, now, close_reason="INTERVIEW")
        await self._complete_sambang_visit_if_done(conn, uow, data.receipt_number)

    async def _complete_sambang_visit_if_done(self, conn: AsyncConnection, uow: UnitOfWork, receipt: str) -> None:
        app = (
            await conn.execute(
                select(
                    application.c.capture_completed_at,
                    application.c.interview_completed_at,
                    application.c.interview_decision,
                ).where(application.c.receipt_number == receipt)
            )
        ).first()
        assert app is not None
        rejected = app.interview_decision == InterviewDecision.REJECTED.value
        if not rejected and (app.capture_completed_at is None or app.interview_completed_at is None):
            return
        v = (
            await conn.execute(
                select(visit)
                .where(
                    visit.c.receipt_number == receipt,
                    visit.c.purpose == SERVICE,
                    visit.c.lane == Lane.PRIORITY.value,
                    visit.c.state.in_((WAITING, IN_SERVICE)),
                )
                .with_for_update()
            )
        ).first()
        if v is not None:
            await complete_visit(conn, uow, v, self.ctx.now())

    async def when_submission_accepted_show_in_process(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """SIMKIM accepted the application: it is in process."""
        data: SubmissionAccepted = event.data
        conn = await uow.session.connection()
        if await _application(conn, data.receipt_number) is None:
            return
        await set_status(
            conn, data.receipt_number, Status.IN_PROCESS, self.ctx.now(), simkim_reference=data.simkim_reference
        )
        await add_timeline(conn, data.receipt_number, "SUBMITTED", data.submitted_at)

    async def when_submission_failed_note_for_officers(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """A failed submission is the office's problem: officers see it, the applicant sees IN_PROCESS."""
        data: SubmissionFailed = event.data
        conn = await uow.session.connection()
        if await _application(conn, data.receipt_number) is None:
            return
        await add_timeline(
            conn,
            data.receipt_number,
            "SUBMISSION_FAILED",
            event.time,
            public=False,
            detail={"attempts": data.attempts, "permanent": data.permanent},
        )

    async def when_hold_raised_keep_it_from_the_applicant(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """A hold (cekal, duplicate passport) is recorded for officers only: the applicant sees IN_PROCESS."""
        data: HoldRaised = event.data
        conn = await uow.session.connection()
        if await _application(conn, data.receipt_number) is None:
            return
        await set_status(conn, data.receipt_number, Status.HELD, self.ctx.now())
        await add_timeline(
            conn, data.receipt_number, "HOLD_RAISED", event.time, public=False, detail={"kind": data.kind.value}
        )

    async def when_hold_decided_resume_or_reject(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """Released: back in process. Denied: the application is rejected (without saying why)."""
        data: HoldDecided = event.data
        conn = await uow.session.connection()
        if await _application(conn, data.receipt_number) is None:
            return
        now = self.ctx.now()
        await add_timeline(
            conn,
            data.receipt_number,
            "HOLD_DECIDED",
            event.time,
            public=False,
            detail={"decision": data.decision.value, "decided_by": data.decided_by},
        )
        if data.decision == HoldDecision.RELEASE:
            await set_status(conn, data.receipt_number, Status.IN_PROCESS, now)
        else:
            await set_status(conn, data.receipt_number, Status.REJECTED, now, close_reason="HOLD_DENIED")
            await add_timeline(conn, data.receipt_number, "REJECTED", event.time)

    async def when_passport_issued_open_pickup(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """The passport is ready: pickup from `pickup_from` (working days after issuance)."""
        data: PassportIssued = event.data
        conn = await uow.session.connection()
        if await _application(conn, data.receipt_number) is None:
            return
        passport_enc = self.ctx.cipher.encrypt(
            data.passport_number, context=f"application.passport_number:{data.receipt_number}"
        )
        await set_status(
            conn,
            data.receipt_number,
            Status.ISSUED,
            self.ctx.now(),
            pickup_from=data.pickup_from,
            passport_number_enc=passport_enc,
            issued_at=data.issued_at,
        )
        await add_timeline(
            conn, data.receipt_number, "ISSUED", data.issued_at, detail={"pickup_from": data.pickup_from.isoformat()}
        )


def handler_table(ctx: QueueContext) -> HandlerTable:
    """The queue's handler table, bound to its context."""
    h = QueueHandlers(ctx)
    return {
        "payment.bill.issued": [h.when_bill_issued_record_bill_summary],
        "payment.confirmed": [h.when_payment_confirmed_issue_arrival_link],
        "payment.bill.expired": [h.when_bill_expired_cancel_application],
        "capture.documents.verified": [h.when_documents_verified_add_to_timeline],
        "capture.completed": [h.when_capture_completed_complete_sambang_visit],
        "capture.interview.completed": [h.when_interview_completed_complete_sambang_visit],
        "simkim.submission.accepted": [h.when_submission_accepted_show_in_process],
        "simkim.submission.failed": [h.when_submission_failed_note_for_officers],
        "simkim.hold.raised": [h.when_hold_raised_keep_it_from_the_applicant],
        "simkim.hold.decided": [h.when_hold_decided_resume_or_reject],
        "simkim.passport.issued": [h.when_passport_issued_open_pickup],
    }
