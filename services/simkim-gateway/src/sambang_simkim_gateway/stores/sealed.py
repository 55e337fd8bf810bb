"""The encrypted columns of the gateway's tables, read and rewritten for a data-key rotation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Table, select, update

from ..models import submission, violation_report


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """An encrypted column: its table, the table's key, and the cipher context of a row's value."""

    name: str
    table: Table
    key: str
    column: str
    context: Callable[[str], str]


@dataclass(frozen=True, slots=True)
class SealedValue:
    """One row's key and the ciphertext its encrypted column holds."""

    key: str
    token: str


async def sealed_values(uow: UnitOfWork, sealed: SealedColumn, *, after: str | None, limit: int) -> list[SealedValue]:
    """The next ``limit`` rows (by key, after ``after``) whose encrypted column holds a value."""
    t = sealed.table
    key, column = t.c[sealed.key], t.c[sealed.column]
    stmt = select(key, column).where(column.is_not(None)).order_by(key).limit(limit)
    if after is not None:
        stmt = stmt.where(key > after)
    conn = await uow.session.connection()
    return [SealedValue(str(r[0]), str(r[1])) for r in await conn.execute(stmt)]


async def replace_sealed(uow: UnitOfWork, sealed: SealedColumn, key: str, old: str, new: str) -> bool:
    """Put ``new`` in place of ``old``, only where the row still holds ``old`` (a value written or dropped
    meanwhile is left alone); whether the row was rewritten."""
    t = sealed.table
    conn = await uow.session.connection()
    result = await conn.execute(
        update(t).where(t.c[sealed.key] == key, t.c[sealed.column] == old).values({sealed.column: new})
    )
    return bool(result.rowcount)


def sealed_columns(biodata: Callable[[str], str], violation: Callable[[str], str]) -> tuple[SealedColumn, ...]:
    """Every encrypted column of the gateway: an application's biodata (name, NIK, birth date) and a
    violation report's free text, with their cipher contexts."""
    return (
        SealedColumn("submission.biodata", submission, "receipt_number", "biodata_enc", biodata),
        SealedColumn("violation_report.detail", violation_report, "id", "detail_enc", violation),
    )
