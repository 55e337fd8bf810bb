"""``/v1/holds``: applications SIMKIM held (cekal, duplicate passport) and the head of office's decision.

Supervisors only; nothing here reaches the applicant, whose status reads IN_PROCESS throughout.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sambang_contracts.events import HoldDecided
from sambang_runtime.auth import ensure_office
from sambang_runtime.errors import DomainError
from sambang_runtime.http import ReceiptPath
from sambang_runtime.logs import get_logger
from sambang_runtime.service import UowDep

from ..domain import after_decision, check_hold_decision
from ..stores import submissions
from .deps import ContextDep, Supervisor
from .schemas import DecisionRequest, DecisionView, HoldView, decision_view, hold_view

router = APIRouter(prefix="/v1/holds", tags=["holds"])
log = get_logger(__name__)


@router.get("", response_model=list[HoldView])
async def list_open_holds(
    principal: Supervisor,
    uow: UowDep,
    office: Annotated[str | None, Query(pattern="^[A-Za-z]{3}$", description="Default: the token's office")] = None,
) -> list[HoldView]:
    """Open holds of the office, oldest first."""
    code = (office or principal.office).upper()
    ensure_office(principal, code)
    views = [hold_view(s) for s in await submissions.open_holds(uow, code)]
    return [v for v in views if v is not None]


@router.post("/{receipt_number}/decision", response_model=DecisionView)
async def decide_hold(
    receipt: ReceiptPath, body: DecisionRequest, principal: Supervisor, uow: UowDep, ctx: ContextDep
) -> DecisionView:
    """RELEASE or DENY a hold, with a reason; the officer who interviewed the applicant may not decide."""
    ensure_office(principal, receipt[:3])
    sub = await submissions.get(uow, receipt)
    if sub is None or sub.hold_kind is None:
        raise DomainError("hold_not_found")
    if sub.decision is not None:
        if sub.decision == body.decision.value and sub.decided_by == principal.sub:
            return decision_view(sub)  # the same decider sending the same decision again
        raise DomainError("hold_not_open", state=sub.state.value)
    check_hold_decision(sub.state, decider=principal.sub, interviewer=sub.interview_officer_id)
    reason = body.reason.strip() or body.reason
    decided = await submissions.decide_hold(
        uow,
        receipt,
        decision=body.decision.value,
        decided_by=principal.sub,
        reason=reason,
        state=after_decision(body.decision),
    )
    if not decided:
        raise DomainError("hold_not_open", state=sub.state.value)
    uow.emit(HoldDecided(receipt_number=receipt, decision=body.decision, decided_by=principal.sub, reason=reason))
    ctx.wake_after_commit(uow)
    await uow.commit()
    log.info("hold.decided", receipt_number=receipt, decision=body.decision.value, by=principal.sub)
    after = await submissions.get(uow, receipt)
    assert after is not None
    return decision_view(after)
