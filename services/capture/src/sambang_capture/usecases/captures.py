"""One application's capture as completeness sees it: the applicant's age at the office, the checklist,
what is recorded; and the completion that closes it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sambang_contracts import CaptureCompleted, CaptureException, CaptureItem, CaptureItemKind, CaptureMode
from sambang_contracts.values import age_on
from sambang_runtime.errors import DomainError
from sambang_runtime.uow import UnitOfWork

from ..domain.capture import CaptureState, OfficeRules, gives_fingerprints, local_day, missing
from ..domain.documents import DocumentKey, Requirement, checklist, unmet
from ..stores import applications, audit, documents, items, offices
from ..stores.applications import ApplicationRecord
from ..stores.documents import CheckedDocument
from ..stores.items import ExceptionRecord, ItemRecord


async def age_today(uow: UnitOfWork, app: ApplicationRecord, default: OfficeRules) -> tuple[int, OfficeRules]:
    """The applicant's completed years today at the office (ages change at its midnight), and its rules."""
    rules = await offices.rules_of(uow, app.office, default)
    assert app.birth_date is not None  # registered
    return age_on(app.birth_date, local_day(uow.now(), rules.timezone)), rules


async def checklist_of(uow: UnitOfWork, app: ApplicationRecord, default: OfficeRules) -> tuple[Requirement, ...]:
    """The documents this applicant must show: by service type and age today."""
    age, _ = await age_today(uow, app, default)
    assert app.service_type is not None  # registered
    return checklist(app.service_type, age)


@dataclass(frozen=True, slots=True)
class CaptureView:
    """Everything recorded for one application, read in one transaction."""

    requirements: tuple[Requirement, ...]
    checked: dict[DocumentKey, CheckedDocument]
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


async def read_capture(uow: UnitOfWork, app: ApplicationRecord, default: OfficeRules) -> CaptureView:
    """What is recorded for an application, and what its applicant must give today."""
    age, _ = await age_today(uow, app, default)
    assert app.service_type is not None  # registered
    return CaptureView(
        requirements=checklist(app.service_type, age),
        checked=await documents.checked(uow, app.receipt_number),
        items=await items.items(uow, app.receipt_number),
        exceptions=await items.exceptions(uow, app.receipt_number),
        fingerprints_required=gives_fingerprints(age),
    )


@dataclass(frozen=True, slots=True)
class Completion:
    """Where and on which tablet a capture was completed."""

    mode: CaptureMode
    device_id: str | None
    seat: str | None


async def complete_capture(
    uow: UnitOfWork, app: ApplicationRecord, where: Completion, default: OfficeRules, *, officer: str, now: dt.datetime
) -> dict[str, Any]:
    """Close a complete capture and emit capture.completed; its manifest (the same again once completed).

    Refused with ``capture_incomplete`` naming exactly what is missing.
    """
    if app.completion is not None:
        return app.completion  # completed before: the same answer, no second event
    capture = await read_capture(uow, app, default)
    lacking = missing(capture.state())
    if lacking:
        raise DomainError("capture_incomplete", missing=lacking)
    seat = where.seat or (app.seat if where.mode is CaptureMode.SAMBANG else None)
    event = CaptureCompleted(
        receipt_number=app.receipt_number,
        mode=where.mode,
        officer_id=officer,
        device_id=where.device_id,
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
    await applications.record_completion(uow, app.receipt_number, manifest, now)
    uow.emit(event, subject=app.receipt_number, office=app.office)
    detail = {"mode": where.mode.value, "items": len(event.items), "exceptions": len(event.exceptions)}
    await audit.record_on(uow, app, "capture.completed", officer=officer, at=now, detail=detail)
    return manifest
