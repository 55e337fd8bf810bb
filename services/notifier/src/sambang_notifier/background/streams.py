"""The stream recorder: stream events the shared queue handed over, recorded in a transaction of their own."""

from __future__ import annotations

import asyncio

from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime

from ..context import context_from
from ..stores import streams

log = get_logger(__name__)


async def run_stream_recorder(runtime: ServiceRuntime) -> None:
    """Record the stream events the shared queue handed over (usually a replica's queue has already)."""
    ctx = context_from(runtime.spec.context)
    while True:
        pending = await ctx.stream_backlog.get()
        if ctx.hub.knows(pending.event_id):
            continue  # this replica's own queue had it recorded meanwhile
        try:
            async with runtime.uow() as uow:
                recorded = await streams.record(
                    uow,
                    pending.office,
                    pending.item,
                    event_id=pending.event_id,
                    receipt=pending.receipt,
                    now=runtime.clock(),
                )
                await uow.commit()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a backup path: the replicas' own queues normally recorded it already
            log.error("stream.record_failed", event_id=pending.event_id, error=type(exc).__name__)
            continue
        if recorded.new:
            log.info("stream.recorded_from_shared_queue", event_id=pending.event_id, office=pending.office)
        ctx.hub.committed(pending.office, pending.item.stream, recorded.row, pending.event_id)
