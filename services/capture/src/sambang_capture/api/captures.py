"""One application's capture: its summary, its completion (capture.completed) and its audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sambang_contracts import CaptureMode, InterviewDecision, PriorityCategory, ServiceType
from sambang_contracts import Lane as LaneKind
from sambang_contracts.values import Text
from sambang_runtime.auth import ensure_office
from sambang_runtime.http import ReceiptPath
from sambang_runtime.service import UowDep

from ..domain.capture import missing
from ..stores import applications, audit, documents, interviews
from ..stores.audit import AuditEntry
from ..usecases import captures as usecase
from .deps import CaptureOfficer, ContextDep, Officer, Supervisor
from .schemas import DocumentsOut, ExceptionOut, ItemOut, Manifest, documents_out, exception_out, item_out

router = APIRouter(prefix="/v1/captures", tags=["captures"])


class CompleteIn(BaseModel):
    """Where the capture happened: at the priority seat (SAMBANG) or a counter; which tablet."""

    mode: CaptureMode
    device_id: Text | None = Field(default=None, min_length=1, max_length=200)
    seat: Text | None = Field(default=None, min_length=1, max_length=200)


@router.post(
    "/{receipt_number}/complete",
    response_model=Manifest,
    responses={409: {"description": "capture_incomplete: `missing` lists exactly what is missing"}},
)
async def complete_capture(
    officer: CaptureOfficer, receipt: ReceiptPath, body: CompleteIn, uow: UowDep, ctx: ContextDep
) -> Manifest:
    """Close the capture and emit capture.completed with the manifest (hashes, sizes, quality; no bytes)."""
    ensure_office(officer, receipt[:3])
    app = await applications.registered(uow, receipt, lock=True)
    where = usecase.Completion(body.mode, body.device_id, body.seat)
    rules = ctx.default_office_rules
    manifest = await usecase.complete_capture(uow, app, where, rules, officer=officer.sub, now=uow.now())
    await uow.commit()
    return Manifest.model_validate(manifest)


class InterviewSummary(BaseModel):
    """The latest interview decision."""

    decision: InterviewDecision
    mode: CaptureMode
    officer_id: str
    decided_at: dt.datetime


class NonconformanceOut(BaseModel):
    """A recorded nonconformance."""

    kind: str
    detail: str
    officer: str
    recorded_at: dt.datetime


class CaptureSummary(BaseModel):
    """Everything recorded for one application, without biometric bytes."""

    receipt_number: str
    office: str
    service_type: ServiceType
    priority_category: PriorityCategory | None
    lane: LaneKind | None
    seat: str | None
    fingerprints_required: bool
    documents: DocumentsOut
    items: list[ItemOut]
    exceptions: list[ExceptionOut]
    interview: InterviewSummary | None
    violations: int
    nonconformances: list[NonconformanceOut]
    missing: list[dict[str, Any]] = Field(description="What completion still needs (empty once complete)")
    completion: Manifest | None
    issued_at: dt.datetime | None
    purge_due_at: dt.datetime | None
    purged: bool


@router.get("/{receipt_number}", response_model=CaptureSummary)
async def capture_summary(officer: Officer, receipt: ReceiptPath, uow: UowDep, ctx: ContextDep) -> CaptureSummary:
    """The capture of one application for the office's officers: documents, items, exceptions, interview.
    Personal data (the nonconformances' details): every read is in the audit trail (``capture.read``)."""
    ensure_office(officer, receipt[:3])
    app = await applications.registered(uow, receipt)
    assert app.service_type is not None
    capture = await usecase.read_capture(uow, app, ctx.default_office_rules)
    latest = await interviews.latest(uow, receipt)
    summary = CaptureSummary(
        receipt_number=receipt,
        office=app.office,
        service_type=app.service_type,
        priority_category=app.priority_category,
        lane=app.lane,
        seat=app.seat,
        fingerprints_required=capture.fingerprints_required,
        documents=documents_out(capture.checked, capture.requirements, 0),
        items=[item_out(i) for i in capture.items],
        exceptions=[exception_out(e) for e in capture.exceptions],
        interview=(
            InterviewSummary(
                decision=latest.decision, mode=latest.mode, officer_id=latest.officer, decided_at=latest.decided_at
            )
            if latest
            else None
        ),
        violations=await interviews.violation_count(uow, receipt),
        nonconformances=[
            NonconformanceOut(kind=n.kind, detail=n.detail, officer=n.officer, recorded_at=n.recorded_at)
            for n in await documents.nonconformances(uow, receipt)
        ],
        missing=[] if app.completion is not None else missing(capture.state()),
        completion=Manifest.model_validate(app.completion) if app.completion is not None else None,
        issued_at=app.issued_at,
        purge_due_at=app.purge_due_at,
        purged=app.purged_at is not None,
    )
    await audit.record_on(
        uow, app, "capture.read", officer=officer.sub, at=uow.now(), detail={"by": sorted(officer.roles)}
    )
    await uow.commit()
    return summary


@router.get("/{receipt_number}/audit", response_model=list[AuditEntry])
async def capture_audit(supervisor: Supervisor, receipt: ReceiptPath, uow: UowDep) -> list[AuditEntry]:
    """The audit trail of one application's capture, for the office's supervisor: who, what, when."""
    ensure_office(supervisor, receipt[:3])
    return await audit.trail(uow, receipt)
