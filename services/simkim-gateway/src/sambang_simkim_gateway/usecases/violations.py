"""Forwarding one violation report to SIMKIM, and recording how it went (retried with backoff until SIMKIM
has it; a refusal is recorded and not retried)."""

from __future__ import annotations

import datetime as dt

from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime
from sambang_runtime.uow import UnitOfWork

from ..adapters.protocol import ViolationReceipt, ViolationReport
from ..adapters.simkim import Answered, BreakerOpen, Outcome, Permanent
from ..context import context_of
from ..domain import Breaker
from ..handlers import violation_context
from ..stores import violations
from ..stores.violations import Violation, ViolationChange
from .work import backoff, call_and_record

log = get_logger(__name__)


async def forward_violation(runtime: ServiceRuntime, v: Violation, seen: Breaker) -> bool:
    """Send one leased violation report to SIMKIM and record how it went."""
    report = ViolationReport(
        violation_id=v.id,
        receipt_number=v.receipt_number,
        office=v.office,
        category=v.category,
        detail=runtime.cipher.decrypt(v.detail_enc, context=violation_context(v.id)),
        officer_id=v.officer_id,
        flagged_at=v.flagged_at,
    )
    return await call_and_record(
        runtime, seen, v, lambda simkim: simkim.report_violation(report), record_forward_outcome
    )


async def record_forward_outcome(
    uow: UnitOfWork, v: Violation, outcome: Outcome[ViolationReceipt], now: dt.datetime
) -> bool:
    """Forwarded, refused (kept with its error, not retried), or try again after a backoff."""
    owner = context_of(uow).owner
    if isinstance(outcome, BreakerOpen):
        return await violations.finish(
            uow, v.id, ViolationChange(next_attempt_at=outcome.until or now, deferred=True), owner=owner
        )
    attempts = v.attempts + 1
    if isinstance(outcome, Answered):
        kept = await violations.finish(
            uow,
            v.id,
            ViolationChange(attempts=attempts, last_error=None, next_attempt_at=None, forwarded_at=now, deferred=False),
            owner=owner,
        )
        log.info("violation.forwarded", receipt_number=v.receipt_number, attempts=attempts)
        return kept
    if isinstance(outcome, Permanent):
        log.error("violation.refused", receipt_number=v.receipt_number, error=outcome.detail)
        return await violations.finish(
            uow,
            v.id,
            ViolationChange(attempts=attempts, last_error=outcome.reason[:500], next_attempt_at=None),
            owner=owner,
        )
    return await violations.finish(
        uow,
        v.id,
        ViolationChange(
            attempts=attempts,
            last_error=outcome.reason[:500],
            next_attempt_at=now + backoff(uow, attempts),
            deferred=outcome.outage,
        ),
        owner=owner,
    )
