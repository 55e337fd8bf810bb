"""The replica's stream loops: the recorder of the stream events the shared queue handed over (each in a
transaction of its own), and the follower each open stream connection runs until the client or the
replica goes (the housekeeping closes the hub when the service stops).

A follower replays from the database and follows it: it is woken when this replica commits a stream
event (its own fan-out queue, or the shared queue), and also looks every ``stream_poll_seconds`` in case
another replica recorded one it was not woken for. Numbers are the per-(office, stream) numbers of
``stores.streams``, the same on every replica, so a client that reconnects with ``Last-Event-ID`` to
either replica gets exactly what it missed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Literal

from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime

from ..context import NotifierContext, context_from
from ..domain.streams import StreamRow, replay_needs_reset, stream_wait
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


@dataclass(frozen=True, slots=True)
class Reset:
    """What a reconnecting client missed is gone (pruned), or it named an id the stream never gave: it
    reloads its view; the stream goes on after ``newest``."""

    newest: int


#: Said once the replay point is decided, before any event: the connection is live.
Connected = Literal["connected"]
CONNECTED: Connected = "connected"


async def follow_stream(
    runtime: ServiceRuntime,
    ctx: NotifierContext,
    office: str,
    stream: str,
    resume: int | None,
    who: str,
    *,
    until: dt.datetime | None = None,
) -> AsyncGenerator[StreamRow | Reset | Connected, None]:
    """Replay what a reconnecting client missed, then follow the stream until the client or the replica goes,
    or ``until`` (the end of the token the stream was opened with: a stream outlives no token)."""
    s = ctx.settings
    # Listening before reading: an event committed between the read and the wait still wakes this stream.
    with ctx.hub.listen(office, stream) as listener:
        async with runtime.uow() as uow:
            oldest, newest = await streams.bounds(uow, office, stream)
        if resume is None:
            cursor = newest  # a new client loads its view from the queue service and follows from here
        elif replay_needs_reset(resume, oldest, newest):
            cursor = newest
            yield Reset(newest)
        else:
            cursor = resume
        log.info("stream.opened", office=office, stream=stream, subject=who, resume=resume, cursor=cursor)
        yield CONNECTED
        woken = False  # the first round reads the database: the replay
        ended = False
        try:
            while not listener.closed:
                # Woken by a commit of this replica: the hub has the next events. At a gap (recorded by another
                # replica, or older than the hub keeps) and on every poll: the database.
                rows = ctx.hub.after(office, stream, cursor) if woken else None
                if rows is None:
                    async with runtime.uow() as uow:
                        rows = await streams.since(uow, office, stream, cursor, limit=s.stream_replay_max)
                for row in rows:
                    cursor = row.seq
                    yield row
                if len(rows) >= s.stream_replay_max:
                    woken = False  # more to replay
                    continue
                wait = stream_wait(s.stream_poll_seconds, runtime.clock(), until)
                if wait is None:
                    ended = True  # the token it was opened with has ended: so does the stream
                    break
                woken = await listener.wait(wait)
        finally:
            log.info("stream.closed", office=office, stream=stream, subject=who, cursor=cursor, token_ended=ended)
