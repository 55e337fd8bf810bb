"""Retention: biometrics are deleted the office's number of days after the passport was issued.

UU 27/2022 (personal data protection): no longer than the purpose needs. The hashes, sizes and
quality stay, and so does the audit trail, so what was captured can still be proven afterwards.
"""

from __future__ import annotations

import asyncio

from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime

from ..context import CaptureContext, context_of
from ..stores import applications, audit, items

log = get_logger(__name__)

#: Who the audit trail names for deletions nobody asked for.
RETENTION_ACTOR = "system:retention"


async def purge_due_biometrics(runtime: ServiceRuntime) -> int:
    """Delete one batch of due biometrics (the service clock decides what is due); returns the applications done."""
    async with runtime.uow() as uow:
        ctx = context_of(uow)
        now = uow.now()
        due = await applications.due_for_purge(uow, now, ctx.settings.purge_batch)
        if not due:
            return 0
        receipts = [receipt for receipt, _ in due]
        deleted = await items.purge(uow, receipts, now)
        await applications.mark_purged(uow, receipts, now)
        for receipt, office in due:
            await audit.record(
                uow, officer=RETENTION_ACTOR, office=office, action="biometrics.purged", receipt_number=receipt, at=now
            )
        await uow.commit()
    log.info("capture.biometrics_purged", applications=len(due), items=deleted)
    return len(due)


async def run_retention(runtime: ServiceRuntime) -> None:
    """Purge what is due, batch after batch, every ``purge_interval_seconds``, for as long as the service runs."""
    ctx = runtime.spec.context
    if not isinstance(ctx, CaptureContext):
        raise RuntimeError("the retention loop runs in a capture app only")
    settings = ctx.settings
    while True:
        try:
            while await purge_due_biometrics(runtime) >= settings.purge_batch:
                pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database hiccup must not end the loop
            log.error("capture.purge_failed", error=type(exc).__name__)
        await asyncio.sleep(settings.purge_interval_seconds)
