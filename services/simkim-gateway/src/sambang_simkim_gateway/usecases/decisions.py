"""Telling SIMKIM the head of office's decision on a hold, and recording that SIMKIM has it.

Retried until SIMKIM has it (never given up); the decision itself was recorded by ``POST /v1/holds/…``.
"""

from __future__ import annotations

import datetime as dt

from sambang_contracts.enums import HoldDecision
from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime
from sambang_runtime.uow import UnitOfWork

from ..adapters.protocol import ApplicationRecord, DecisionRequest
from ..adapters.simkim import Answered, BreakerOpen, Outcome, Permanent
from ..context import context_of
from ..domain import Breaker, Work
from ..stores import submissions
from ..stores.submissions import Submission, SubmissionChange
from .work import call_and_record, defer_work, record_work_failure

log = get_logger(__name__)


async def send_decision(runtime: ServiceRuntime, sub: Submission, seen: Breaker) -> bool:
    """Send one leased decision to SIMKIM and record how it went."""
    if sub.simkim_reference is None or sub.decision is None or sub.decided_by is None:
        raise RuntimeError("a decision without its reference or decider")
    reference = sub.simkim_reference
    request = DecisionRequest(
        decision=HoldDecision(sub.decision), reason=sub.decision_reason or "-", decided_by=sub.decided_by
    )
    return await call_and_record(
        runtime, seen, sub, lambda simkim: simkim.decide(reference, request), record_decision_outcome
    )


async def record_decision_outcome(
    uow: UnitOfWork, sub: Submission, outcome: Outcome[ApplicationRecord], now: dt.datetime
) -> bool:
    """SIMKIM has the decision (released: poll for issuance; denied: the application ends), or it refused it
    (say so, and look at what SIMKIM does say), or try again later."""
    if isinstance(outcome, BreakerOpen):
        return await defer_work(uow, sub, outcome.until, now)
    if isinstance(outcome, Answered | Permanent):
        error = None
        if isinstance(outcome, Permanent):
            # SIMKIM will not take it (it no longer holds the application).
            log.error("hold.decision_refused", receipt_number=sub.receipt_number, error=outcome.detail)
            error = f"simkim_refused_decision: {outcome.detail}"
        return await _decided(uow, sub, release=sub.decision == HoldDecision.RELEASE.value, error=error, now=now)
    return await record_work_failure(uow, sub, outcome.reason, now, outage=outcome.outage)


async def _decided(uow: UnitOfWork, sub: Submission, *, release: bool, error: str | None, now: dt.datetime) -> bool:
    ctx = context_of(uow)
    if release:
        return await submissions.finish(
            uow,
            sub.receipt_number,
            SubmissionChange(
                work=Work.POLL,
                next_attempt_at=now + dt.timedelta(seconds=ctx.settings.issuance_poll_seconds),
                work_failures=0,
                last_error=error,
                deferred=False,
            ),
            owner=ctx.owner,
            doing=Work.DECIDE,
        )
    return await submissions.finish(
        uow,
        sub.receipt_number,
        SubmissionChange(
            work=Work.NONE, next_attempt_at=None, work_failures=0, last_error=error, deferred=False, biodata_enc=None
        ),
        owner=ctx.owner,
        doing=Work.DECIDE,
    )
