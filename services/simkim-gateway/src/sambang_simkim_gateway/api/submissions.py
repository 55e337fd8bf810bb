"""``/v1/submissions``: where an application stands with SIMKIM, and a supervisor's retry (audited)."""

from __future__ import annotations

from fastapi import APIRouter, status
from sambang_runtime.auth import ensure_office
from sambang_runtime.errors import DomainError
from sambang_runtime.http import ReceiptPath
from sambang_runtime.logs import get_logger
from sambang_runtime.service import UowDep

from ..stores import audit, submissions
from ..stores.audit import AuditAction
from ..usecases.submissions import retry_submission as retry
from .deps import SubmissionReader, Supervisor
from .schemas import SubmissionView, submission_view

router = APIRouter(prefix="/v1/submissions", tags=["submissions"])
log = get_logger(__name__)


@router.get("/{receipt_number}", response_model=SubmissionView)
async def read_submission(receipt: ReceiptPath, principal: SubmissionReader, uow: UowDep) -> SubmissionView:
    """Readiness, state, attempts and last error of one application: its office's supervisors and head see
    the hold too (that read is audited), services the rest."""
    officer = principal.has_any("supervisor", "head_of_office")
    if officer:
        ensure_office(principal, receipt[:3])
    sub = await submissions.get(uow, receipt)
    if sub is None:
        raise DomainError("submission_not_found")
    view = submission_view(sub, with_hold=officer)
    if view.hold is not None:
        await audit.add(
            uow, principal, AuditAction.HOLD_VIEWED, receipt_number=receipt, detail={"hold_kind": sub.hold_kind}
        )
        await uow.commit()
    return view


@router.post("/{receipt_number}/retry", response_model=SubmissionView, status_code=status.HTTP_202_ACCEPTED)
async def retry_submission(receipt: ReceiptPath, principal: Supervisor, uow: UowDep) -> SubmissionView:
    """Start a failed submission over: fresh attempts, due at once (audited with the attempts it had)."""
    ensure_office(principal, receipt[:3])
    before = await submissions.get(uow, receipt)
    sub = await retry(uow, receipt)
    await audit.add(
        uow,
        principal,
        AuditAction.SUBMISSION_RETRIED,
        receipt_number=receipt,
        detail={
            "attempts_before": before.attempts if before else 0,
            "last_error": _code(before.last_error if before else None),
        },
    )
    await uow.commit()
    log.info("submission.retried", receipt_number=receipt, by=principal.sub)
    return submission_view(sub, with_hold=True)


def _code(error: str | None) -> str | None:
    """The code part of a last error (``simkim_unavailable: ...`` -> ``simkim_unavailable``)."""
    return error.split(":", 1)[0][:100] if error else None
