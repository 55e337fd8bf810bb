"""The transactional outbox and inbox tables, and the relay that publishes the outbox.

A state change and the events it causes are written in one transaction (``outbox_message``).
The relay reads committed rows, publishes them with publisher confirms in batches and deletes
what the broker confirmed. Two relays may run: rows are taken with ``FOR UPDATE SKIP LOCKED``
on PostgreSQL. A crash between commit and publish leaves the rows for the next round; a crash
after publish and before delete republishes, and the consumers' inbox drops the copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sambang_contracts import CloudEvent, dump_event
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from .bus.transport import OutgoingMessage, PublishOutcome, Transport, TransportUnavailable
from .crypto import PiiCipher
from .db import is_postgres
from .logs import get_logger
from .metrics import EVENTS_PUBLISHED, EVENTS_UNROUTABLE, OUTBOX_LAG, OUTBOX_PENDING
from .sealing import seal_body

log = get_logger(__name__)


@dataclass(frozen=True)
class BusTables:
    """The outbox and inbox tables of one service's metadata."""

    outbox: Table
    inbox: Table


def define_bus_tables(metadata: MetaData) -> BusTables:
    """Add ``outbox_message`` and ``inbox_message`` to a service's metadata."""
    outbox = Table(
        "outbox_message",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(100), nullable=False),
        Column("subject", String(64)),
        Column("office", String(8)),
        Column("body", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("last_error", Text),
        # Set when the broker returned the event as unroutable: kept, counted and logged, not resent.
        Column("unroutable_at", DateTime(timezone=True)),
    )
    Index(
        "ix_outbox_message_pending",
        outbox.c.id,
        postgresql_where=outbox.c.unroutable_at.is_(None),
        sqlite_where=outbox.c.unroutable_at.is_(None),
    )
    inbox = Table(
        "inbox_message",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False),
    )
    return BusTables(outbox, inbox)


def outbox_row(event: CloudEvent[Any], now: datetime, cipher: PiiCipher | None = None) -> dict[str, Any]:
    """The ``outbox_message`` row of one event (for the unit of work and for hand-written statements);
    with the service's ``cipher``, personal fields are sealed in the row and so on the bus (sealing.py)."""
    body = dump_event(event)
    if cipher is not None:
        body = seal_body(body, event.id, event.type, cipher)
    return {
        "event_id": event.id,
        "event_type": event.type,
        "subject": event.subject,
        "office": event.office,
        "body": body,
        "created_at": now,
        "attempts": 0,
    }


