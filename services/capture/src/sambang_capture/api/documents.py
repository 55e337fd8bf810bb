"""The checklist, the document check (verifikasi berkas) against it, and nonconformances (ketidaksesuaian)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field
from sambang_contracts import DocumentKind, DocumentStatus, ServiceType
from sambang_contracts.values import Text
from sambang_runtime.auth import ensure_office
from sambang_runtime.errors import DomainError
from sambang_runtime.http import ReceiptPath
from sambang_runtime.service import UowDep

from ..domain.documents import ADULT_AGE, Holder, checklist
from ..stores import applications, audit, documents
from ..stores.documents import DocumentCheckInput
from ..usecases import documents as usecase
from ..usecases.captures import checklist_of
from .deps import ChecklistReader, ContextDep, DocumentOfficer, Officer
from .schemas import ChecklistLine, DocumentsOut, checklist_out, documents_out

router = APIRouter(prefix="/v1/captures", tags=["documents"])

AgeQuery = Annotated[int, Query(ge=0, le=150, description="The applicant's age in years (an adult's by default)")]


class DocumentIn(BaseModel):
    """One checked document; a child applicant's parents' documents say whose they are."""

    kind: DocumentKind
    status: DocumentStatus
    holder: Holder = Holder.APPLICANT
    note: Text | None = Field(default=None, max_length=2000)


class NonconformanceIn(BaseModel):
    """A nonconformance: a kind (e.g. DATA_MISMATCH) and what is wrong."""

    kind: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,63}$", examples=["DATA_MISMATCH"])
    detail: Text = Field(min_length=1, max_length=2000)


class NonconformanceOut(BaseModel):
    """Whether the nonconformance was recorded now (False: the same one was recorded before)."""

    kind: str
    recorded: bool


@router.get("/checklists/{service_type}", response_model=list[ChecklistLine])
async def service_checklist(
    _reader: ChecklistReader, service_type: ServiceType, age: AgeQuery = ADULT_AGE
) -> list[ChecklistLine]:
    """The documents an applicant of this service type and age shows: what a tablet asks before capture has
    heard of the application (a walk-in registered moments ago), or keeps for when it is offline; and what
    the notifier's reminder the day before lists (a ``service`` token), the same list the verifier ticks."""
    return checklist_out(checklist(service_type, age))


@router.post("/{receipt_number}/documents", response_model=DocumentsOut)
async def check_documents(
    officer: DocumentOfficer,
    receipt: ReceiptPath,
    body: Annotated[list[DocumentIn], Body(min_length=1, max_length=40)],
    uow: UowDep,
    ctx: ContextDep,
) -> DocumentsOut:
    """Record each document as OK, MISSING or MISMATCH; a MISMATCH records a nonconformance."""
    ensure_office(officer, receipt[:3])
    keys = [(d.kind, d.holder) for d in body]
    if len(set(keys)) != len(keys):
        raise DomainError("duplicate_document")
    app = await applications.registered(uow, receipt, lock=True)
    requirements = await checklist_of(uow, app, ctx.default_office_rules)
    checks = [DocumentCheckInput(d.kind, d.holder, d.status, d.note) for d in body]
    recorded = await usecase.check_documents(uow, app, checks, officer=officer.sub, now=uow.now())
    if recorded is not None:
        await uow.commit()
    return documents_out(await documents.checked(uow, receipt), requirements, recorded or 0)


@router.post("/{receipt_number}/nonconformances", response_model=NonconformanceOut)
async def record_nonconformance(
    officer: Officer, receipt: ReceiptPath, body: NonconformanceIn, uow: UowDep
) -> NonconformanceOut:
    """Record a nonconformance (ketidaksesuaian) seen by any officer; the same one again records nothing."""
    ensure_office(officer, receipt[:3])
    app = await applications.registered(uow, receipt)
    now = uow.now()
    recorded = await usecase.record_nonconformance(uow, app, body.kind, body.detail, officer=officer.sub, now=now)
    if recorded:
        detail = {"kind": body.kind}
        await audit.record_on(uow, app, "nonconformance.recorded", officer=officer.sub, at=now, detail=detail)
        await uow.commit()
    return NonconformanceOut(kind=body.kind, recorded=recorded)
