"""The unit of work: one transaction holding a state change and the events it causes."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import Any

import asyncpg
from sambang_contracts import CloudEvent, EventData, new_event
from sqlalchemy import CursorResult, Executable, MetaData, PrimaryKeyConstraint, Table, UniqueConstraint, insert
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from .clock import Clock, system_clock
from .crypto import PiiCipher
from .entropy import uuid4
from .inbox import claim
from .logs import get_logger
from .outbox import BusTables, outbox_row

log = get_logger(__name__)


class UniqueViolation(Exception):
    """A write broke a unique rule of the database.

    ``constraint`` names the rule as the service's metadata does (``pk_application``,
    ``uq_application_active_nik``) on PostgreSQL and SQLite alike, so a store maps it to a
    ``DomainError`` without knowing which driver raised what.
    """

    def __init__(self, constraint: str | None, table: str | None = None) -> None:
        super().__init__(constraint or "unique rule")
        self.constraint = constraint
        self.table = table


@dataclass(frozen=True, slots=True)
class AtomicChange:
    """A guarded change that ``UnitOfWork.run_atomic`` writes, with the emitted events, all or nothing."""

    #: PostgreSQL: the change as data-modifying CTEs, ``a AS (UPDATE …), b AS (INSERT … FROM a …)``,
    #: with positional parameters ``$1``…``$n``.
    ctes: str
    #: The values of ``$1``…``$n``.
    args: Sequence[Any]
    #: The CTE that yields exactly one row when the change is made and none when it is refused (e.g.
    #: ``taken AS (UPDATE slot … WHERE booked + 1 <= quota RETURNING id)``). Every insert of ``ctes``
    #: selects FROM it, and so do the events: a refused change writes nothing at all.
    guard: str
    #: Any other database (SQLite in embedded mode): the same change through SQLAlchemy on the unit of
    #: work's connection; returns False when refused.
    portable: Callable[[AsyncConnection], Awaitable[bool]]


#: The outbox columns the one-statement path writes, in the order of its parameters.
_OUTBOX_COLUMNS = ("event_id", "event_type", "subject", "office", "body", "created_at", "attempts")


@lru_cache(maxsize=64)
def _one_statement(ctes: str, guard: str, outbox: str, casts: tuple[str, ...], first: int, events: int) -> str:
    """The change's CTEs, an insert of ``events`` outbox rows FROM the guard, and the guard's row count."""
    sql = f"WITH {ctes}"
    if events:
        numbers = iter(range(first, first + len(casts) * events))
        selects = " UNION ALL ".join(
            "SELECT " + ", ".join(f"CAST(${next(numbers)} AS {cast})" for cast in casts) + f" FROM {guard}"
            for _ in range(events)
        )
        sql += f", sambang_outbox AS (INSERT INTO {outbox} ({', '.join(_OUTBOX_COLUMNS)}) {selects} RETURNING 1)"
    return f"{sql} SELECT count(*) FROM {guard}"


_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?:index '(?P<index>[^']+)'|(?P<columns>.+))")


def _rule_on(metadata: MetaData, table_name: str, columns: set[str]) -> str | None:
    """The name of the unique rule of ``table_name`` over exactly ``columns`` (SQLite names columns only)."""
    table: Table | None = metadata.tables.get(table_name)
    if table is None:
        return None
    for constraint in table.constraints:
        if not isinstance(constraint, PrimaryKeyConstraint | UniqueConstraint) or not constraint.name:
            continue
        if {c.name for c in constraint.columns} == columns:
            return str(constraint.name)
    for index in table.indexes:
        if index.unique and {c.name for c in index.columns} == columns and index.name:
            return str(index.name)
    return None


def unique_violation(exc: BaseException, metadata: MetaData) -> UniqueViolation | None:
    """The unique rule a driver or SQLAlchemy error reports as broken, or None for any other error."""
    cause: BaseException | None = exc.orig if isinstance(exc, IntegrityError) else exc
    seen = 0
    while cause is not None and seen < 4:  # SQLAlchemy's asyncpg adapter wraps the driver's error
        if isinstance(cause, asyncpg.UniqueViolationError):
            return UniqueViolation(cause.constraint_name, cause.table_name)
        message = str(cause)
        found = _SQLITE_UNIQUE.search(message) if type(cause).__module__.startswith("sqlite3") else None
        if found is not None:
            if found["index"]:
                return UniqueViolation(found["index"])
            pairs = [part.strip().split(".", 1) for part in found["columns"].split(",")]
            table = pairs[0][0]
            return UniqueViolation(_rule_on(metadata, table, {p[-1] for p in pairs}), table)
        cause = cause.__cause__
        seen += 1
    return None


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

    async def claim_once(self, key: str, kind: str) -> bool:
        """Record ``key`` (36 characters at most, e.g. a uuid) in the service's inbox within this
        transaction: True the first time, False once any committed transaction recorded it. Single-use
        tokens (approvals) ride the inbox so that their use and their effect commit together."""
        return bool(await claim(self.session, self._factory.tables.inbox, [(key, kind)]))

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
        rows = [outbox_row(ev, now, self._factory.cipher) for ev in self.events]
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

    async def run_atomic(self, change: AtomicChange) -> bool:
        """Write a guarded change and the events emitted so far, and commit: True when made, False when
        the guard refused it (the unit of work rolled back, the events dropped). A broken unique rule
        rolls everything back too and raises UniqueViolation.

        Why a seam of its own: the booking rush (bench/booking.py) is bound by round trips and by the
        time a connection is held. Through the session a booking costs BEGIN, the update, the insert,
        the outbox insert and COMMIT; on PostgreSQL this runs the change's CTEs and the outbox insert
        as ONE autocommitted statement on the raw asyncpg connection (data-modifying CTEs are atomic),
        on the session's connection if the unit of work already holds one, else on one checked out
        just for it. The outbox's column types, the relay's wake and the drivers' unique-violation
        errors stay here, so the service's store holds only its own SQL. Other databases take the
        change's portable path inside the session's transaction, with the same outcomes.
        """
        factory = self._factory
        if not factory.one_statement:
            return await self._run_portable(change)
        events, self.events = self.events, []
        # As in flush_events: the outbox row's time is the relay's (wall clock).
        now = dt.datetime.now(dt.UTC)
        args = list(change.args)
        first = len(args) + 1
        for ev in events:
            row = outbox_row(ev, now, factory.cipher)
            args += [row[name] for name in _OUTBOX_COLUMNS]
        outbox = factory.tables.outbox.name
        sql = _one_statement(change.ctes, change.guard, outbox, factory.outbox_casts, first, len(events))
        try:
            if self._session is None:
                async with factory.engine.connect() as conn:
                    made = await _fetch_count(conn, sql, args) > 0
            else:
                made = await _fetch_count(await self._session.connection(), sql, args) > 0
                # A refused change takes the rest of the transaction with it, as on the portable path.
                await (self._session.commit() if made else self._session.rollback())
        except asyncpg.UniqueViolationError as exc:
            if self._session is not None:
                await self._session.rollback()
            raise UniqueViolation(exc.constraint_name, exc.table_name) from None
        self._committed = made
        if made and events and factory.on_commit is not None:
            factory.on_commit()
        return made

    async def _run_portable(self, change: AtomicChange) -> bool:
        conn = await self.session.connection()
        try:
            made = await change.portable(conn)
        except IntegrityError as exc:
            await self.rollback()
            violation = unique_violation(exc, self._factory.metadata)
            if violation is None:
                raise
            raise violation from None
        if not made:
            await self.rollback()
            return False
        await self.commit()
        return True

    async def execute_unique(self, statement: Executable) -> CursorResult[Any]:
        """Execute a write that a unique rule may refuse, in this unit of work's transaction.

        A broken rule rolls the unit of work back (PostgreSQL has aborted its transaction anyway) and
        raises UniqueViolation, named as in run_atomic.
        """
        conn = await self.session.connection()
        try:
            return await conn.execute(statement)
        except IntegrityError as exc:
            violation = unique_violation(exc, self._factory.metadata)
            if violation is None:
                raise
            await self.rollback()
            raise violation from None


async def _fetch_count(conn: AsyncConnection, sql: str, args: Sequence[Any]) -> int:
    """Run the one statement on the connection's asyncpg driver connection (no SQLAlchemy in between)."""
    raw = await conn.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
    count = await driver.fetchval(sql, *args)
    return int(count or 0)


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
        #: The service's tables (the outbox belongs to them): names the unique rules SQLite reports by column.
        self.metadata: MetaData = tables.outbox.metadata
        #: Whether run_atomic writes a change as one statement (PostgreSQL through asyncpg).
        self.one_statement = engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg"
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        #: PostgreSQL types of the outbox columns, for the one statement's casts (INSERT … SELECT gives
        #: its parameters no type from the target columns).
        self.outbox_casts = tuple(str(tables.outbox.c[name].type.compile(dialect=dialect)) for name in _OUTBOX_COLUMNS)

    def __call__(self, correlation_id: str | None = None) -> UnitOfWork:
        """A new unit of work (use as ``async with factory() as uow``)."""
        return UnitOfWork(self, correlation_id)
