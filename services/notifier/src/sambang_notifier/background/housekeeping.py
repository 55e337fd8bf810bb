"""The housekeeping: interrupted sends failed after their lease, old stream events, held events and visits
forgotten; and the end of every open stream when the replica stops."""

from __future__ import annotations

import asyncio
import datetime as dt

from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime

from ..context import NotifierContext, context_from
from ..stores import appointments, deferred, streams, tickets
from ..usecases.delivery import fail_interrupted_sends

log = get_logger(__name__)


async def housekeeping_round(runtime: ServiceRuntime, ctx: NotifierContext) -> None:
    """Record interrupted sends as failed, forget old stream events, used stream tickets that expired, held
    events never claimed and past visits."""
    s = ctx.settings
    now = runtime.clock()
    async with runtime.uow() as uow:
        for settled in await fail_interrupted_sends(uow, now=now, lease=dt.timedelta(seconds=s.sending_lease_seconds)):
            log.error("notification.interrupted", notification_id=settled.id, receipt_number=settled.receipt_number)
        pruned = await streams.forget_older_than(uow, now - dt.timedelta(hours=s.stream_retention_hours))
        await tickets.forget_expired(uow, now - dt.timedelta(minutes=5))
        dropped = await deferred.forget_older_than(uow, now - dt.timedelta(days=s.deferred_days))
        # A visit is over once its day is (whatever the office's zone, a day later): nothing left to remind.
        await appointments.forget_older_than(
            uow,
            visit_before=(now - dt.timedelta(days=s.appointment_retention_days + 1)).date(),
            updated_before=now - dt.timedelta(days=s.deferred_days),
        )
        await uow.commit()
    if dropped:
        log.warning("notification.held_events_dropped_without_registration", count=dropped)
    if pruned:
        log.info("stream.events_pruned", count=pruned)


async def run_housekeeping(runtime: ServiceRuntime) -> None:
    """Housekeeping every ``housekeeping_seconds``; when the service stops, every open stream ends."""
    ctx = context_from(runtime.spec.context)
    ctx.hub.open()
    try:
        while True:
            try:
                await housekeeping_round(runtime, ctx)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("housekeeping.round_failed", error=type(exc).__name__, detail=str(exc)[:200])
            await asyncio.sleep(ctx.settings.housekeeping_seconds)
    finally:
        ctx.hub.close()
