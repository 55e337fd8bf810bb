"""Response models several capture routers share: quality checks, items, exceptions, documents, the manifest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field
from sambang_contracts import CaptureItemKind, CaptureMode, DocumentKind, DocumentStatus

from ..domain.documents import DocumentKey, Holder, Requirement, unmet
from ..domain.quality import Verdict
from ..errors import reasons_of
from ..stores.documents import CheckedDocument
from ..stores.items import ExceptionRecord, ItemRecord


class CheckOut(BaseModel):
    """One measured property against its limits."""

    name: str
    passed: bool
    value: float
    minimum: float | None = None
    maximum: float | None = None
    reason: str | None = Field(default=None, description="What to fix, when the check failed")


class QualityOut(BaseModel):
    """The score (0-100) and every check of one image."""

    score: float
    face_count: int | None = Field(default=None, description="Photos only")
    checks: list[CheckOut]


def quality_out(verdict: Verdict, *, face_count: int | None = None) -> QualityOut:
    """The response form of a verdict."""
    return QualityOut(
        score=verdict.score,
        face_count=face_count,
        checks=[
            CheckOut(name=c.name, passed=c.passed, value=c.value, minimum=c.minimum, maximum=c.maximum, reason=c.reason)
            for c in verdict.checks
        ],
    )


def rejection(verdict: Verdict, quality: QualityOut) -> dict[str, Any]:
    """The members of a 422 refusal: every failed check's reason in both languages, and all checks."""
    return {"reasons": reasons_of(verdict.reasons), "quality": quality.model_dump()}


class ItemOut(BaseModel):
    """A stored biometric item, described by its hash (never its bytes)."""

    kind: CaptureItemKind
    position: int | None = None
    sha256: str
    bytes: int
    media_type: str
    width: int
    height: int
    quality: float
    captured_by: str
    captured_at: dt.datetime
    purged: bool


def item_out(item: ItemRecord) -> ItemOut:
    """The response form of a stored item."""
    return ItemOut(
        kind=item.kind,
        position=item.position,
        sha256=item.sha256,
        bytes=item.bytes,
        media_type=item.media_type,
        width=item.width,
        height=item.height,
        quality=item.quality,
        captured_by=item.captured_by,
        captured_at=item.captured_at,
        purged=item.purged_at is not None,
    )


class ExceptionOut(BaseModel):
    """A recorded exception (a finger that could not be taken, an applicant who cannot sign)."""

    kind: CaptureItemKind
    position: int | None = None
    reason: str
    recorded_by: str
    approved_by: str | None = None
    recorded_at: dt.datetime


def exception_out(record: ExceptionRecord) -> ExceptionOut:
    """The response form of an exception."""
    return ExceptionOut(
        kind=record.kind,
        position=record.position,
        reason=record.reason,
        recorded_by=record.recorded_by,
        approved_by=record.approved_by,
        recorded_at=record.recorded_at,
    )


class ManifestItem(BaseModel):
    """One item of the completion manifest."""

    kind: CaptureItemKind
    position: int | None = None
    sha256: str
    bytes: int
    quality: float


class ManifestException(BaseModel):
    """One exception of the completion manifest."""

    kind: CaptureItemKind
    position: int | None = None
    reason: str


class Manifest(BaseModel):
    """What ``capture.completed`` carried: hashes, sizes and quality, no biometric bytes."""

    receipt_number: str
    mode: CaptureMode
    officer_id: str
    device_id: str | None = None
    seat: str | None = None
    items: list[ManifestItem]
    exceptions: list[ManifestException]
    completed_at: dt.datetime


class DocumentOut(BaseModel):
    """The latest check of one document."""

    kind: DocumentKind
    holder: Holder
    status: DocumentStatus
    officer: str


class ChecklistLine(BaseModel):
    """One checklist line: any one of ``kinds``, held by ``holder``."""

    requirement: str
    kinds: list[DocumentKind]
    holder: Holder


def checklist_out(requirements: Iterable[Requirement]) -> list[ChecklistLine]:
    """The response form of a checklist."""
    return [ChecklistLine(requirement=r.key, kinds=list(r.kinds), holder=r.holder) for r in requirements]


class RequirementOut(ChecklistLine):
    """One line of an applicant's checklist; met when shown (OK or MISMATCH)."""

    met: bool


class DocumentsOut(BaseModel):
    """Every checked document and the applicant's checklist."""

    documents: list[DocumentOut]
    checklist: list[RequirementOut]
    complete: bool
    nonconformances_recorded: int


def documents_out(
    checked: dict[DocumentKey, CheckedDocument], requirements: tuple[Requirement, ...], recorded: int
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
