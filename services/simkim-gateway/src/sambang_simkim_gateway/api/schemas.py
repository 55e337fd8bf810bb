"""Request and response bodies of the gateway's endpoints."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field
from sambang_contracts.enums import HoldDecision, HoldKind, InterviewDecision
from sambang_contracts.values import Text

from ..domain import SubmissionState
from ..stores.submissions import Submission


class ReadinessView(BaseModel):
    """The four facts a submission waits for."""

    registered: bool
    paid: bool
    captured: bool
    interview: bool = Field(description="Approved at interview")


class HoldView(BaseModel):
    """A hold raised by SIMKIM (cekal or duplicate passport) and its decision, if any. Supervisors and the
    head of office only."""

    receipt_number: str
    office: str
    kind: HoldKind
    reference: str
    raised_at: dt.datetime | None
    interview_officer_id: str | None = Field(description="May not decide this hold")
    decision: HoldDecision | None = None
    decided_by: str | None = None
    reason: str | None = None
    decided_at: dt.datetime | None = None


class SubmissionView(BaseModel):
    """Where one application stands with SIMKIM."""

    receipt_number: str
    office: str
    state: SubmissionState
    readiness: ReadinessView
    interview_decision: InterviewDecision | None
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime | None
    simkim_reference: str | None
    accepted_at: dt.datetime | None
    hold: HoldView | None = Field(default=None, description="Shown to supervisors only")
    issued_at: dt.datetime | None
    pickup_from: dt.date | None


class DecisionRequest(BaseModel):
    """The head of office's decision on a hold."""

    decision: HoldDecision
    #: Free text without control characters (a NUL, an escape: 422).
    reason: Text = Field(min_length=1, max_length=2000)


class DecisionView(BaseModel):
    """A recorded decision."""

    receipt_number: str
    decision: HoldDecision
    decided_by: str
    reason: str
    decided_at: dt.datetime
    state: SubmissionState


def hold_view(sub: Submission) -> HoldView | None:
    """The hold of a submission, if SIMKIM raised one."""
    if sub.hold_kind is None or sub.hold_reference is None:
        return None
    return HoldView(
        receipt_number=sub.receipt_number,
        office=sub.office,
        kind=HoldKind(sub.hold_kind),
        reference=sub.hold_reference,
        raised_at=sub.held_at,
        interview_officer_id=sub.interview_officer_id,
        decision=HoldDecision(sub.decision) if sub.decision else None,
        decided_by=sub.decided_by,
        reason=sub.decision_reason,
        decided_at=sub.decided_at,
    )


def submission_view(sub: Submission, *, with_hold: bool) -> SubmissionView:
    """The API's view of a submission; the hold only for supervisors."""
    r = sub.readiness
    return SubmissionView(
        receipt_number=sub.receipt_number,
        office=sub.office,
        state=sub.state,
        readiness=ReadinessView(
            registered=r.registered,
            paid=r.paid,
            captured=r.captured,
            interview=r.interview is InterviewDecision.APPROVED,
        ),
        interview_decision=r.interview,
        attempts=sub.attempts,
        last_error=sub.last_error,
        next_attempt_at=sub.next_attempt_at,
        simkim_reference=sub.simkim_reference,
        accepted_at=sub.accepted_at,
        hold=hold_view(sub) if with_hold else None,
        issued_at=sub.issued_at,
        pickup_from=sub.pickup_from,
    )


def decision_view(sub: Submission) -> DecisionView:
    """A submission's recorded decision."""
    assert sub.decision is not None and sub.decided_by is not None and sub.decided_at is not None
    return DecisionView(
        receipt_number=sub.receipt_number,
        decision=HoldDecision(sub.decision),
        decided_by=sub.decided_by,
        reason=sub.decision_reason or "",
        decided_at=sub.decided_at,
        state=sub.state,
    )
