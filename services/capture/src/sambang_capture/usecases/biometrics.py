"""Storing biometric items and the exceptions that stand in for them, for the photo, finger and signature routes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sambang_runtime.errors import DomainError
from sambang_runtime.uow import UnitOfWork

from ..domain.capture import OfficeRules, check_open, gives_fingerprints
from ..stores import applications, audit, items
from ..stores.applications import ApplicationRecord
from ..stores.items import ExceptionRecord, NewException, NewItem
from .captures import age_today


@dataclass(frozen=True, slots=True)
class Kept:
    """What a slot holds after a PUT: the stored bytes' SHA-256 and size; ``unchanged`` for a resend."""

    sha256: str
    bytes: int
    unchanged: bool


async def keep_item(uow: UnitOfWork, app: ApplicationRecord, item: NewItem, *, officer: str, now: dt.datetime) -> Kept:
    """Store an accepted item unless these very bytes are already stored (a resend: same answer, no second row)."""
    existing = await items.item_at(uow, app.receipt_number, item.kind, item.position)
    if existing is not None and existing.upload_sha256 == item.upload_sha256 and existing.purged_at is None:
        return Kept(existing.sha256, existing.bytes, unchanged=True)
    check_open(app.completed_at is not None)
    if app.purged_at is not None:
        # The application ended and its retention ran out: nothing is stored for it any more.
        raise DomainError("biometrics_purged")
    await items.save_item(uow, app.receipt_number, item, officer=officer, now=now)
    detail = {
        "position": item.position,
        "sha256": item.sha256,
        "quality": item.quality,
        "replaced_sha256": existing.sha256 if existing else None,
    }
    await audit.record_on(uow, app, f"{item.kind.value.lower()}.captured", officer=officer, at=now, detail=detail)
    return Kept(item.sha256, len(item.content), unchanged=False)


async def fingerprint_subject(
    uow: UnitOfWork, receipt: str, default: OfficeRules
) -> tuple[ApplicationRecord, OfficeRules]:
    """The application (locked) and its office's rules; refuses children under 5."""
    app = await applications.registered(uow, receipt, lock=True)
    age, rules = await age_today(uow, app, default)
    if not gives_fingerprints(age):
        raise DomainError("no_fingerprints_under_five")
    return app, rules


@dataclass(frozen=True, slots=True)
class RecordedException:
    """An exception as recorded; ``unchanged`` when the same one was recorded before (a resend)."""

    record: ExceptionRecord
    unchanged: bool


async def record_exception(
    uow: UnitOfWork, app: ApplicationRecord, exception: NewException, *, officer: str, now: dt.datetime
) -> RecordedException:
    """Record why a slot has no image; the same exception again changes nothing (a resend)."""
    kind, position = exception.kind, exception.position
    existing = await items.exception_at(uow, app.receipt_number, kind, position)
    if existing is not None and existing.reason == exception.reason:
        return RecordedException(existing, unchanged=True)
    check_open(app.completed_at is not None)
    await items.save_exception(uow, app.receipt_number, exception, officer=officer, now=now)
    detail = {
        "position": position,
        "reason": exception.reason,
        "approved_by": exception.approved_by,
        "approval_id": exception.approval_id,
    }
    action = f"{kind.value.lower()}.exception_recorded"
    await audit.record_on(
        uow, app, action, officer=officer, at=now, detail={k: v for k, v in detail.items() if v is not None}
    )
    record = ExceptionRecord(kind, position, exception.reason, officer, exception.approved_by, now)
    return RecordedException(record, unchanged=False)
