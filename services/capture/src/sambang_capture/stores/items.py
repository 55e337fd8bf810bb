"""Biometric items (photo, fingerprints, signature), encrypted at rest, and the capture exceptions.

Each image is sealed with its application's own data key (``stores.keys``); the purge deletes the
bytes and the key, so a copy of this table taken before cannot be read after.

One item per (application, kind, position): a retake replaces the old image, so superseded
biometrics are not kept; the audit trail keeps both hashes. An item and an exception for the same
finger exclude each other: recording one removes the other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sambang_contracts import CaptureItemKind
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import delete, func, or_, select, update

from ..models import NO_POSITION, biometric_item, capture_exception
from . import keys


@dataclass(frozen=True, slots=True)
class NewItem:
    """An accepted image, ready to store: its sanitised bytes and what was measured."""

    kind: CaptureItemKind
    position: int | None
    upload_sha256: str
    content: bytes
    media_type: str
    width: int
    height: int
    quality: float
    checks: list[dict[str, Any]]

    @property
    def sha256(self) -> str:
        """SHA-256 of the stored bytes."""
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True, slots=True)
class NewException:
    """Why a slot has no image (a finger that cannot be taken, an applicant who cannot sign), ready to store."""

    kind: CaptureItemKind
    position: int | None
    reason: str
    note: str | None
    #: The supervisor who approved it (fingerprints); None where no approval is needed (signature).
    approved_by: str | None
    #: The single-use id of that approval (the audit trail names it).
    approval_id: str | None = None


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """A stored item, without its bytes."""

    kind: CaptureItemKind
    position: int | None
    upload_sha256: str
    sha256: str
    bytes: int
    media_type: str
    width: int
    height: int
    quality: float
    checks: list[dict[str, Any]]
    key_id: str | None
    captured_by: str
    captured_at: dt.datetime
    purged_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ExceptionRecord:
    """A recorded capture exception."""

    kind: CaptureItemKind
    position: int | None
    reason: str
    recorded_by: str
    approved_by: str | None
    recorded_at: dt.datetime


#: One item, and one exception, per slot: (application, kind, position).
_SLOT = ("receipt_number", "kind", "position")


def _position(position: int | None) -> int:
    return NO_POSITION if position is None else position


def _content_context(receipt_number: str, kind: CaptureItemKind, position: int | None) -> str:
    # Binds the ciphertext to its row: an envelope copied to another application does not decrypt.
    return f"biometric_item:{receipt_number}:{kind.value}:{_position(position)}"


def _item(row: Any) -> ItemRecord:
    return ItemRecord(
        kind=CaptureItemKind(row.kind),
        position=None if row.position == NO_POSITION else row.position,
        upload_sha256=row.upload_sha256,
        sha256=row.sha256,
        bytes=row.bytes,
        media_type=row.media_type,
        width=row.width,
        height=row.height,
        quality=row.quality,
        checks=list(row.checks),
        key_id=row.key_id,
        captured_by=row.captured_by,
        captured_at=row.captured_at,
        purged_at=row.purged_at,
    )


def _exception(row: Any) -> ExceptionRecord:
    return ExceptionRecord(
        kind=CaptureItemKind(row.kind),
        position=None if row.position == NO_POSITION else row.position,
        reason=row.reason,
        recorded_by=row.recorded_by,
        approved_by=row.approved_by,
        recorded_at=row.recorded_at,
    )


_ITEM_COLUMNS = [c for c in biometric_item.c if c.name != "content_enc"]
_KIND_ORDER = {CaptureItemKind.PHOTO: 0, CaptureItemKind.FINGERPRINT: 1, CaptureItemKind.SIGNATURE: 2}


def _in_order(record: ItemRecord | ExceptionRecord) -> tuple[int, int]:
    return _KIND_ORDER[record.kind], record.position or 0


async def item_at(
    uow: UnitOfWork, receipt_number: str, kind: CaptureItemKind, position: int | None = None
) -> ItemRecord | None:
    """The item in one slot (photo, signature, or a finger), without its bytes."""
    conn = await uow.session.connection()
    row = (
        await conn.execute(
            select(*_ITEM_COLUMNS).where(
                biometric_item.c.receipt_number == receipt_number,
                biometric_item.c.kind == kind.value,
                biometric_item.c.position == _position(position),
            )
        )
    ).first()
    return None if row is None else _item(row)


async def items(uow: UnitOfWork, receipt_number: str) -> list[ItemRecord]:
    """Every item of an application, photo first, fingers in order, without bytes."""
    conn = await uow.session.connection()
    rows = (await conn.execute(select(*_ITEM_COLUMNS).where(biometric_item.c.receipt_number == receipt_number))).all()
    return sorted((_item(r) for r in rows), key=_in_order)


async def exceptions(uow: UnitOfWork, receipt_number: str) -> list[ExceptionRecord]:
    """Every exception of an application."""
    conn = await uow.session.connection()
    rows = (
        await conn.execute(select(capture_exception).where(capture_exception.c.receipt_number == receipt_number))
    ).all()
    return sorted((_exception(r) for r in rows), key=_in_order)


async def exception_at(
    uow: UnitOfWork, receipt_number: str, kind: CaptureItemKind, position: int | None = None
) -> ExceptionRecord | None:
    """The exception recorded for one slot, if any."""
    conn = await uow.session.connection()
    row = (
        await conn.execute(
            select(capture_exception).where(
                capture_exception.c.receipt_number == receipt_number,
                capture_exception.c.kind == kind.value,
                capture_exception.c.position == _position(position),
            )
        )
    ).first()
    return None if row is None else _exception(row)


async def save_item(uow: UnitOfWork, receipt_number: str, item: NewItem, *, officer: str, now: dt.datetime) -> None:
    """Store an item sealed with its application's data key, replacing the slot's previous image and exception."""
    conn = await uow.session.connection()
    position = _position(item.position)
    key = await keys.data_key_for_writing(uow, receipt_number, now)
    content_enc = keys.seal(key, item.content, context=_content_context(receipt_number, item.kind, item.position))
    values = {
        "upload_sha256": item.upload_sha256,
        "sha256": item.sha256,
        "bytes": len(item.content),
        "media_type": item.media_type,
        "width": item.width,
        "height": item.height,
        "quality": item.quality,
        "checks": item.checks,
        "key_id": keys.DEK,
        "content_enc": content_enc,
        "captured_by": officer,
        "captured_at": now,
        "purged_at": None,
    }
    row = {"receipt_number": receipt_number, "kind": item.kind.value, "position": position, **values}
    await upsert(conn, biometric_item, row, key=_SLOT, update=list(values))
    await conn.execute(
        delete(capture_exception).where(
            capture_exception.c.receipt_number == receipt_number,
            capture_exception.c.kind == item.kind.value,
            capture_exception.c.position == position,
        )
    )


async def save_exception(
    uow: UnitOfWork, receipt_number: str, exception: NewException, *, officer: str, now: dt.datetime
) -> None:
    """Record an exception for a slot, removing the image it stands in for."""
    conn = await uow.session.connection()
    kind, pos, note = exception.kind, _position(exception.position), exception.note
    note_enc = (
        uow.cipher.encrypt(note, context=f"capture_exception.note:{receipt_number}:{kind.value}:{pos}")
        if note
        else None
    )
    values = {
        "reason": exception.reason,
        "note_enc": note_enc,
        "recorded_by": officer,
        "approved_by": exception.approved_by,
        "recorded_at": now,
    }
    row = {"receipt_number": receipt_number, "kind": kind.value, "position": pos, **values}
    await upsert(conn, capture_exception, row, key=_SLOT, update=list(values))
    await conn.execute(
        delete(biometric_item).where(
            biometric_item.c.receipt_number == receipt_number,
            biometric_item.c.kind == kind.value,
            biometric_item.c.position == pos,
        )
    )


def _open(uow: UnitOfWork, key: keys.DataKey | None, envelope: bytes, context: str) -> bytes | None:
    if keys.is_sealed_with_data_key(envelope):
        # No data key: shredded (the purge deleted it), so the bytes are as good as gone.
        return None if key is None else keys.unseal(key, envelope, context=context)
    return uow.cipher.decrypt_bytes(envelope, context=context)  # sealed under the PII key, before data keys


async def stored_contents(uow: UnitOfWork, receipt_number: str) -> list[tuple[ItemRecord, bytes | None]]:
    """Every item with its decrypted bytes (None once purged): for the internal bundle only."""
    conn = await uow.session.connection()
    rows = (await conn.execute(select(biometric_item).where(biometric_item.c.receipt_number == receipt_number))).all()
    key = await keys.data_key(uow, receipt_number)
    out: list[tuple[ItemRecord, bytes | None]] = []
    for r in rows:
        record = _item(r)
        content = None
        if r.content_enc is not None:
            context = _content_context(receipt_number, record.kind, record.position)
            content = _open(uow, key, bytes(r.content_enc), context)
        out.append((record, content))
    return sorted(out, key=lambda pair: _in_order(pair[0]))


async def purge(uow: UnitOfWork, receipt_numbers: list[str], now: dt.datetime) -> dict[str, int]:
    """Crypto-shred these applications' images: their data keys and their bytes go (hashes, sizes and
    quality stay); how many images went, per application that had any."""
    if not receipt_numbers:
        return {}
    await keys.shred(uow, receipt_numbers)
    conn = await uow.session.connection()
    stored = biometric_item.c.receipt_number.in_(receipt_numbers), biometric_item.c.content_enc.is_not(None)
    counts = {
        r.receipt_number: int(r.images)
        for r in await conn.execute(
            select(biometric_item.c.receipt_number, func.count().label("images"))
            .where(*stored)
            .group_by(biometric_item.c.receipt_number)
        )
    }
    await conn.execute(update(biometric_item).where(*stored).values(content_enc=None, key_id=None, purged_at=now))
    return counts


async def seal_legacy_batch(uow: UnitOfWork, limit: int) -> int:
    """Move up to ``limit`` images still sealed under a PII key (rows from before data keys) under their
    application's data key, so that the purge can shred them too; how many moved."""
    conn = await uow.session.connection()
    rows = (
        await conn.execute(
            select(
                biometric_item.c.id,
                biometric_item.c.receipt_number,
                biometric_item.c.kind,
                biometric_item.c.position,
                biometric_item.c.content_enc,
            )
            .where(
                biometric_item.c.content_enc.is_not(None),
                or_(biometric_item.c.key_id.is_(None), biometric_item.c.key_id != keys.DEK),
            )
            .order_by(biometric_item.c.id)
            .limit(limit)
        )
    ).all()
    for r in rows:
        kind = CaptureItemKind(r.kind)
        position = None if r.position == NO_POSITION else r.position
        context = _content_context(r.receipt_number, kind, position)
        content = uow.cipher.decrypt_bytes(bytes(r.content_enc), context=context)
        key = await keys.data_key_for_writing(uow, r.receipt_number, uow.now())
        await conn.execute(
            update(biometric_item)
            .where(biometric_item.c.id == r.id)
            .values(key_id=keys.DEK, content_enc=keys.seal(key, content, context=context))
        )
    return len(rows)
