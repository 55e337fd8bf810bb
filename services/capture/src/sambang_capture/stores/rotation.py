"""Re-encryption under the active PII key (``make rotate-data-key``): every encrypted text column.

Each column's values are bound to their row by an encryption context (see the store that writes them);
a batch reads the values not yet under the active key, re-encrypts them with the same context, and
writes them back. Values under the active key are not touched, so the batches end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Column, Table, select, update

from ..models import NO_POSITION, application, capture_exception, document_check, interview, nonconformance, violation


@dataclass(frozen=True, slots=True)
class EncryptedColumn:
    """One encrypted text column: its table, row key, and the context its values are bound to."""

    table: Table
    key: str
    column: str
    context: Callable[[Any], str]

    @property
    def name(self) -> str:
        """``table.column``."""
        return f"{self.table.name}.{self.column}"


def _position(row: Any) -> int:
    return NO_POSITION if row.position is None else int(row.position)


#: Every encrypted text column of the service, with the context its store writes it under.
ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn(
        application, "receipt_number", "birth_date_enc", lambda r: f"application.birth_date:{r.receipt_number}"
    ),
    EncryptedColumn(
        document_check, "id", "note_enc", lambda r: f"document_check.note:{r.receipt_number}:{r.kind}:{r.holder}"
    ),
    EncryptedColumn(nonconformance, "id", "detail_enc", lambda r: f"nonconformance.detail:{r.receipt_number}"),
    EncryptedColumn(
        capture_exception,
        "id",
        "note_enc",
        lambda r: f"capture_exception.note:{r.receipt_number}:{r.kind}:{_position(r)}",
    ),
    EncryptedColumn(interview, "id", "notes_enc", lambda r: f"interview.notes:{r.receipt_number}"),
    EncryptedColumn(violation, "id", "detail_enc", lambda r: f"violation.detail:{r.receipt_number}"),
)


async def reencrypt_batch(uow: UnitOfWork, target: EncryptedColumn, limit: int) -> int:
    """Re-encrypt up to ``limit`` values of one column not yet under the active key; how many were."""
    cipher = uow.cipher
    table, key = target.table, target.table.c[target.key]
    column: Column[Any] = target.table.c[target.column]
    current = f"v1.{cipher.active_key_id}."
    conn = await uow.session.connection()
    rows = (
        await conn.execute(
            select(table)
            .where(column.is_not(None), ~column.startswith(current, autoescape=True))
            .order_by(key)
            .limit(limit)
        )
    ).all()
    for row in rows:
        token = getattr(row, target.column)
        fresh = cipher.reencrypt(token, context=target.context(row))
        await conn.execute(update(table).where(key == getattr(row, target.key)).values({target.column: fresh}))
    return len(rows)
