"""The bill expiry sweeper: unpaid bills past their time expire, once each, whatever the replicas."""

from __future__ import annotations

import asyncio

from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime

from ..context import context_of
from ..usecases.bills import expire_due_bills

log = get_logger(__name__)


async def run_expiry_sweeper(runtime: ServiceRuntime) -> None:
    """Sweep batch by batch until no bill is due, then wait ``sweep_interval_seconds``; runs for the app's life.

    Due means past ``expires_at`` by ``runtime.clock`` (through the unit of work), so a test's
    FakeClock moves bills into expiry without waiting; the pause between rounds is real time.
    """
    async with runtime.uow() as uow:
        settings = context_of(uow).settings
    while True:
        try:
            while True:
                async with runtime.uow() as uow:
                    expired = await expire_due_bills(uow, batch=settings.sweep_batch, now=uow.now())
                    await uow.commit()
                if expired < settings.sweep_batch:
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database hiccup must not end the sweeper
            log.error("bill.sweep_failed", error=type(exc).__name__, detail=str(exc)[:200])
        await asyncio.sleep(settings.sweep_interval_seconds)
