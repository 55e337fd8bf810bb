"""``/v1/submissions``: where an application stands with SIMKIM, and a supervisor's retry."""

from __future__ import annotations

from fastapi import APIRouter, status
from sambang_runtime.auth import ensure_office
from sambang_runtime.errors import DomainError
from sambang_runtime.logs import get_logger
from sambang_runtime.service import UowDep

from ..domain import check_retryable
from ..stores import submissions
from .deps import ContextDep, Receipt, Supervisor, SupervisorOrService
from .schemas import SubmissionView, submission_view

router = APIRouter(prefix="/v1/submissions", tags=["submissions"])
log = get_logger(__name__)


@router.get("/{receipt}", response_model=SubmissionView)
async def read_submission(receipt: Receipt, principal: SupervisorOrService, uow: UowDep) -> SubmissionView:
    """Readiness, state, attempts and last error of one application (its office's supervisors, services)."""
    supervisor = principal.has_any("supervisor")
    if supervisor:
        ensure_office(principal, receipt[:3])
    sub = await submissions.get(uow, receipt)
    if sub is None:
        raise DomainError("submission_not_found")
    return submission_view(sub, with_hold=supervisor)


@router.post("/{receipt}/retry", response_model=SubmissionView, status_code=status.HTTP_202_ACCEPTED)
async def retry_submission(receipt: Receipt, principal: Supervisor, uow: UowDep, ctx: ContextDep) -> SubmissionView:
    """Start a failed submission over: fresh attempts, due at once."""
    ensure_office(principal, receipt[:3])
    sub = await submissions.get(uow, receipt)
    if sub is None:
        raise DomainError("submission_not_found")
    check_retryable(sub.state)
    if not await submissions.retry_failed(uow, receipt):
        raise DomainError("not_retryable", state=sub.state.value)
    ctx.wake_after_commit(uow)
    await uow.commit()
    log.info("submission.retried", receipt_number=receipt, by=principal.sub)
    after = await submissions.get(uow, receipt)
    assert after is not None
    return submission_view(after, with_hold=True)
