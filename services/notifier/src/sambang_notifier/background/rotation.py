"""`make rotate-data-key` (ServiceSpec.rotate_data_key): re-encrypt every encrypted column of the notifier
that is not yet under the cipher's active key, in batches, while the service runs."""

from __future__ import annotations

from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime

from ..stores.sealed import SEALED_COLUMNS, SealedColumn, replace_sealed, sealed_values

log = get_logger(__name__)

BATCH = 500


async def _rotate_batch(
    runtime: ServiceRuntime, sealed: SealedColumn, after: str | None, limit: int
) -> tuple[int, str | None]:
    """One batch in its own transaction: (values rewritten, the last key seen; None when done)."""
    rewritten = 0
    async with runtime.uow() as uow:
        rows = await sealed_values(uow, sealed, after=after, limit=limit)
        for row in rows:
            if uow.cipher.is_current(row.token):
                continue
            context = sealed.context(row.key)
            new: str | bytes = (
                uow.cipher.reencrypt_bytes(row.token, context=context)
                if isinstance(row.token, bytes)
                else uow.cipher.reencrypt(row.token, context=context)
            )
            if await replace_sealed(uow, sealed, row.key, row.token, new):
                rewritten += 1
        await uow.commit()
    return rewritten, (rows[-1].key if len(rows) == limit else None)


async def rotate_data_key(runtime: ServiceRuntime, *, batch: int = BATCH) -> int:
    """Re-encrypt every personal value (recipients' names and contacts, visits' birth dates and arrival
    links, the delivery log's addresses and messages, events held for a registration) still under an older
    key; returns how many were rewritten.

    Each batch commits on its own; a row changed meanwhile keeps its newer value. Safe to run again: values
    under the active key are skipped.
    """
    total = 0
    for sealed in SEALED_COLUMNS:
        after: str | None = None
        while True:
            rewritten, after = await _rotate_batch(runtime, sealed, after, batch)
            total += rewritten
            if after is None:
                break
    log.info("notifier.data_key_rotated", rewritten=total, key_id=runtime.cipher.active_key_id)
    return total
