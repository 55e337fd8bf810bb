"""The retention loop: biometrics whose retention ended (after any final outcome) are crypto-shredded.

Each round deletes one batch in its own unit of work (``usecases.retention.purge_due_biometrics``):
the data keys and the bytes go, the hashes and the audit trail stay. Two replicas take different
applications (rows locked, skip locked).
"""

from __future__ import annotations

import asyncio

from prometheus_client import Counter
from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime

from ..context import CaptureContext
from ..usecases.retention import purge_due_biometrics as purge_batch

log = get_logger(__name__)

#: Beside the daily purge report (GET /v1/captures/purge-report): what the loop deleted, for alerting.
PURGED = Counter("sambang_capture_biometrics_purged_total", "Applications whose biometrics were crypto-shredded")


async def purge_due_biometrics(runtime: ServiceRuntime) -> int:
    """Delete one batch of due biometrics (the service clock decides what is due); returns the applications
    the batch closed (with or without images)."""
    ctx = runtime.spec.context
    if not isinstance(ctx, CaptureContext):
        raise RuntimeError("the retention loop runs in a capture app only")
    async with runtime.uow() as uow:
        closed, done = await purge_batch(uow, ctx.settings.purge_batch)
        if not closed:
            return 0
        await uow.commit()
    if done.applications:
        PURGED.inc(done.applications)
        log.info("capture.biometrics_purged", applications=done.applications, items=done.images)
    return closed


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
