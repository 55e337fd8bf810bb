"""``make rotate-data-key`` for capture: everything encrypted comes under the active PII key, in batches.

- every encrypted text column (birth dates, notes, details): re-encrypted;
- every application's data key (``biometric_key``): re-wrapped. The images themselves are NOT rewritten:
  they are sealed with their application's data key, which does not change when the key above it does.
  That is the point of envelope encryption: rotating the PII key costs 32 bytes per application, not
  megabytes of photos and fingerprints;
- images written before data keys existed (sealed under a PII key directly): moved under their
  application's data key once, so the purge can crypto-shred them too.

Each batch is one short transaction, so the service keeps running while this runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime
from sambang_runtime.uow import UnitOfWork

from ..context import CaptureContext
from ..stores import items, keys, rotation

log = get_logger(__name__)

Step = Callable[[UnitOfWork, int], Awaitable[int]]


def _column_step(target: rotation.EncryptedColumn) -> Step:
    async def step(uow: UnitOfWork, limit: int) -> int:
        return await rotation.reencrypt_batch(uow, target, limit)

    step.__name__ = target.name
    return step


def _steps() -> list[tuple[str, Step]]:
    columns = [(c.name, _column_step(c)) for c in rotation.ENCRYPTED_COLUMNS]
    return [
        *columns,
        ("biometric_key.wrapped_dek", keys.rewrap_batch),
        ("biometric_item.legacy", items.seal_legacy_batch),
    ]


async def rotate_data_key(runtime: ServiceRuntime) -> int:
    """Re-encrypt what is not under ``cipher.active_key_id``; how many values were rewritten."""
    ctx = runtime.spec.context
    batch = ctx.settings.rotation_batch if isinstance(ctx, CaptureContext) else 200
    total = 0
    for name, step in _steps():
        done = 0
        while True:
            async with runtime.uow() as uow:
                n = await step(uow, batch)
                if n:
                    await uow.commit()
            done += n
            if n < batch:
                break
        if done:
            log.info("capture.data_key_rotated", what=name, values=done)
        total += done
    return total
