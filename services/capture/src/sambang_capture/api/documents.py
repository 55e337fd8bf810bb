"""Document check (verifikasi berkas) against the checklist, and nonconformances (ketidaksesuaian)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field
from sambang_contracts import DocumentCheck, DocumentStatus, DocumentsVerified, NonconformanceRecorded
from sambang_runtime.errors import DomainError
from sambang_runtime.service import UowDep
from sambang_runtime.uow import UnitOfWork

from ..domain.capture import OfficeRules, age_on, local_day
from ..domain.documents import DocumentKind, Holder, Requirement, checklist, contract_kind, unmet
from ..stores import applications, audit, documents, offices
from ..stores.applications import ApplicationRecord
from ..stores.documents import CheckedDocument, DocumentCheckInput
from .deps import ContextDep, DocumentOfficer, Officer, receipt_in_office

router = APIRouter(prefix="/v1/captures", tags=["documents"])

#: The nonconformance kind a document MISMATCH records.
DOCUMENT_MISMATCH = "DOCUMENT_MISMATCH"


class DocumentIn(BaseModel):
    """One checked document; a child applicant's parents' documents say whose they are."""

    kind: DocumentKind
    status: DocumentStatus
    holder: Holder = Holder.APPLICANT
    note: str | None = Field(default=None, max_length=2000)


class DocumentOut(BaseModel):
    """The latest check of one document."""

    kind: DocumentKind
    holder: Holder
    status: DocumentStatus
    officer: str


class RequirementOut(BaseModel):
    """One checklist line: any one of ``kinds``, held by ``holder``; met when shown (OK or MISMATCH)."""

    requirement: str
    kinds: list[DocumentKind]
    holder: Holder
    met: bool


class DocumentsOut(BaseModel):
    """Every checked document and the applicant's checklist."""

    documents: list[DocumentOut]
    checklist: list[RequirementOut]
    complete: bool
    nonconformances_recorded: int


class NonconformanceIn(BaseModel):
    """A nonconformance: a kind (e.g. DATA_MISMATCH) and what is wrong."""

    kind: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,63}$", examples=["DATA_MISMATCH"])
    detail: str = Field(min_length=1, max_length=2000)


class NonconformanceOut(BaseModel):
    """Whether the nonconformance was recorded now (False: the same one was recorded before)."""

    kind: str
    recorded: bool


async def application_checklist(
    uow: UnitOfWork, app: ApplicationRecord, default: OfficeRules
) -> tuple[Requirement, ...]:
    """The checklist of an application: its service type and the applicant's age today at the office."""
    rules = await offices.rules_of(uow, app.office, default)
    assert app.service_type is not None and app.birth_date is not None
    return checklist(app.service_type, age_on(app.birth_date, local_day(uow.now(), rules.timezone)))


def documents_out(
    checked: dict[tuple[DocumentKind, Holder], CheckedDocument], requirements: tuple[Requirement, ...], recorded: int
) -> DocumentsOut:
    """The response form of the checks and the checklist."""
    missing = unmet(requirements, {k: d.status for k, d in checked.items()})
    return DocumentsOut(
        documents=[
            DocumentOut(kind=d.kind, holder=d.holder, status=d.status, officer=d.officer) for d in checked.values()
        ],
        checklist=[
            RequirementOut(requirement=r.key, kinds=list(r.kinds), holder=r.holder, met=r not in missing)
            for r in requirements
        ],
        complete=not missing,
        nonconformances_recorded=recorded,
    )


@router.post("/{receipt}/documents", response_model=DocumentsOut)
async def check_documents(
    receipt: str,
    body: Annotated[list[DocumentIn], Body(min_length=1, max_length=40)],
    officer: DocumentOfficer,
    uow: UowDep,
    ctx: ContextDep,
) -> DocumentsOut:
    """Record each document as OK, MISSING or MISMATCH; a MISMATCH records a nonconformance."""
    receipt = receipt_in_office(receipt, officer)
    keys = [(d.kind, d.holder) for d in body]
    if len(set(keys)) != len(keys):
        raise DomainError("duplicate_document")
    app = await applications.registered(uow, receipt, lock=True)
    requirements = await application_checklist(uow, app, ctx.default_office_rules)
    previous = await documents.checked(uow, receipt)
    now = uow.now()
    changed = await documents.save_checks(
        uow,
        receipt,
        [DocumentCheckInput(d.kind, d.holder, d.status, d.note) for d in body],
        officer=officer.sub,
        now=now,
        previous=previous,
    )
    recorded = 0
    if changed:
        current = await documents.checked(uow, receipt)
        listed = []
        for doc in current.values():
            kind, note = contract_kind(doc.kind, doc.holder)
            listed.append(DocumentCheck(kind=kind, status=doc.status, note=note))
        uow.emit(
            DocumentsVerified(receipt_number=receipt, documents=listed, officer_id=officer.sub),
            subject=receipt,
            office=app.office,
        )
        for c in changed:
            if c.status is not DocumentStatus.MISMATCH:
                continue
            # The officer's note may hold personal data: it stays encrypted here, not on the bus.
            detail = f"{c.kind.value} of {c.holder.value.lower()} does not match the application"
            if await documents.record_nonconformance(
                uow, receipt, DOCUMENT_MISMATCH, detail, officer=officer.sub, now=now
            ):
                recorded += 1
                uow.emit(
                    NonconformanceRecorded(
                        receipt_number=receipt, kind=DOCUMENT_MISMATCH, detail=detail, officer_id=officer.sub
                    ),
                    subject=receipt,
                    office=app.office,
                )
        await audit.record(
            uow,
            officer=officer.sub,
            office=app.office,
            action="documents.checked",
            receipt_number=receipt,
            at=now,
            detail={
                "changed": [{"kind": c.kind.value, "holder": c.holder.value, "status": c.status.value} for c in changed]
            },
        )
        await uow.commit()
    return documents_out(await documents.checked(uow, receipt), requirements, recorded)


@router.post("/{receipt}/nonconformances", response_model=NonconformanceOut)
async def record_nonconformance(
    receipt: str, body: NonconformanceIn, officer: Officer, uow: UowDep
) -> NonconformanceOut:
    """Record a nonconformance (ketidaksesuaian) seen by any officer; the same one again records nothing."""
    receipt = receipt_in_office(receipt, officer)
    app = await applications.registered(uow, receipt)
    now = uow.now()
    recorded = await documents.record_nonconformance(uow, receipt, body.kind, body.detail, officer=officer.sub, now=now)
    if recorded:
        uow.emit(
            NonconformanceRecorded(receipt_number=receipt, kind=body.kind, detail=body.detail, officer_id=officer.sub),
            subject=receipt,
            office=app.office,
        )
        await audit.record(
            uow,
            officer=officer.sub,
            office=app.office,
            action="nonconformance.recorded",
            receipt_number=receipt,
            at=now,
            detail={"kind": body.kind},
        )
        await uow.commit()
    return NonconformanceOut(kind=body.kind, recorded=recorded)