class OutboxRelay:
    """Publishes committed outbox rows; woken in-process on every commit, and by polling.

    No LISTEN/NOTIFY: a notifying trigger takes a cluster-wide lock at every commit (measured in
    bench/booking.py: a quarter fewer bookings a second). Every process that writes the outbox runs
    a relay woken in-process; polling (``poll_seconds``) covers rows another process left.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        tables: BusTables,
        transport: Transport,
        *,
        service: str,
        batch_max: int = 500,
        poll_seconds: float = 1.0,
        max_backoff: float = 10.0,
        unroutable_retry_seconds: float = 60.0,
        unroutable_max_attempts: int = 60,
        concurrency: int = 1,
        linger_seconds: float = 0.003,
        linger_max_seconds: float = 0.02,
    ) -> None:
        self.engine = engine
        self.tables = tables
        self.outbox = tables.outbox
        self._thread_factories: tuple[Callable[[], AsyncEngine], Callable[[], Transport]] | None = None
        self._thread: threading.Thread | None = None
        self._inner: OutboxRelay | None = None
        self._inner_loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._last_error: str | None = None
        self.transport = transport
        self.service = service
        self.batch_max = batch_max
        self.poll_seconds = poll_seconds
        self.max_backoff = max_backoff
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._postgres = is_postgres(engine.url)
        self.concurrency = concurrency if self._postgres else 1
        self._rounds: set[asyncio.Task[None]] = set()
        self.linger_seconds = linger_seconds
        self.linger_max_seconds = max(linger_seconds, linger_max_seconds)
        self._last_round_rows = 0
        self._signalled = False
        self._backoff = 0.05
        self._paused_until = 0.0
        # Unroutable events are offered again for a while: a consumer that starts later (its queue
        # not declared yet) still gets them; after that they stay flagged for an operator.
        self.unroutable_retry_seconds = unroutable_retry_seconds
        self.unroutable_max_attempts = unroutable_max_attempts
        self._next_unroutable_retry = time.monotonic() + unroutable_retry_seconds

    def run_in_thread(self, make_engine: Callable[[], AsyncEngine], make_transport: Callable[[], Transport]) -> None:
        """Make ``start()`` run the relay on a thread with its own event loop, engine and connection.

        On the service's loop every broker frame costs a loop turn, and a loop busy with HTTP
        requests (tens of milliseconds a turn) stretched a 440-event batch's confirms to 13 s. On its
        own loop the relay's latency no longer depends on the request load.
        """
        self._thread_factories = (make_engine, make_transport)

    def wake(self) -> None:
        """Ask for a round now (called after a commit in this process; thread-safe)."""
        inner, loop = self._inner, self._inner_loop
        if inner is not None and loop is not None and not loop.is_closed():
            # One cross-thread signal per round, not per commit: waking another thread's loop
            # costs a pipe write and a GIL hand-over, and a booking rush commits hundreds a second.
            if not inner._signalled:
                inner._signalled = True
                loop.call_soon_threadsafe(inner.wake)
            return
        self._wake.set()

    def running(self) -> bool:
        """Whether the relay loop is alive (on this loop or on its own thread)."""
        if self._thread is not None:
            return self._thread.is_alive() and self._inner is not None and self._inner.running()
        return self._task is not None and not self._task.done()

    @property
    def last_error(self) -> str | None:
        """Why the last round failed, if it did for a reason other than the broker."""
        return self._inner.last_error if self._inner is not None else self._last_error

    @last_error.setter
    def last_error(self, value: str | None) -> None:
        self._last_error = value

    async def start(self) -> None:
        """Start the relay loop (and the LISTEN connection on PostgreSQL)."""
        if self._thread_factories is not None:
            if self._thread is None:
                ready = threading.Event()
                self._thread = threading.Thread(
                    target=self._thread_main, args=(ready,), name=f"outbox-relay:{self.service}", daemon=True
                )
                self._thread.start()
                await asyncio.to_thread(ready.wait, 30)
            return
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"outbox-relay:{self.service}")

    def _thread_main(self, ready: threading.Event) -> None:
        try:
            import uvloop

            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        except ImportError:  # pragma: no cover
            loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._threaded(ready))
        finally:
            loop.close()

    async def _threaded(self, ready: threading.Event) -> None:
        assert self._thread_factories is not None
        make_engine, make_transport = self._thread_factories
        engine, transport = make_engine(), make_transport()
        try:
            await transport.start()
            inner = OutboxRelay(
                engine,
                self.tables,
                transport,
                service=self.service,
                batch_max=self.batch_max,
                poll_seconds=self.poll_seconds,
                max_backoff=self.max_backoff,
                unroutable_retry_seconds=self.unroutable_retry_seconds,
                unroutable_max_attempts=self.unroutable_max_attempts,
                concurrency=self.concurrency,
                linger_seconds=self.linger_seconds,
                linger_max_seconds=self.linger_max_seconds,
            )
            self._stopping = asyncio.Event()
            self._inner_loop = asyncio.get_running_loop()
            self._inner = inner
            await inner.start()
            ready.set()
            await self._stopping.wait()
            await inner.stop()
        finally:
            ready.set()
            await transport.close()
            await engine.dispose()

    async def stop(self) -> None:
        """Stop the loop; unpublished rows stay for the next start."""
        if self._thread is not None:
            loop, stopping = self._inner_loop, self._stopping
            if loop is not None and stopping is not None and not loop.is_closed():
                loop.call_soon_threadsafe(stopping.set)
            await asyncio.to_thread(self._thread.join, 30)
            self._thread = None
            self._inner = None
            self._inner_loop = None
        tasks = [t for t in (self._task, *self._rounds) if t is not None]
        # An unfinished round rolls back: its rows stay in the outbox. Cancel until really done,
        # because a driver call can absorb one cancellation.
        while any(not t.done() for t in tasks):
            for t in tasks:
                t.cancel()
            await asyncio.wait(tasks, timeout=0.2)
        self._task = None
        self._rounds.clear()

    async def _run(self) -> None:
        """Start a round whenever woken, keeping up to ``concurrency`` rounds in flight.

        A round waits for the broker's confirms (a quorum queue confirms after its log is
        synced, several milliseconds); rows committed meanwhile are taken by the next round at
        once instead of waiting for that one to finish. Rounds never take the same rows
        (``SKIP LOCKED``), so on PostgreSQL they pipeline; on SQLite one round at a time.
        """
        slots = asyncio.Semaphore(self.concurrency)
        while True:
            pause = self._paused_until - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            await slots.acquire()
            if linger := self.linger():
                await asyncio.sleep(linger)
            self._wake.clear()
            self._signalled = False
            round_task = asyncio.create_task(self._round(slots))
            self._rounds.add(round_task)
            round_task.add_done_callback(self._rounds.discard)
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # lands as the wait completes, and stop() would then wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()

    def linger(self) -> float:
        """How long a woken relay waits for more commits to share its round (a transaction, a confirm wait).

        ``linger_seconds`` per event of the last round, at most ``linger_max_seconds``: at a trickle
        (rounds of one) an event waits 3 ms; in a rush rounds grow, the wait grows to its cap, and
        one round carries many events (measured in bench/booking.py: a third less relay CPU a booking).
        """
        return min(self.linger_max_seconds, self.linger_seconds * max(1, self._last_round_rows))

    async def _round(self, slots: asyncio.Semaphore) -> None:
        try:
            if time.monotonic() >= self._next_unroutable_retry:
                self._next_unroutable_retry = time.monotonic() + self.unroutable_retry_seconds
                await self.reoffer_unroutable()
            published = await self.publish_pending()
            self._last_round_rows = published
            self._backoff = 0.05
            self.last_error = None
            if published >= self.batch_max:
                self._wake.set()  # more may be waiting: go on at once
        except TransportUnavailable as exc:
            log.warning("outbox.broker_unavailable", error=str(exc), retry_in=self._backoff)
            self._pause()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # database hiccup: keep the relay alive
            self.last_error = type(exc).__name__
            log.error("outbox.relay_error", error=type(exc).__name__, detail=str(exc)[:200])
            self._pause()
        finally:
            slots.release()

    def _pause(self) -> None:
        """Back off (exponentially, capped) before the next round, then wake to try again."""
        self._paused_until = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self.max_backoff)
        self._wake.set()

    async def reoffer_unroutable(self) -> int:
        """Make flagged unroutable rows (with attempts left) pending again; returns how many."""
        o = self.outbox
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(o)
                .where(o.c.unroutable_at.is_not(None), o.c.attempts < self.unroutable_max_attempts)
                .values(unroutable_at=None)
            )
        return int(result.rowcount or 0)

    async def publish_pending(self) -> int:
        """One round: take a batch, publish it, keep what the broker confirmed gone. Returns rows handled.

        The batch is removed with one ``DELETE … RETURNING`` inside a transaction that stays open
        while the broker confirms: if publishing fails the transaction rolls back and the rows are
        back, so nothing is lost; one statement instead of select-then-delete saves a round trip.
        """
        o = self.outbox
        pick = select(o.c.id).where(o.c.unroutable_at.is_(None)).order_by(o.c.id).limit(self.batch_max)
        if self._postgres:
            pick = pick.with_for_update(skip_locked=True)  # two relays never take the same rows
        take = (
            delete(o)
            .where(o.c.id.in_(pick.scalar_subquery()))
            .returning(
                o.c.id, o.c.event_id, o.c.event_type, o.c.subject, o.c.office, o.c.body, o.c.created_at, o.c.attempts
            )
        )
        failed: tuple[list[int], str] | None = None
        async with self.engine.begin() as conn:
            rows = sorted((await conn.execute(take)).all(), key=lambda r: r.id)
            if not rows:
                OUTBOX_LAG.labels(self.service).set(0)
                OUTBOX_PENDING.labels(self.service).set(0)
                return 0
            oldest = rows[0].created_at
            if oldest.tzinfo is None:  # SQLite returns naive datetimes
                oldest = oldest.replace(tzinfo=UTC)
            OUTBOX_LAG.labels(self.service).set(max(0.0, (datetime.now(UTC) - oldest).total_seconds()))
            OUTBOX_PENDING.labels(self.service).set(len(rows))
            messages = [OutgoingMessage(r.event_id, r.event_type, r.body, r.subject, r.office) for r in rows]
            try:
                outcomes = await self.transport.publish_batch(messages)
            except TransportUnavailable as exc:
                failed = ([r.id for r in rows], str(exc)[:500])
                await conn.rollback()
            else:
                # Confirmed rows stay deleted. Unroutable ones are kept, flagged (nobody was bound to
                # their type when sent); unconfirmed ones go back as pending, to be published again.
                now = datetime.now(UTC)
                kept = [
                    {
                        "id": r.id,
                        "event_id": r.event_id,
                        "event_type": r.event_type,
                        "subject": r.subject,
                        "office": r.office,
                        "body": r.body,
                        "created_at": r.created_at,
                        "attempts": r.attempts + 1,
                        "last_error": "unroutable: no queue bound"
                        if out is PublishOutcome.UNROUTABLE
                        else "not confirmed by the broker",
                        "unroutable_at": now if out is PublishOutcome.UNROUTABLE else None,
                    }
                    for r, out in zip(rows, outcomes, strict=True)
                    if out is not PublishOutcome.CONFIRMED
                ]
                if kept:
                    await conn.execute(insert(o), kept)
        if failed is not None:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(o).where(o.c.id.in_(failed[0])).values(attempts=o.c.attempts + 1, last_error=failed[1])
                )
            raise TransportUnavailable(failed[1])
        for r, out in zip(rows, outcomes, strict=True):
            if out is PublishOutcome.CONFIRMED:
                EVENTS_PUBLISHED.labels(self.service, r.event_type).inc()
            elif out is PublishOutcome.UNROUTABLE:
                EVENTS_UNROUTABLE.labels(self.service, r.event_type).inc()
                log.warning("outbox.event_unroutable", event_id=r.event_id, event_type=r.event_type)
        return len(rows)
