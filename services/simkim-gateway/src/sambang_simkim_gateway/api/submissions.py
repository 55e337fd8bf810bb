"""``/v1/submissions``: where an application stands with SIMKIM, and a supervisor's retry."""

from __future__ import annotations

from fastapi import APIRouter, status
from sambang_runtime.auth import ensure_office
from sambang_runtime.errors import DomainError
from sambang_runtime.http import ReceiptPath
from sambang_runtime.logs import get_logger
from sambang_runtime.service import UowDep

from ..stores import submissions
from ..usecases.submissions import retry_submission as retry
from .deps import Supervisor, SupervisorOrService
from .schemas import SubmissionView, submission_view

router = APIRouter(prefix="/v1/submissions", tags=["submissions"])
log = get_logger(__name__)


@router.get("/{receipt_number}", response_model=SubmissionView)
async def read_submission(receipt: ReceiptPath, principal: SupervisorOrService, uow: UowDep) -> SubmissionView:
    """Readiness, state, attempts and last error of one application (its office's supervisors, services)."""
    supervisor = principal.has_any("supervisor")
    if supervisor:
        ensure_office(principal, receipt[:3])
    sub = await submissions.get(uow, receipt)
    if sub is None:
        raise DomainError("submission_not_found")
    return submission_view(sub, with_hold=supervisor)


@router.post("/{receipt_number}/retry", response_model=SubmissionView, status_code=status.HTTP_202_ACCEPTED)
async def retry_submission(receipt: ReceiptPath, principal: Supervisor, uow: UowDep) -> SubmissionView:
    """Start a failed submission over: fresh attempts, due at once."""
    ensure_office(principal, receipt[:3])
    sub = await retry(uow, receipt)
    await uow.commit()
    log.info("submission.retried", receipt_number=receipt, by=principal.sub)
    return submission_view(sub, with_hold=True)
