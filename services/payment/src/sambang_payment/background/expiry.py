"""The bill expiry sweeper: unpaid bills past their time expire, once each, whatever the replicas.

After every round the sweeper counts the unpaid bills still past their time (``sambang_bills_expiry_backlog``,
0 when it keeps up) and stamps the round (``sambang_bills_expiry_last_sweep_timestamp_seconds``): a backlog
that stays above 0 means the sweeps fail, a stamp that stops moving means the sweeper stopped.
"""

from __future__ import annotations

import asyncio

from prometheus_client import Gauge
from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import func, select

from ..context import context_of
from ..domain.bills import BillStatus
from ..models import BILL
from ..usecases.bills import expire_due_bills

log = get_logger(__name__)

EXPIRY_BACKLOG = Gauge(
    "sambang_bills_expiry_backlog", "Unpaid bills past their expiry that the last sweep round left unexpired"
)
EXPIRY_LAST_SWEEP = Gauge(
    "sambang_bills_expiry_last_sweep_timestamp_seconds", "When this replica's sweeper last finished a round (Unix time)"
)


async def count_expiry_backlog(uow: UnitOfWork) -> int:
    """Unpaid bills past their expiry now (served by the index on status and expiry).

    The one count of the sweeper; it sits here rather than in ``stores/bills.py`` only because the
    metric's change was confined to this module.
    """
    conn = await uow.session.connection()
    due = select(func.count()).where(BILL.c.status == BillStatus.UNPAID.value, BILL.c.expires_at < uow.now())
    return int((await conn.execute(due)).scalar_one())


async def measure_expiry_backlog(runtime: ServiceRuntime) -> int:
    """Count the backlog and export it; returns the count."""
    async with runtime.uow() as uow:
        backlog = await count_expiry_backlog(uow)
    EXPIRY_BACKLOG.set(backlog)
    return backlog


async def run_expiry_sweeper(runtime: ServiceRuntime) -> None:
    """Sweep batch by batch until no bill is due, then wait ``sweep_interval_seconds``; runs for the app's life.

    Due means past ``expires_at`` by ``runtime.clock`` (through the unit of work), so a test's
    FakeClock moves bills into expiry without waiting; the pause between rounds is real time.
    """
    async with runtime.uow() as uow:
        settings = context_of(uow).settings
    while True:
        swept = False
        try:
            while True:
                async with runtime.uow() as uow:
                    expired = await expire_due_bills(uow, batch=settings.sweep_batch, now=uow.now())
                    await uow.commit()
                if expired < settings.sweep_batch:
                    break
            swept = True
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database hiccup must not end the sweeper
            log.error("bill.sweep_failed", error=type(exc).__name__, detail=str(exc)[:200])
        try:
            # Counted after a failed round too: the backlog a failing sweeper leaves is what the alert watches.
            await measure_expiry_backlog(runtime)
            if swept:
                EXPIRY_LAST_SWEEP.set_to_current_time()  # wall time: Prometheus compares it with time()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("bill.backlog_unmeasured", error=type(exc).__name__)
        await asyncio.sleep(settings.sweep_interval_seconds)
