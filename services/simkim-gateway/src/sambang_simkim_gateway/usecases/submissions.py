"""Submitting one application to SIMKIM, recording how it went, and a supervisor's retry of a failed one.

``submit_one`` is one attempt as the worker makes it: the bundle from capture, checked against the
manifest, then SIMKIM through the guarded call; no transaction is open during the calls. The ``record_*``
use cases write its outcome on the leased row (a lost lease writes and emits nothing) and do not commit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from sambang_contracts.bundles import BundleItem
from sambang_contracts.enums import HoldKind
from sambang_contracts.events import HoldRaised, SubmissionAccepted, SubmissionFailed
from sambang_runtime.errors import DomainError
from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime
from sambang_runtime.uow import UnitOfWork

from ..adapters.capture import BundleUnavailable, CaptureUnavailable
from ..adapters.protocol import (
    ApplicationRecord,
    ApplicationStatus,
    ApplicationSubmission,
    Biodata,
    Biometric,
    BiometricException,
    Interview,
)
from ..adapters.simkim import Answered, BreakerOpen, NotSent, Outcome, Permanent, Retryable, SimkimClient
from ..context import GatewayContext, context_of, context_of_runtime
from ..domain import Breaker, BundlePiece, SubmissionState, Work, bundle_mismatches, check_retryable, gives_up
from ..handlers import biodata_context
from ..stores import submissions
from ..stores.submissions import Submission, SubmissionChange
from .work import backoff, call_and_record, defer_work

log = get_logger(__name__)


async def submit_one(runtime: ServiceRuntime, sub: Submission, seen: Breaker) -> bool:
    """One attempt at a leased submission, and its outcome recorded."""
    ctx = context_of_runtime(runtime)

    async def send(simkim: SimkimClient) -> ApplicationRecord:
        items = await _checked_bundle(ctx, sub)
        return await simkim.submit(_application(runtime, sub, items))

    return await call_and_record(runtime, seen, sub, send, record_submit_outcome)


async def _checked_bundle(ctx: GatewayContext, sub: Submission) -> list[BundleItem]:
    """The bundle from capture, matching the manifest of capture.completed (else ``NotSent``)."""
    try:
        bundle = await ctx.capture.bundle(sub.receipt_number, ctx.capture_token(sub.office))
    except CaptureUnavailable as exc:
        raise NotSent(str(exc), permanent=False) from None
    except BundleUnavailable as exc:
        raise NotSent(str(exc), permanent=True) from None
    pieces = [BundlePiece(i.kind.value, i.position, i.sha256, i.data) for i in bundle.items]
    mismatches = bundle_mismatches(sub.manifest, pieces)
    if mismatches:
        log.error("submission.bundle_mismatch", receipt_number=sub.receipt_number, problems=mismatches[:12])
        raise NotSent("bundle_mismatch: " + "; ".join(mismatches), permanent=True)
    return bundle.items


def _application(runtime: ServiceRuntime, sub: Submission, items: Sequence[BundleItem]) -> ApplicationSubmission:
    """What SIMKIM gets: biodata (decrypted only here), the interview, biometrics and their exceptions."""
    if sub.biodata_enc is None or sub.interview_officer_id is None or sub.interview_completed_at is None:
        raise RuntimeError("a ready submission lacks its biodata or interview")
    biodata = json.loads(runtime.cipher.decrypt(sub.biodata_enc, context=biodata_context(sub.receipt_number)))
    return ApplicationSubmission.model_validate(
        {
            "receipt_number": sub.receipt_number,
            "office": sub.office,
            "service_type": sub.service_type,
            "passport_type": sub.passport_type,
            "priority_category": sub.priority_category,
            "validity_years": sub.validity_years,
            "applicant": Biodata.model_validate(biodata),
            "interview": Interview(officer_id=sub.interview_officer_id, completed_at=sub.interview_completed_at),
            "biometrics": [
                Biometric(kind=i.kind, position=i.position, sha256=i.sha256, content_type=i.content_type, data=i.data)
                for i in items
            ],
            "exceptions": [BiometricException.model_validate(e) for e in sub.capture_exceptions],
        }
    )


async def record_submit_outcome(
    uow: UnitOfWork, sub: Submission, outcome: Outcome[ApplicationRecord], now: dt.datetime
) -> bool:
    """Write how an attempt went; False when the lease was lost meanwhile (nothing written or emitted)."""
    attempts = sub.attempts + 1
    if isinstance(outcome, BreakerOpen):
        return await defer_work(uow, sub, outcome.until, now)
    if isinstance(outcome, Answered):
        return await record_accepted(uow, sub, attempts, outcome.value, now)
    return await record_submit_failure(uow, sub, attempts, outcome, now)


async def record_submit_failure(
    uow: UnitOfWork, sub: Submission, attempts: int, failure: Retryable | Permanent, now: dt.datetime
) -> bool:
    """A failed attempt: retry after a backoff, or give up and emit ``simkim.submission.failed``."""
    ctx = context_of(uow)
    reason = failure.reason[:500]
    outage = isinstance(failure, Retryable) and failure.outage
    owner = ctx.owner
    if isinstance(failure, Permanent) or gives_up(attempts, ctx.settings.max_attempts, outage=outage):
        kept = await submissions.finish(
            uow,
            sub.receipt_number,
            SubmissionChange(
                state=SubmissionState.FAILED, work=Work.NONE, next_attempt_at=None, attempts=attempts, last_error=reason
            ),
            owner=owner,
            doing=Work.SUBMIT,
        )
        if kept:
            uow.emit(
                SubmissionFailed(receipt_number=sub.receipt_number, reason=reason, attempts=attempts, permanent=True)
            )
            log.warning("submission.failed", receipt_number=sub.receipt_number, attempts=attempts, reason=reason)
        return kept
    delay = backoff(uow, attempts)
    kept = await submissions.finish(
        uow,
        sub.receipt_number,
        SubmissionChange(attempts=attempts, last_error=reason, next_attempt_at=now + delay, deferred=outage),
        owner=owner,
        doing=Work.SUBMIT,
    )
    log.info(
        "submission.retry_scheduled",
        receipt_number=sub.receipt_number,
        attempts=attempts,
        in_seconds=round(delay.total_seconds(), 3),
        reason=reason,
    )
    return kept


async def record_accepted(
    uow: UnitOfWork, sub: Submission, attempts: int, record: ApplicationRecord, now: dt.datetime
) -> bool:
    """SIMKIM has the application: ACCEPTED (then poll for issuance) or HELD (the head of office decides)."""
    ctx = context_of(uow)
    held = record.status is ApplicationStatus.HELD and record.hold is not None
    change = SubmissionChange(
        attempts=attempts, last_error=None, deferred=False, simkim_reference=record.reference, accepted_at=now
    )
    if record.hold is not None and held:
        hold = record.hold
        change.update(
            {
                "state": SubmissionState.HELD,
                "work": Work.NONE,
                "next_attempt_at": None,
                "hold_kind": hold.kind.value,
                "hold_reference": hold.reference,
                "held_at": now,
            }
        )
    else:
        change.update(
            {
                "state": SubmissionState.ACCEPTED,
                "work": Work.POLL,
                "next_attempt_at": now + dt.timedelta(seconds=ctx.settings.issuance_poll_seconds),
            }
        )
    kept = await submissions.finish(uow, sub.receipt_number, change, owner=ctx.owner, doing=Work.SUBMIT)
    if not kept:
        log.warning("submission.lease_lost", receipt_number=sub.receipt_number)
        return False
    uow.emit(
        SubmissionAccepted(
            receipt_number=sub.receipt_number, simkim_reference=record.reference, submitted_at=now, attempts=attempts
        )
    )
    if held:
        assert record.hold is not None
        # For supervisors only: the queue shows the applicant IN_PROCESS, the notifier has no template for it.
        uow.emit(
            HoldRaised(
                receipt_number=sub.receipt_number, kind=HoldKind(record.hold.kind), reference=record.hold.reference
            )
        )
    log.info("submission.accepted", receipt_number=sub.receipt_number, attempts=attempts, held=held)
    return True


async def retry_submission(uow: UnitOfWork, receipt_number: str) -> Submission:
    """Start a failed submission over (a supervisor's retry): fresh attempts, due at once; the worker is woken
    once this commits."""
    sub = await submissions.get(uow, receipt_number)
    if sub is None:
        raise DomainError("submission_not_found")
    check_retryable(sub.state)
    if not await submissions.retry_failed(uow, receipt_number):
        raise DomainError("not_retryable", state=sub.state.value)
    context_of(uow).wake_after_commit(uow)
    after = await submissions.get(uow, receipt_number)
    assert after is not None
    return after
