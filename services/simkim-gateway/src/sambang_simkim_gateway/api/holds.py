"""``/v1/holds``: applications SIMKIM held (cekal, duplicate passport) and the head of office's decision.

Supervisors and the head of office read them; the head of office alone decides, once, and never on an
application they interviewed. Nothing here reaches the applicant, whose status reads IN_PROCESS throughout.
Every decision and every read of the holds goes into the audit trail.
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
from ..stores import audit, submissions
from ..stores.audit import AuditAction
from ..stores.submissions import Submission
from .deps import ContextDep, HeadOfOffice, HoldReader
from .schemas import DecisionRequest, DecisionView, HoldView, decision_view, hold_view

router = APIRouter(prefix="/v1/holds", tags=["holds"])
log = get_logger(__name__)


@router.get("", response_model=list[HoldView])
async def list_open_holds(
    principal: HoldReader,
    uow: UowDep,
    office: Annotated[str | None, Query(pattern="^[A-Za-z]{3}$", description="Default: the token's office")] = None,
) -> list[HoldView]:
    """Open holds of the office, oldest first (supervisors and the head of office; the read is audited)."""
    code = (office or principal.office).upper()
    ensure_office(principal, code)
    views = [v for v in (hold_view(s) for s in await submissions.open_holds(uow, code)) if v is not None]
    await audit.add(
        uow,
        principal,
        AuditAction.HOLDS_LISTED,
        detail={"listed_office": code, "receipts": [v.receipt_number for v in views]},
    )
    await uow.commit()
    return views


def _already_decided(sub: Submission) -> DomainError:
    return DomainError("hold_already_decided", decision=sub.decision, decided_by=sub.decided_by, state=sub.state.value)


@router.post("/{receipt_number}/decision", response_model=DecisionView)
async def decide_hold(
    receipt: ReceiptPath, body: DecisionRequest, principal: HeadOfOffice, uow: UowDep, ctx: ContextDep
) -> DecisionView:
    """RELEASE or DENY a hold, with a reason: the head of office's, once (a second decision, whoever sends it
    and even at the same moment, is 409 hold_already_decided); the officer who interviewed may not decide."""
    ensure_office(principal, receipt[:3])
    sub = await submissions.get(uow, receipt)
    if sub is None or sub.hold_kind is None:
        raise DomainError("hold_not_found")
    if sub.decision is not None:
        raise _already_decided(sub)
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
        # Another decision committed between the read and this conditional update (it waited for that row).
        now = await submissions.get(uow, receipt)
        if now is not None and now.decision is not None:
            raise _already_decided(now)
        raise DomainError("hold_not_open", state=sub.state.value)
    await audit.add(
        uow,
        principal,
        AuditAction.HOLD_DECIDED,
        receipt_number=receipt,
        detail={"decision": body.decision.value, "hold_kind": sub.hold_kind, "hold_reference": sub.hold_reference},
    )
    uow.emit(HoldDecided(receipt_number=receipt, decision=body.decision, decided_by=principal.sub, reason=reason))
    ctx.wake_after_commit(uow)
    await uow.commit()
    log.info("hold.decided", receipt_number=receipt, decision=body.decision.value, by=principal.sub)
    after = await submissions.get(uow, receipt)
    assert after is not None
    return decision_view(after)
