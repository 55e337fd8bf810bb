"""`make rotate-data-key` (ServiceSpec.rotate_data_key): re-encrypt every encrypted column of the queue
that is not yet under the cipher's active key, in batches, while the service runs."""

from __future__ import annotations

from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime

from ..stores.sealed import SEALED_TABLES, SealedTable, replace_sealed, sealed_rows

log = get_logger(__name__)

BATCH = 500


async def _rotate_batch(
    runtime: ServiceRuntime, table: SealedTable, after: str | None, limit: int
) -> tuple[int, str | None]:
    """One batch in its own transaction: (values rewritten, the last key seen; None when done)."""
    rewritten = 0
    async with runtime.uow() as uow:
        rows = await sealed_rows(uow, table, after=after, limit=limit)
        for row in rows:
            old = {c: v for c, v in row.tokens.items() if not uow.cipher.is_current(v)}
            if not old:
                continue
            new = {
                c: uow.cipher.reencrypt(v, context=f"{table.name}.{c.removesuffix('_enc')}:{row.key}")
                for c, v in old.items()
            }
            if await replace_sealed(uow, table, row.key, old, new):
                rewritten += len(new)
        await uow.commit()
    return rewritten, (rows[-1].key if len(rows) == limit else None)


async def rotate_data_key(runtime: ServiceRuntime, *, batch: int = BATCH) -> int:
    """Re-encrypt every personal value (applications' NIK, name, birth date, e-mail, phone, passport
    number; pickups' proxy name and NIK) still under an older key; returns how many were rewritten.

    Each batch commits on its own; a row changed meanwhile keeps its newer value (already under the
    active key). Safe to run again: values under the active key are skipped.
    """
    total = 0
    for table in SEALED_TABLES:
        after: str | None = None
        while True:
            rewritten, after = await _rotate_batch(runtime, table, after, batch)
            total += rewritten
            if after is None:
                break
    log.info("queue.data_key_rotated", rewritten=total, key_id=runtime.cipher.active_key_id)
    return total
