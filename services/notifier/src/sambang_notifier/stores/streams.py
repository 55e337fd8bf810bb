"""What the live streams said, numbered per (office, stream) in commit order, for replays after a reconnect.

Every replica receives every stream event (its own fan-out queue) and the shared queue carries it too,
so up to three transactions try to record the same event: the unique (stream, event_id) keeps one.
Numbers come from a counter row that each writer increments first: the row lock makes the writers of
one stream take turns, so numbers are given in commit order and a reader that has seen number N has
seen everything below it. (A database sequence would hand out numbers in start order: a reader could
see 12 committed before 11 and skip 11 for ever.) A writer that finds the event already recorded gives
its number back, so the numbers have no gaps and a replay can tell when events were pruned.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sambang_runtime.uow import UnitOfWork
from sqlalchemy import delete, func, select, update

from ..domain.streams import StreamItem
from ..models import priority_seat, stream_counter, stream_event
from .dialect import upsert


@dataclass(frozen=True, slots=True)
class StreamRow:
    """One recorded stream event."""

    seq: int
    kind: str
    payload: str


async def record(uow: UnitOfWork, office: str, item: StreamItem, *, event_id: str, now: dt.datetime) -> int | None:
    """Record an event on a stream once; returns its number, or None when it was recorded already."""
    conn = await uow.session.connection()
    seen = select(stream_event.c.seq).where(stream_event.c.stream == item.stream, stream_event.c.event_id == event_id)
    if (await conn.execute(seen)).first() is not None:
        return None  # the common case for the second and third copy: no lock taken
    await conn.execute(
        upsert(uow, stream_counter)
        .values(office=office, stream=item.stream, last_seq=0)
        .on_conflict_do_nothing(index_elements=["office", "stream"])
    )
    counter = (stream_counter.c.office == office) & (stream_counter.c.stream == item.stream)
    seq = (
        await conn.execute(
            update(stream_counter)
            .where(counter)
            .values(last_seq=stream_counter.c.last_seq + 1)
            .returning(stream_counter.c.last_seq)
        )
    ).scalar_one()
    inserted = await conn.execute(
        upsert(uow, stream_event)
        .values(
            office=office,
            stream=item.stream,
            seq=seq,
            event_id=event_id,
            kind=item.kind,
            payload=json.dumps(item.payload, separators=(",", ":")),
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["stream", "event_id"])
        .returning(stream_event.c.seq)
    )
    if inserted.first() is None:
        # Recorded by another transaction that committed while this one waited for the counter.
        await conn.execute(update(stream_counter).where(counter).values(last_seq=stream_counter.c.last_seq - 1))
        return None
    return int(seq)


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


async def remember_seat(uow: UnitOfWork, receipt: str, *, ticket: str, seat: str, now: dt.datetime) -> None:
    """Keep the priority seat of a checked-in ticket (for the display board when it is called)."""
    stmt = upsert(uow, priority_seat).values(receipt_number=receipt, ticket=ticket, seat=seat, recorded_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=["receipt_number"],
        set_={"ticket": stmt.excluded.ticket, "seat": stmt.excluded.seat, "recorded_at": stmt.excluded.recorded_at},
    )
    conn = await uow.session.connection()
    await conn.execute(stmt)


async def seat_of(uow: UnitOfWork, receipt: str, ticket: str) -> str | None:
    """The priority seat of a ticket, if it has one."""
    conn = await uow.session.connection()
    row = (
        await conn.execute(
            select(priority_seat.c.seat).where(
                priority_seat.c.receipt_number == receipt, priority_seat.c.ticket == ticket
            )
        )
    ).first()
    return row.seat if row is not None else None
