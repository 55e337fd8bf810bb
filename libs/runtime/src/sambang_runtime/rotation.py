"""Re-encrypting a service's sealed columns under the active data key (``make rotate-data-key``).

A service lists its encrypted columns (``SealedColumn``: table, key, column, the cipher context of a
row's value) and its ``ServiceSpec.rotate_data_key`` calls ``rotate_sealed`` with them. Each column is
walked by key in batches, each batch in its own transaction, while the service runs: a value already
under the active key is skipped, an older one is decrypted and encrypted again under the same context,
and it is written back only where the row still holds the old ciphertext (a value the service wrote or
dropped meanwhile is left as it is). Safe to run again; it returns how many values were rewritten.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, select, update

from .logs import get_logger

if TYPE_CHECKING:
    from .service import ServiceRuntime

log = get_logger(__name__)

#: Values per transaction.
BATCH = 500


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """An encrypted column: its table, the table's key, the column, and the cipher context of the value
    of the row with a given key; ``binary`` for ``encrypt_bytes`` envelopes rather than text tokens."""

    table: Table
    key: str
    column: str
    context: Callable[[str], str]
    binary: bool = False


def field_context(table: str, field: str) -> Callable[[str], str]:
    """The usual context, ``<table>.<field>:<key>`` (what the stores encrypt personal fields under)."""
    return lambda key: f"{table}.{field}:{key}"


async def _rotate_batch(runtime: ServiceRuntime, sealed: SealedColumn, after: Any, limit: int) -> tuple[int, Any]:
    """One batch in its own transaction: (values rewritten, the last key seen; None when done)."""
    t = sealed.table
    key, column = t.c[sealed.key], t.c[sealed.column]
    rewritten = 0
    async with runtime.uow() as uow:
        conn = await uow.session.connection()
        stmt = select(key, column).where(column.is_not(None)).order_by(key).limit(limit)
        if after is not None:
            stmt = stmt.where(key > after)
        rows = (await conn.execute(stmt)).all()
        for row_key, stored in rows:
            token: str | bytes = bytes(stored) if sealed.binary else str(stored)
            if uow.cipher.is_current(token):
                continue
            context = sealed.context(str(row_key))
            new: str | bytes = (
                uow.cipher.reencrypt_bytes(token, context=context)
                if isinstance(token, bytes)
                else uow.cipher.reencrypt(token, context=context)
            )
            result = await conn.execute(update(t).where(key == row_key, column == stored).values({sealed.column: new}))
            rewritten += result.rowcount
        await uow.commit()
    return rewritten, (rows[-1][0] if len(rows) == limit else None)


async def rotate_sealed(runtime: ServiceRuntime, columns: Sequence[SealedColumn], *, batch: int = BATCH) -> int:
    """Re-encrypt every value of ``columns`` still under an older key; how many were rewritten."""
    total = 0
    for sealed in columns:
        after: Any = None
        while True:
            rewritten, after = await _rotate_batch(runtime, sealed, after, batch)
            total += rewritten
            if after is None:
                break
    log.info(
        "service.data_key_rotated", service=runtime.spec.name, rewritten=total, key_id=runtime.cipher.active_key_id
    )
    return total
