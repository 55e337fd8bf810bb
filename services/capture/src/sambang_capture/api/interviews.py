"""The interview (wawancara): one decision, and a violation reported at once when one is seen."""

from __future__ import annotations

import datetime as dt
import json

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sambang_contracts import CaptureMode, InterviewDecision
from sambang_contracts.values import Text
from sambang_runtime.auth import ensure_office
from sambang_runtime.http import ReceiptPath
from sambang_runtime.service import UowDep

from ..domain.capture import ViolationCategory
from ..stores import applications
from ..usecases import interviews as usecase
from .deps import CaptureOfficer

router = APIRouter(prefix="/v1/captures", tags=["interview"])


class ViolationIn(BaseModel):
    """A violation seen during service, e.g. a suspected non-procedural migrant worker."""

    category: ViolationCategory
    detail: Text = Field(min_length=1, max_length=2000)


class InterviewIn(BaseModel):
    """The interview decision; ``mode`` defaults to SAMBANG on the priority lane, else COUNTER."""

    decision: InterviewDecision
    notes: Text | None = Field(default=None, max_length=4000)
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


@router.post("/{receipt_number}/interview", response_model=InterviewOut)
async def decide_interview(
    officer: CaptureOfficer, receipt: ReceiptPath, body: InterviewIn, uow: UowDep
) -> InterviewOut:
    """Record the decision (capture.interview.completed) and a violation (capture.violation.flagged) at once."""
    ensure_office(officer, receipt[:3])
    app = await applications.registered(uow, receipt, lock=True)
    seen = body.violation
    interview = usecase.Interview(
        body.decision, body.notes, usecase.Violation(seen.category, seen.detail) if seen else None, body.mode
    )
    # The request in a canonical form: the same request resent changes nothing and emits nothing.
    request = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    decided = await usecase.decide_interview(
        uow, app, interview, request=request, officer=officer.sub, roles=officer.roles, now=uow.now()
    )
    if not decided.unchanged:
        await uow.commit()
    return InterviewOut(
        decision=decided.decision,
        mode=decided.mode,
        officer_id=decided.officer,
        decided_at=decided.decided_at,
        violation_flagged=seen is not None,
        unchanged=decided.unchanged,
    )
