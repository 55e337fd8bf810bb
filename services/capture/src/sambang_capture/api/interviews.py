"""The interview (wawancara): one decision, and a violation reported at once when one is seen."""

from __future__ import annotations

import datetime as dt
import json

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sambang_contracts import CaptureMode, InterviewCompleted, InterviewDecision, ViolationFlagged
from sambang_runtime.service import UowDep

from ..domain.capture import ViolationCategory, capture_mode, check_interview_change
from ..stores import applications, audit, interviews
from .deps import CaptureOfficer, receipt_in_office

router = APIRouter(prefix="/v1/captures", tags=["interview"])


class ViolationIn(BaseModel):
    """A violation seen during service, e.g. a suspected non-procedural migrant worker."""

    category: ViolationCategory
    detail: str = Field(min_length=1, max_length=2000)


class InterviewIn(BaseModel):
    """The interview decision; ``mode`` defaults to SAMBANG on the priority lane, else COUNTER."""

    decision: InterviewDecision
    notes: str | None = Field(default=None, max_length=4000)
    violation: ViolationIn | None = None
    mode: CaptureMode | None = None


class InterviewOut(BaseModel):
    """The recorded decision."""

    decision: InterviewDecision
    mode: CaptureMode
    officer_id: str
    decided_at: dt.datetime
    violation_flagged: bool
    unchanged: bool = Field(description="True when this very interview was already recorded (a resend)")


@router.post("/{receipt}/interview", response_model=InterviewOut)
async def decide_interview(receipt: str, body: InterviewIn, officer: CaptureOfficer, uow: UowDep) -> InterviewOut:
    """Record the decision (capture.interview.completed) and a violation (capture.violation.flagged) at once."""
    receipt = receipt_in_office(receipt, officer)
    app = await applications.registered(uow, receipt, lock=True)
    # A keyed hash of the whole request: a tablet resending it changes nothing and emits nothing.
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    request_hash = uow.cipher.blind_index(f"{receipt}|{officer.sub}|{canonical}", purpose="interview")
    previous = await interviews.latest(uow, receipt)
    if previous is not None and previous.request_hash == request_hash:
        return InterviewOut(
            decision=previous.decision,
            mode=previous.mode,
            officer_id=previous.officer,
            decided_at=previous.decided_at,
            violation_flagged=body.violation is not None,
            unchanged=True,
        )
    check_interview_change(previous.decision if previous else None, body.decision)
    mode = capture_mode(body.mode, app.lane, officer.roles)
    now = uow.now()
    interview_id = await interviews.add(
        uow,
        receipt,
        body.decision,
        notes=body.notes,
        mode=mode,
        officer=officer.sub,
        request_hash=request_hash,
        now=now,
    )
    uow.emit(
        InterviewCompleted(
            receipt_number=receipt, decision=body.decision, officer_id=officer.sub, mode=mode, completed_at=now
        ),
        subject=receipt,
        office=app.office,
    )
    if body.violation is not None:
        await interviews.add_violation(
            uow,
            receipt,
            body.violation.category,
            body.violation.detail,
            interview_id=interview_id,
            officer=officer.sub,
            now=now,
        )
        uow.emit(
            ViolationFlagged(
                receipt_number=receipt,
                category=body.violation.category.value,
                detail=body.violation.detail,
                officer_id=officer.sub,
            ),
            subject=receipt,
            office=app.office,
        )
    await audit.record(
        uow,
        officer=officer.sub,
        office=app.office,
        action="interview.decided",
        receipt_number=receipt,
        at=now,
        detail={
            "decision": body.decision.value,
            "mode": mode.value,
            "violation": body.violation.category.value if body.violation else None,
        },
    )
    await uow.commit()
    return InterviewOut(
        decision=body.decision,
        mode=mode,
        officer_id=officer.sub,
        decided_at=now,
        violation_flagged=body.violation is not None,
        unchanged=False,
    )
