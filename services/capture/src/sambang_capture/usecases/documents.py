"""The document check (verifikasi berkas) and nonconformances (ketidaksesuaian)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sambang_contracts import DocumentCheck, DocumentStatus, DocumentsVerified, NonconformanceRecorded
from sambang_runtime.uow import UnitOfWork

from ..domain.documents import holder_note
from ..stores import audit, documents
from ..stores.applications import ApplicationRecord
from ..stores.documents import DocumentCheckInput

#: The nonconformance kind a document MISMATCH records.
DOCUMENT_MISMATCH = "DOCUMENT_MISMATCH"


async def record_nonconformance(
    uow: UnitOfWork, app: ApplicationRecord, kind: str, detail: str, *, officer: str, now: dt.datetime
) -> bool:
    """Record a nonconformance and emit capture.nonconformance.recorded; False (nothing emitted) for a resend."""
    if not await documents.record_nonconformance(uow, app.receipt_number, kind, detail, officer=officer, now=now):
        return False
    uow.emit(
        NonconformanceRecorded(receipt_number=app.receipt_number, kind=kind, detail=detail, officer_id=officer),
        subject=app.receipt_number,
        office=app.office,
    )
    return True


async def check_documents(
    uow: UnitOfWork, app: ApplicationRecord, checks: Sequence[DocumentCheckInput], *, officer: str, now: dt.datetime
) -> int | None:
    """Record the checks that changed, emit capture.documents.verified with every document's latest check,
    and a nonconformance per new MISMATCH; returns how many were recorded, None when nothing changed."""
    receipt = app.receipt_number
    previous = await documents.checked(uow, receipt)
    changed = await documents.save_checks(uow, receipt, checks, officer=officer, now=now, previous=previous)
    if not changed:
        return None
    listed = []
    for doc in (await documents.checked(uow, receipt)).values():
        listed.append(DocumentCheck(kind=doc.kind, status=doc.status, note=holder_note(doc.holder)))
    verified = DocumentsVerified(receipt_number=receipt, documents=listed, officer_id=officer)
    uow.emit(verified, subject=receipt, office=app.office)
    recorded = 0
    for c in changed:
        if c.status is DocumentStatus.MISMATCH:
            # The officer's note may hold personal data: it stays encrypted here, not on the bus.
            detail = f"{c.kind.value} of {c.holder.value.lower()} does not match the application"
            recorded += await record_nonconformance(uow, app, DOCUMENT_MISMATCH, detail, officer=officer, now=now)
    changes = [{"kind": c.kind.value, "holder": c.holder.value, "status": c.status.value} for c in changed]
    await audit.record_on(uow, app, "documents.checked", officer=officer, at=now, detail={"changed": changes})
    return recorded
