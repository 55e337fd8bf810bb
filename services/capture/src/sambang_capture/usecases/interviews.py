"""The interview (wawancara): one decision, and a violation reported at once when one is seen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sambang_contracts import CaptureMode, InterviewCompleted, InterviewDecision, ViolationFlagged
from sambang_runtime.uow import UnitOfWork

from ..context import context_of
from ..domain.capture import ViolationCategory, capture_mode, check_interview_change
from ..domain.retention import Outcome
from ..stores import audit, interviews
from ..stores.applications import ApplicationRecord
from .retention import schedule_purge


@dataclass(frozen=True, slots=True)
class Violation:
    """What an officer saw that must be reported at once."""

    category: ViolationCategory
    detail: str


@dataclass(frozen=True, slots=True)
class Interview:
    """An officer's decision; ``mode`` None: from the lane of the visit."""

    decision: InterviewDecision
    notes: str | None
    violation: Violation | None
    mode: CaptureMode | None


@dataclass(frozen=True, slots=True)
class Decided:
    """The decision as recorded; ``unchanged`` when this very request was recorded before."""

    decision: InterviewDecision
    mode: CaptureMode
    officer: str
    decided_at: dt.datetime
    unchanged: bool


async def decide_interview(
    uow: UnitOfWork,
    app: ApplicationRecord,
    interview: Interview,
    *,
    request: str,
    officer: str,
    roles: Collection[str],
    now: dt.datetime,
) -> Decided:
    """Record the decision (capture.interview.completed) and a violation (capture.violation.flagged).

    ``request`` is the request in a canonical form: a keyed hash of it makes a resent interview change
    nothing and emit nothing.
    """
    receipt = app.receipt_number
    request_hash = uow.cipher.blind_index(f"{receipt}|{officer}|{request}", purpose="interview")
    previous = await interviews.latest(uow, receipt)
    if previous is not None and previous.request_hash == request_hash:
        return Decided(previous.decision, previous.mode, previous.officer, previous.decided_at, unchanged=True)
    check_interview_change(previous.decision if previous else None, interview.decision)
    mode = capture_mode(interview.mode, app.lane, roles)
    interview_id = await interviews.add(
        uow,
        receipt,
        interview.decision,
        notes=interview.notes,
        mode=mode,
        officer=officer,
        request_hash=request_hash,
        now=now,
    )
    completed = InterviewCompleted(
        receipt_number=receipt, decision=interview.decision, officer_id=officer, mode=mode, completed_at=now
    )
    uow.emit(completed, subject=receipt, office=app.office)
    seen = interview.violation
    if seen is not None:
        await interviews.add_violation(
            uow, receipt, seen.category, seen.detail, interview_id=interview_id, officer=officer, now=now
        )
        flagged = ViolationFlagged(
            receipt_number=receipt, category=seen.category.value, detail=seen.detail, officer_id=officer
        )
        uow.emit(flagged, subject=receipt, office=app.office)
    detail = {
        "decision": interview.decision.value,
        "mode": mode.value,
        "violation": seen.category.value if seen else None,
    }
    await audit.record_on(uow, app, "interview.decided", officer=officer, at=now, detail=detail)
    if interview.decision is InterviewDecision.REJECTED:
        # A final outcome, and capture's own: the retention clock starts with the decision.
        await schedule_purge(uow, receipt, Outcome.REJECTED, now, context_of(uow).default_office_rules)
    return Decided(interview.decision, mode, officer, now, unchanged=False)
