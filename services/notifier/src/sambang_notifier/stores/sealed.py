"""The encrypted columns of the notifier's tables, read and rewritten for a data-key rotation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Table, select, update

from ..models import appointment, deferred_event, notification, recipient


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """An encrypted column: its table, the table's key, its cipher context for a row, and whether it holds
    bytes (``encrypt_bytes``) rather than text."""

    table: Table
    key: str
    column: str
    context: Callable[[str], str]
    binary: bool = False


@dataclass(frozen=True, slots=True)
class SealedValue:
    """One row's key and the ciphertext its encrypted column holds."""

    key: str
    token: str | bytes


def _field(prefix: str, field: str) -> Callable[[str], str]:
    return lambda key: f"{prefix}.{field}:{key}"


#: Every encrypted column of the notifier, with the contexts its stores encrypt under.
SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn(recipient, "receipt_number", "name_enc", _field("recipient", "name")),
    SealedColumn(recipient, "receipt_number", "email_enc", _field("recipient", "email")),
    SealedColumn(recipient, "receipt_number", "phone_enc", _field("recipient", "phone")),
    SealedColumn(appointment, "receipt_number", "birth_date_enc", _field("appointment", "birth_date")),
    SealedColumn(appointment, "receipt_number", "arrival_url_enc", _field("appointment", "arrival_url")),
    SealedColumn(notification, "id", "recipient_enc", _field("notification", "recipient")),
    SealedColumn(notification, "id", "content_enc", _field("notification", "content")),
    SealedColumn(deferred_event, "event_id", "body_enc", lambda key: f"deferred_event:{key}", binary=True),
)


async def sealed_values(uow: UnitOfWork, sealed: SealedColumn, *, after: str | None, limit: int) -> list[SealedValue]:
    """The next ``limit`` rows (by key, after ``after``) whose encrypted column holds a value."""
    t = sealed.table
    key, column = t.c[sealed.key], t.c[sealed.column]
    stmt = select(key, column).where(column.is_not(None)).order_by(key).limit(limit)
    if after is not None:
        stmt = stmt.where(key > after)
    conn = await uow.session.connection()
    return [SealedValue(str(r[0]), bytes(r[1]) if sealed.binary else str(r[1])) for r in await conn.execute(stmt)]


async def replace_sealed(uow: UnitOfWork, sealed: SealedColumn, key: str, old: str | bytes, new: str | bytes) -> bool:
    """Put ``new`` in place of ``old``, only where the row still holds ``old`` (a value written or dropped
    meanwhile is left alone); whether the row was rewritten."""
    t = sealed.table
    conn = await uow.session.connection()
    result = await conn.execute(
        update(t).where(t.c[sealed.key] == key, t.c[sealed.column] == old).values({sealed.column: new})
    )
    return bool(result.rowcount)
