"""`make rotate-data-key` (ServiceSpec.rotate_data_key): re-encrypt every encrypted column of payment
(bills' birth dates, partner keys' webhook secrets) not yet under the cipher's active key, in batches,
while the service runs."""

from __future__ import annotations

from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime

from ..stores.sealed import SEALED_COLUMNS, SealedColumn, context_of, replace_sealed, sealed_values

log = get_logger(__name__)

BATCH = 500


async def _rotate_batch(
    runtime: ServiceRuntime, column: SealedColumn, after: str | None, limit: int
) -> tuple[int, str | None]:
    """One batch in its own transaction: (values rewritten, the last key seen; None when done)."""
    rewritten = 0
    async with runtime.uow() as uow:
        values = await sealed_values(uow, column, after=after, limit=limit)
        for value in values:
            if uow.cipher.is_current(value.token):
                continue
            new = uow.cipher.reencrypt(value.token, context=context_of(column, value.key))
            if await replace_sealed(uow, column, value.key, value.token, new):
                rewritten += 1
        await uow.commit()
    return rewritten, (values[-1].key if len(values) == limit else None)


async def rotate_data_key(runtime: ServiceRuntime, *, batch: int = BATCH) -> int:
    """Re-encrypt every birth date and partner secret still under an older key; returns how many
    values were rewritten.

    Each batch commits on its own; a value changed meanwhile keeps its newer ciphertext. Safe to run
    again: values under the active key are skipped.
    """
    total = 0
    for column in SEALED_COLUMNS:
        after: str | None = None
        while True:
            rewritten, after = await _rotate_batch(runtime, column, after, batch)
            total += rewritten
            if after is None:
                break
    log.info("payment.data_key_rotated", rewritten=total, key_id=runtime.cipher.active_key_id)
    return total
