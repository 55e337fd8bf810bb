"""Database engines for PostgreSQL (asyncpg) and SQLite (aiosqlite), created if missing."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import DateTime, Dialect, MetaData, TypeDecorator, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

#: Constraint names that Alembic can diff and drop (STYLE.md: an explicit naming convention).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A MetaData with the house naming convention; one per service."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_postgres(url: str | URL) -> bool:
    """Whether the URL names a PostgreSQL database."""
    return make_url(url).get_backend_name() == "postgresql"


def create_engine(url: str, *, pool_size: int = 10, pool_timeout: float = 10.0) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_async_engine(
        url,
        # A fixed pool: under a rush, overflow connections were opened and closed by the hundred a
        # second (a backend fork each); requests now wait for a connection (pool_timeout, then 503).
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,
        # No pre-ping: it costs a round trip per transaction; dead connections are dropped on error
        # and recycled hourly instead.
        pool_recycle=3600,
        # asyncpg's statement cache is on by default; keep SQLAlchemy's prepared statements too.
        connect_args={"server_settings": {"application_name": "sambang"}},
    )


def asyncpg_dsn(url: str | URL) -> str:
    """The plain ``postgresql://`` DSN asyncpg wants, from a SQLAlchemy URL.

    A multi-host URL (SQLAlchemy's ``?host=h1:5432&host=h2:5432&target_session_attrs=read-write``, a
    primary and its standbys) becomes asyncpg's ``postgresql://user@h1:5432,h2:5432/db?...``: asyncpg
    reads only the last of repeated ``host`` parameters, which would be a standby.
    """
    parsed = make_url(url).set(drivername="postgresql")
    hosts = parsed.query.get("host")
    if isinstance(hosts, tuple) or (isinstance(hosts, str) and "," not in hosts and ":" in hosts):
        listed = hosts if isinstance(hosts, tuple) else (hosts,)
        single = parsed.set(host="MULTIHOST", port=None).difference_update_query(["host"])
        return single.render_as_string(hide_password=False).replace("MULTIHOST", ",".join(listed), 1)
    return parsed.render_as_string(hide_password=False)


async def ensure_database(url: str) -> None:
    """Create the database (PostgreSQL) or its folder (SQLite) when it does not exist yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = str(Path(parsed.database).parent)
            await asyncio.to_thread(os.makedirs, folder, exist_ok=True)
        return
    name = parsed.database
    if not name:
        raise ValueError("the database URL names no database")
    admin = asyncpg_dsn(parsed.set(database="postgres"))
    conn = await asyncpg.connect(admin)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Another process may create it between our check and our create.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{_quote_ident(name)}"')
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    """Drop a PostgreSQL database (tests) or delete a SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(parsed.database + suffix)
        return
    admin = asyncpg_dsn(parsed.set(database="postgres"))
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{_quote_ident(parsed.database or "")}" WITH (FORCE)')
    finally:
        await conn.close()


def _quote_ident(name: str) -> str:
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError("database names may hold letters, digits, '_' and '-' only")
    return name


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC instant on both backends (SQLite would otherwise hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Store UTC; refuse naive datetimes, which would be ambiguous."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        """Return aware UTC."""
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
