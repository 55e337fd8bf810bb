"""The unit of work: one transaction holding a state change and the events it causes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from types import TracebackType
from typing import Any

from sambang_contracts import CloudEvent, EventData, new_event
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from .crypto import PiiCipher
from .entropy import uuid4
from .errors import Clock, system_clock
from .logs import get_logger
from .outbox import BusTables, outbox_row

log = get_logger(__name__)


class UnitOfWork:
    """Rolls back unless ``commit()`` is called; events emitted go into the outbox in the same commit."""

    def __init__(self, factory: UnitOfWorkFactory, correlation_id: str | None = None) -> None:
        self._factory = factory
        self._session: AsyncSession | None = None
        self.correlation_id = correlation_id
        self.events: list[CloudEvent[Any]] = []
        self._committed = False
        self._after_commit: list[Callable[[], None]] = []

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is None:
            return  # nothing was touched
        try:
            if not self._committed:
                await self._session.rollback()
        finally:
            await self._session.close()

    @property
    def session(self) -> AsyncSession:
        """The transaction's session, opened on first use (a request that never touches it costs nothing)."""
        if self._session is None:
            self._session = self._factory.sessionmaker()
        return self._session

    @property
    def clock(self) -> Clock:
        """The service's clock: a test's FakeClock, else the wall clock (UTC)."""
        return self._factory.clock

    def now(self) -> dt.datetime:
        """The current instant in UTC, from the service's clock (never ``datetime.now`` in a service)."""
        return self._factory.clock().astimezone(dt.UTC)

    @property
    def context(self) -> object:
        """The service's own state (``ServiceSpec.context``); each service narrows it in one accessor."""
        return self._factory.context

    @property
    def cipher(self) -> PiiCipher:
        """The service's personal-data cipher, for handlers and endpoints alike."""
        if self._factory.cipher is None:
            raise RuntimeError("this unit of work has no cipher: build it through a ServiceRuntime")
        return self._factory.cipher

    def emit(self, data: EventData, *, subject: str | None = None, office: str | None = None) -> CloudEvent[Any]:
        """Record an event to publish when (and only if) this unit of work commits."""
        ev = new_event(
            data,
            source=f"sambang/{self._factory.service}",
            subject=subject,
            office=office,
            correlationid=self.correlation_id,
            event_id=str(uuid4()),
            time=self.now(),
        )
        self.events.append(ev)
        return ev

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this unit of work has committed (to wake a loop of this process); never on rollback.

        For in-process signals only (what another process must learn goes through ``emit``); a callback
        that raises is logged and does not undo the commit.
        """
        self._after_commit.append(callback)

    def _run_after_commit(self) -> None:
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception as exc:  # the transaction is committed; a signal must not turn it into an error
                log.error("uow.after_commit_failed", error=type(exc).__name__)

    async def flush_events(self) -> None:
        """Write the emitted events into the outbox inside the open transaction."""
        if not self.events:
            return
        # The outbox row's time is the relay's (wall clock); the event's own time is the service clock's.
        now = dt.datetime.now(dt.UTC)
        rows = [outbox_row(ev, now) for ev in self.events]
        conn = await self.session.connection()
        await conn.execute(insert(self._factory.tables.outbox), rows)
        self.events = []

    async def commit(self) -> None:
        """Write the outbox rows and commit; then wake the relay of this process."""
        had_events = bool(self.events)
        if self._session is None and not had_events:
            self._committed = True  # nothing was written
            self._run_after_commit()
            return
        await self.flush_events()
        await self.session.commit()
        self._committed = True
        if had_events and self._factory.on_commit is not None:
            self._factory.on_commit()
        self._run_after_commit()

    async def rollback(self) -> None:
        """Discard the change, its events and its after-commit callbacks."""
        self.events = []
        self._after_commit = []
        if self._session is not None:
            await self._session.rollback()


class UnitOfWorkFactory:
    """Builds units of work on one engine; ``on_commit`` wakes the outbox relay."""

    def __init__(self, engine: AsyncEngine, tables: BusTables, service: str, clock: Clock = system_clock) -> None:
        self.engine = engine
        #: The service's clock (tests pass a ``sambang_runtime.testing.FakeClock``).
        self.clock: Clock = clock
        self.tables = tables
        self.service = service
        self.sessionmaker = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        self.on_commit: Callable[[], None] | None = None
        #: The service's own state (``ServiceSpec.context``), set by the runtime.
        self.context: object = None
        #: The service's personal-data cipher (set by the runtime).
        self.cipher: PiiCipher | None = None

    def __call__(self, correlation_id: str | None = None) -> UnitOfWork:
        """A new unit of work (use as ``async with factory() as uow``)."""
        return UnitOfWork(self, correlation_id)
