"""Asking SIMKIM whether an accepted application's passport was issued, and recording what it says: the
issuance with its first pickup day (``simkim.passport.issued``), a denial, or nothing yet."""

from __future__ import annotations

import datetime as dt

from sambang_contracts.events import PassportIssued
from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime
from sambang_runtime.uow import UnitOfWork

from ..adapters.protocol import ApplicationRecord, ApplicationStatus
from ..adapters.simkim import Answered, BreakerOpen, Outcome, Permanent
from ..context import context_of
from ..domain import Breaker, SubmissionState, Work, local_day, pickup_from
from ..stores import offices, submissions
from ..stores.submissions import Submission, SubmissionChange
from .work import call_and_record, defer_work, record_work_failure

log = get_logger(__name__)


async def poll_issuance(runtime: ServiceRuntime, sub: Submission, seen: Breaker) -> bool:
    """Ask SIMKIM about one leased accepted application and record the answer."""
    if sub.simkim_reference is None:
        raise RuntimeError("polling a submission without a SIMKIM reference")
    reference = sub.simkim_reference
    return await call_and_record(runtime, seen, sub, lambda simkim: simkim.application(reference), record_poll_outcome)


async def record_poll_outcome(
    uow: UnitOfWork, sub: Submission, outcome: Outcome[ApplicationRecord], now: dt.datetime
) -> bool:
    """Issued, denied, not yet (ask again after the poll interval), or the question failed (back off, never
    sooner than the poll interval)."""
    ctx = context_of(uow)
    poll = ctx.settings.issuance_poll_seconds
    if isinstance(outcome, BreakerOpen):
        return await defer_work(uow, sub, outcome.until, now)
    if isinstance(outcome, Permanent):
        log.error("submission.poll_refused", receipt_number=sub.receipt_number, error=outcome.detail)
        return await record_work_failure(uow, sub, outcome.reason, now, outage=False, floor=poll)
    if not isinstance(outcome, Answered):
        return await record_work_failure(uow, sub, outcome.reason, now, outage=outcome.outage, floor=poll)
    record = outcome.value
    if record.status is ApplicationStatus.ISSUED and record.passport is not None:
        return await record_issued(uow, sub, record)
    if record.status is ApplicationStatus.DENIED:
        return await submissions.finish(
            uow,
            sub.receipt_number,
            SubmissionChange(state=SubmissionState.DENIED, work=Work.NONE, next_attempt_at=None, biodata_enc=None),
            owner=ctx.owner,
            doing=Work.POLL,
        )
    return await submissions.finish(
        uow,
        sub.receipt_number,
        SubmissionChange(
            next_attempt_at=now + dt.timedelta(seconds=poll), work_failures=0, last_error=None, deferred=False
        ),
        owner=ctx.owner,
        doing=Work.POLL,
    )


async def record_issued(uow: UnitOfWork, sub: Submission, record: ApplicationRecord) -> bool:
    """Record the issuance and emit it with the first pickup day (the office's working-day target)."""
    assert record.passport is not None
    ctx = context_of(uow)
    rule = await offices.rule(
        uow,
        sub.office,
        default_timezone=ctx.settings.default_timezone,
        default_working_days=ctx.settings.default_pickup_working_days,
    )
    interviewed = sub.interview_completed_at or record.passport.issued_at
    first_day = pickup_from(
        local_day(interviewed, rule.timezone),
        rule.pickup_working_days,
        local_day(record.passport.issued_at, rule.timezone),
        ctx.is_holiday,
    )
    kept = await submissions.finish(
        uow,
        sub.receipt_number,
        SubmissionChange(
            state=SubmissionState.ISSUED,
            work=Work.NONE,
            next_attempt_at=None,
            issued_at=record.passport.issued_at,
            expires_at=record.passport.expires_at,
            pickup_from=first_day,
            biodata_enc=None,
            last_error=None,
        ),
        owner=ctx.owner,
        doing=Work.POLL,
    )
    if not kept:
        return False
    uow.emit(
        PassportIssued(
            receipt_number=sub.receipt_number,
            passport_number=record.passport.number,
            issued_at=record.passport.issued_at,
            expires_at=record.passport.expires_at,
            pickup_from=first_day,
        )
    )
    log.info("passport.issued", receipt_number=sub.receipt_number, pickup_from=first_day.isoformat())
    return True
