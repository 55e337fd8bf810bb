"""One application's capture: its summary, its completion (capture.completed) and its audit trail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sambang_contracts import (
    CaptureCompleted,
    CaptureException,
    CaptureItem,
    CaptureItemKind,
    CaptureMode,
    InterviewDecision,
    PriorityCategory,
    ServiceType,
)
from sambang_contracts import Lane as LaneKind
from sambang_runtime.errors import DomainError
from sambang_runtime.service import UowDep
from sambang_runtime.uow import UnitOfWork

from ..domain.capture import CaptureState, OfficeRules, age_on, gives_fingerprints, local_day, missing
from ..domain.documents import Requirement, checklist, unmet
from ..stores import applications, audit, documents, interviews, items, offices
from ..stores.applications import ApplicationRecord
from ..stores.documents import CheckedDocument
from ..stores.items import ExceptionRecord, ItemRecord
from .deps import CaptureOfficer, ContextDep, Officer, Supervisor, receipt_in_office
from .documents import DocumentsOut, documents_out
from .schemas import ExceptionOut, ItemOut, Manifest, exception_out, item_out

router = APIRouter(prefix="/v1/captures", tags=["captures"])


@dataclass(frozen=True, slots=True)
class _Capture:
    """Everything recorded for one application, read in one transaction."""

    requirements: tuple[Requirement, ...]
    checked: dict[Any, CheckedDocument]
    items: list[ItemRecord]
    exceptions: list[ExceptionRecord]
    fingerprints_required: bool

    def state(self) -> CaptureState:
        """What completeness is judged on."""
        kinds = {CaptureItemKind.PHOTO, CaptureItemKind.SIGNATURE}
        present = {i.kind for i in self.items if i.kind in kinds}
        excepted = {e.kind for e in self.exceptions if e.kind in kinds}
        return CaptureState(
            unmet_documents=tuple(unmet(self.requirements, {k: d.status for k, d in self.checked.items()})),
            has_photo=CaptureItemKind.PHOTO in present,
            fingerprints_required=self.fingerprints_required,
            fingerprints=frozenset(
                i.position for i in self.items if i.kind is CaptureItemKind.FINGERPRINT and i.position
            ),
            fingerprint_exceptions=frozenset(
                e.position for e in self.exceptions if e.kind is CaptureItemKind.FINGERPRINT and e.position
            ),
            has_signature=CaptureItemKind.SIGNATURE in present,
            signature_exception=CaptureItemKind.SIGNATURE in excepted,
        )


async def _read(uow: UnitOfWork, app: ApplicationRecord, default: OfficeRules) -> _Capture:
    rules = await offices.rules_of(uow, app.office, default)
    assert app.service_type is not None and app.birth_date is not None  # registered
    age = age_on(app.birth_date, local_day(uow.now(), rules.timezone))
    return _Capture(
        requirements=checklist(app.service_type, age),
        checked=await documents.checked(uow, app.receipt_number),
        items=await items.items(uow, app.receipt_number),
        exceptions=await items.exceptions(uow, app.receipt_number),
        fingerprints_required=gives_fingerprints(age),
    )


class CompleteIn(BaseModel):
    """Where the capture happened: at the priority seat (SAMBANG) or a counter; which tablet."""

    mode: CaptureMode
    device_id: str | None = Field(default=None, min_length=1, max_length=200)
    seat: str | None = Field(default=None, min_length=1, max_length=200)


@router.post(
    "/{receipt}/complete",
    response_model=Manifest,
    responses={409: {"description": "capture_incomplete: `missing` lists exactly what is missing"}},
)
async def complete_capture(
    receipt: str, body: CompleteIn, officer: CaptureOfficer, uow: UowDep, ctx: ContextDep
) -> Manifest:
    """Close the capture and emit capture.completed with the manifest (hashes, sizes, quality; no bytes)."""
    receipt = receipt_in_office(receipt, officer)
    app = await applications.registered(uow, receipt, lock=True)
    if app.completion is not None:
        return Manifest.model_validate(app.completion)  # completed before: the same answer, no second event
    capture = await _read(uow, app, ctx.default_office_rules)
    lacking = missing(capture.state())
    if lacking:
        raise DomainError("capture_incomplete", missing=lacking)
    now = uow.now()
    seat = body.seat or (app.seat if body.mode is CaptureMode.SAMBANG else None)
    event = CaptureCompleted(
        receipt_number=receipt,
        mode=body.mode,
        officer_id=officer.sub,
        device_id=body.device_id,
        seat=seat,
        items=[
            CaptureItem(kind=i.kind, position=i.position, sha256=i.sha256, bytes=i.bytes, quality=i.quality)
            for i in capture.items
            if i.kind is not CaptureItemKind.FINGERPRINT or capture.fingerprints_required
        ],
        exceptions=[CaptureException(kind=e.kind, position=e.position, reason=e.reason) for e in capture.exceptions],
        completed_at=now,
    )
    manifest = event.model_dump(mode="json")
    await applications.record_completion(uow, receipt, manifest, now)
    uow.emit(event, subject=receipt, office=app.office)
    await audit.record(
        uow,
        officer=officer.sub,
        office=app.office,
        action="capture.completed",
        receipt_number=receipt,
        at=now,
        detail={"mode": body.mode.value, "items": len(event.items), "exceptions": len(event.exceptions)},
    )
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


@router.get("/{receipt}", response_model=CaptureSummary)
async def capture_summary(receipt: str, officer: Officer, uow: UowDep, ctx: ContextDep) -> CaptureSummary:
    """The capture of one application for the office's officers: documents, items, exceptions, interview."""
    receipt = receipt_in_office(receipt, officer)
    app = await applications.registered(uow, receipt)
    assert app.service_type is not None
    capture = await _read(uow, app, ctx.default_office_rules)
    latest = await interviews.latest(uow, receipt)
    return CaptureSummary(
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


class AuditEntryOut(BaseModel):
    """One officer action."""

    at: dt.datetime
    officer: str
    office: str
    action: str
    receipt_number: str | None
    detail: dict[str, Any] | None


@router.get("/{receipt}/audit", response_model=list[AuditEntryOut])
async def capture_audit(receipt: str, supervisor: Supervisor, uow: UowDep) -> list[AuditEntryOut]:
    """The audit trail of one application's capture, for the office's supervisor: who, what, when."""
    receipt = receipt_in_office(receipt, supervisor)
    return [
        AuditEntryOut(
            at=e.at,
            officer=e.officer,
            office=e.office,
            action=e.action,
            receipt_number=e.receipt_number,
            detail=e.detail,
        )
        for e in await audit.trail(uow, receipt)
    ]
