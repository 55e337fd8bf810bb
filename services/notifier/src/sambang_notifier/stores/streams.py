"""What the live streams said, numbered per (office, stream) in commit order, for replays after a reconnect.

Every replica receives every stream event (its own fan-out queue), and the shared queue carries it
too, so several transactions may try to record the same event at the same moment. On PostgreSQL a
per-event advisory lock lets the first one record it while the others wait and then find its row;
the unique (stream, event_id) keeps one in any case. Numbers come from a counter row that the
recording writer increments: the row lock makes the writers of one stream take turns, so numbers are
given in commit order, and a reader that has seen number N has seen everything below it. (A database
sequence would hand out numbers in start order: a reader could see 12 committed before 11 and skip 11
for ever.) A writer that finds the event recorded after all gives its number back, so numbers have no
gaps and a replay can tell when events were pruned.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.streams import OFFICERS, PRIORITY_CHECK_IN, StreamItem, StreamRow
from ..models import stream_counter, stream_event

#: One counter per (office, stream).
_COUNTER = ("office", "stream")


@dataclass(frozen=True, slots=True)
class Recorded:
    """A stream event as recorded: by this transaction (``new``) or by another one before it."""

    row: StreamRow
    new: bool


async def _existing(conn: AsyncConnection, stream: str, event_id: str) -> StreamRow | None:
    found = (
        await conn.execute(
            select(stream_event.c.seq, stream_event.c.kind, stream_event.c.payload).where(
                stream_event.c.stream == stream, stream_event.c.event_id == event_id
            )
        )
    ).first()
    return StreamRow(int(found.seq), found.kind, found.payload) if found is not None else None


async def record(
    uow: UnitOfWork, office: str, item: StreamItem, *, event_id: str, receipt: str | None, now: dt.datetime
) -> Recorded:
    """Record an event on a stream once; returns it with its number, whoever recorded it."""
    conn = await uow.session.connection()
    if conn.dialect.name == "postgresql":
        # One writer per event: the replicas (and the shared queue's copy) that get the same event at the same
        # moment wait here for the first to commit, then find its row, instead of all queueing for the stream's
        # counter. The stream log is a replay buffer, not the office's record (the queue service holds that),
        # so its commit need not wait for the disk: most of a tablet alert's latency (bench/notify.py).
        await conn.execute(
            text(
                "SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(hashtextextended(:key, 0))"
            ),
            {"key": f"sambang.stream:{item.stream}:{event_id}"},
        )
    already = await _existing(conn, item.stream, event_id)
    if already is not None:
        return Recorded(already, new=False)  # the common case for the second and third copy: no lock taken
    counter = (stream_counter.c.office == office) & (stream_counter.c.stream == item.stream)
    take = update(stream_counter).where(counter).values(last_seq=stream_counter.c.last_seq + 1)
    seq = (await conn.execute(take.returning(stream_counter.c.last_seq))).scalar_one_or_none()
    if seq is None:  # the stream's first event: create its counter (or find another writer's)
        await upsert(conn, stream_counter, {"office": office, "stream": item.stream, "last_seq": 0}, key=_COUNTER)
        seq = (await conn.execute(take.returning(stream_counter.c.last_seq))).scalar_one()
    payload = json.dumps(item.payload, separators=(",", ":"))
    row = {
        "office": office,
        "stream": item.stream,
        "seq": seq,
        "event_id": event_id,
        "kind": item.kind,
        "payload": payload,
        "receipt_number": receipt,
        "created_at": now,
    }
    inserted = await upsert(conn, stream_event, row, key=["stream", "event_id"], returning=[stream_event.c.seq])
    if inserted.first() is None:
        # Recorded by another transaction that committed while this one waited for the counter: the
        # number goes back, so numbers have no gaps.
        await conn.execute(update(stream_counter).where(counter).values(last_seq=stream_counter.c.last_seq - 1))
        existing = await _existing(conn, item.stream, event_id)
        assert existing is not None
        return Recorded(existing, new=False)
    return Recorded(StreamRow(int(seq), item.kind, payload), new=True)


async def since(uow: UnitOfWork, office: str, stream: str, after: int, *, limit: int) -> list[StreamRow]:
    """Events of a stream numbered above ``after``, in order."""
    conn = await uow.session.connection()
    rows = await conn.execute(
        select(stream_event.c.seq, stream_event.c.kind, stream_event.c.payload)
        .where(stream_event.c.office == office, stream_event.c.stream == stream, stream_event.c.seq > after)
        .order_by(stream_event.c.seq)
        .limit(limit)
    )
    return [StreamRow(int(r.seq), r.kind, r.payload) for r in rows]


async def bounds(uow: UnitOfWork, office: str, stream: str) -> tuple[int | None, int]:
    """The oldest number still kept (None when nothing is) and the newest given (0 before the first)."""
    conn = await uow.session.connection()
    newest = (
        await conn.execute(
            select(stream_counter.c.last_seq).where(
                stream_counter.c.office == office, stream_counter.c.stream == stream
            )
        )
    ).scalar_one_or_none()
    oldest = (
        await conn.execute(
            select(func.min(stream_event.c.seq)).where(stream_event.c.office == office, stream_event.c.stream == stream)
        )
    ).scalar_one_or_none()
    return (int(oldest) if oldest is not None else None), int(newest or 0)


async def forget_older_than(uow: UnitOfWork, before: dt.datetime) -> int:
    """Drop stream events no reconnecting client will be given any more; returns how many."""
    conn = await uow.session.connection()
    result = await conn.execute(
        delete(stream_event).where(stream_event.c.created_at < before).returning(stream_event.c.seq)
    )
    return len(result.all())


async def seat_of(uow: UnitOfWork, office: str, receipt: str, ticket: str) -> str | None:
    """The priority seat a ticket was given at check-in, from the officers' stream (None without one)."""
    conn = await uow.session.connection()
    row = (
        await conn.execute(
            select(stream_event.c.payload)
            .where(
                stream_event.c.office == office,
                stream_event.c.receipt_number == receipt,
                stream_event.c.stream == OFFICERS,
                stream_event.c.kind == PRIORITY_CHECK_IN,
            )
            .order_by(stream_event.c.seq.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    payload = json.loads(row.payload)
    seat = payload.get("seat")
    return str(seat) if payload.get("ticket") == ticket and seat else None
