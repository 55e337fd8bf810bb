"""Document checks and nonconformances (ketidaksesuaian) of an application."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sambang_contracts import DocumentKind, DocumentStatus
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..domain.documents import DocumentKey, Holder
from ..models import document_check, nonconformance


@dataclass(frozen=True, slots=True)
class DocumentCheckInput:
    """One checked document as the officer reported it."""

    kind: DocumentKind
    holder: Holder
    status: DocumentStatus
    note: str | None


@dataclass(frozen=True, slots=True)
class CheckedDocument:
    """The latest check of one document (the note stays encrypted in the table)."""

    kind: DocumentKind
    holder: Holder
    status: DocumentStatus
    officer: str
    checked_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Nonconformance:
    """A recorded nonconformance (its detail decrypted)."""

    kind: str
    detail: str
    officer: str
    recorded_at: dt.datetime


def _note_context(receipt_number: str, kind: str, holder: str) -> str:
    return f"document_check.note:{receipt_number}:{kind}:{holder}"


async def checked(uow: UnitOfWork, receipt_number: str) -> dict[DocumentKey, CheckedDocument]:
    """The latest check of every document of an application."""
    conn = await uow.session.connection()
    rows = (await conn.execute(select(document_check).where(document_check.c.receipt_number == receipt_number))).all()
    out: dict[DocumentKey, CheckedDocument] = {}
    for r in rows:
        doc = CheckedDocument(DocumentKind(r.kind), Holder(r.holder), DocumentStatus(r.status), r.officer, r.checked_at)
        out[(doc.kind, doc.holder)] = doc
    return out


async def save_checks(
    uow: UnitOfWork,
    receipt_number: str,
    checks: Sequence[DocumentCheckInput],
    *,
    officer: str,
    now: dt.datetime,
    previous: dict[DocumentKey, CheckedDocument],
) -> list[DocumentCheckInput]:
    """Record the checks whose status changed (or that are new); returns those."""
    changed = [c for c in checks if (p := previous.get((c.kind, c.holder))) is None or p.status is not c.status]
    if not changed:
        return []
    conn = await uow.session.connection()
    for c in changed:
        note_enc = (
            uow.cipher.encrypt(c.note, context=_note_context(receipt_number, c.kind.value, c.holder.value))
            if c.note
            else None
        )
        values = {"status": c.status.value, "note_enc": note_enc, "officer": officer, "checked_at": now}
        row = {"receipt_number": receipt_number, "kind": c.kind.value, "holder": c.holder.value, **values}
        await upsert(conn, document_check, row, key=["receipt_number", "kind", "holder"], update=list(values))
    return changed


def _detail_context(receipt_number: str) -> str:
    return f"nonconformance.detail:{receipt_number}"


async def record_nonconformance(
    uow: UnitOfWork, receipt_number: str, kind: str, detail: str, *, officer: str, now: dt.datetime
) -> bool:
    """Record a nonconformance; False when the same one (kind and detail) was already recorded."""
    conn = await uow.session.connection()
    detail_hash = uow.cipher.blind_index(f"{receipt_number}|{kind}|{detail}", purpose="nonconformance")
    row = {
        "receipt_number": receipt_number,
        "kind": kind,
        "detail_enc": uow.cipher.encrypt(detail, context=_detail_context(receipt_number)),
        "detail_hash": detail_hash,
        "officer": officer,
        "recorded_at": now,
    }
    key = ["receipt_number", "kind", "detail_hash"]
    result = await upsert(conn, nonconformance, row, key=key, returning=[nonconformance.c.id])
    return result.first() is not None


async def nonconformances(uow: UnitOfWork, receipt_number: str) -> list[Nonconformance]:
    """Every nonconformance of an application, oldest first."""
    conn = await uow.session.connection()
    rows = (
        await conn.execute(
            select(nonconformance)
            .where(nonconformance.c.receipt_number == receipt_number)
            .order_by(nonconformance.c.recorded_at, nonconformance.c.id)
        )
    ).all()
    return [
        Nonconformance(
            r.kind, uow.cipher.decrypt(r.detail_enc, context=_detail_context(receipt_number)), r.officer, r.recorded_at
        )
        for r in rows
    ]
