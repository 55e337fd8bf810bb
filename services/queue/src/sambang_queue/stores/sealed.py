"""The encrypted columns of the queue's tables, read and rewritten for a data-key rotation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Table, and_, select, update

from ..models import application, pickup
from . import connection_of


@dataclass(frozen=True, slots=True)
class SealedTable:
    """A table with encrypted columns: its name (the ciphertexts' context prefix), key and columns."""

    name: str
    key: str
    columns: tuple[str, ...]


#: Every encrypted column of the queue (personal data; the context is ``<table>.<field>:<key>``).
SEALED_TABLES: tuple[SealedTable, ...] = (
    SealedTable(
        "application",
        "receipt_number",
        ("nik_enc", "full_name_enc", "birth_date_enc", "email_enc", "phone_enc", "passport_number_enc"),
    ),
    SealedTable("pickup", "id", ("proxy_name_enc", "proxy_nik_enc")),
)

_TABLES: dict[str, Table] = {"application": application, "pickup": pickup}


@dataclass(frozen=True, slots=True)
class SealedRow:
    """One row's key and the ciphertext of each of its encrypted columns that holds one."""

    key: str
    tokens: Mapping[str, str]


async def sealed_rows(uow: UnitOfWork, table: SealedTable, *, after: str | None, limit: int) -> list[SealedRow]:
    """The next ``limit`` rows of ``table`` by key after ``after``, with their ciphertexts."""
    t = _TABLES[table.name]
    key = t.c[table.key]
    stmt = select(key, *(t.c[c] for c in table.columns)).order_by(key).limit(limit)
    if after is not None:
        stmt = stmt.where(key > after)
    conn = await connection_of(uow)
    rows = await conn.execute(stmt)
    return [
        SealedRow(
            str(r[0]),
            {c: v for c, v in zip(table.columns, r[1:], strict=True) if isinstance(v, str)},
        )
        for r in rows
    ]


async def replace_sealed(
    uow: UnitOfWork, table: SealedTable, key: str, old: Mapping[str, str], new: Mapping[str, str]
) -> bool:
    """Put ``new`` ciphertexts in place of ``old`` ones, only where the row still holds the old ones
    (a change made meanwhile, under the active key, is left alone); whether the row was rewritten."""
    t = _TABLES[table.name]
    conditions = [t.c[table.key] == key, *(t.c[c] == v for c, v in old.items())]
    conn = await connection_of(uow)
    result = await conn.execute(update(t).where(and_(*conditions)).values(dict(new)))
    return bool(result.rowcount)
