"""The encrypted columns of payment's tables, read and rewritten for a data-key rotation.

Payment keeps two kinds of ciphertext: the applicant's birth date on each bill (context
``bill.birth_date:<receipt>``) and each partner key's webhook secret (``partner_key.secret:<key id>``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Column, select, update

from ..models import BILL, PARTNER_KEY


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """One encrypted column: its name in reports, and the ciphertext's context prefix."""

    name: str
    context: str


BIRTH_DATES = SealedColumn("bill.birth_date_enc", "bill.birth_date")
PARTNER_SECRETS = SealedColumn("partner_key.secret_enc", "partner_key.secret")
#: Every encrypted column of the payment service.
SEALED_COLUMNS: tuple[SealedColumn, ...] = (BIRTH_DATES, PARTNER_SECRETS)

# (ordering key, the key the context is bound to, the ciphertext column) of each sealed column
_COLUMNS: dict[str, tuple[Column[str], Column[str], Column[str]]] = {
    BIRTH_DATES.name: (BILL.c.receipt_number, BILL.c.receipt_number, BILL.c.birth_date_enc),
    PARTNER_SECRETS.name: (PARTNER_KEY.c.key_id, PARTNER_KEY.c.key_id, PARTNER_KEY.c.secret_enc),
}


@dataclass(frozen=True, slots=True)
class SealedValue:
    """One row's key (what the ciphertext's context names) and its ciphertext."""

    key: str
    token: str


def context_of(column: SealedColumn, key: str) -> str:
    """The context a value of ``column`` is sealed under, for the row ``key``."""
    return f"{column.context}:{key}"


async def sealed_values(uow: UnitOfWork, column: SealedColumn, *, after: str | None, limit: int) -> list[SealedValue]:
    """The next ``limit`` values of ``column`` by row key after ``after``."""
    order, key, token = _COLUMNS[column.name]
    stmt = select(key, token).order_by(order).limit(limit)
    if after is not None:
        stmt = stmt.where(order > after)
    conn = await uow.session.connection()
    return [SealedValue(str(r[0]), str(r[1])) for r in await conn.execute(stmt) if r[1] is not None]


async def replace_sealed(uow: UnitOfWork, column: SealedColumn, key: str, old: str, new: str) -> bool:
    """Put the ``new`` ciphertext in place of ``old``, only where the row still holds ``old`` (a value
    rewritten meanwhile is left alone); whether the row was rewritten."""
    _, row_key, token = _COLUMNS[column.name]
    conn = await uow.session.connection()
    result = await conn.execute(update(token.table).where(row_key == key, token == old).values({token.name: new}))
    return bool(result.rowcount)
