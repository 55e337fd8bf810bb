"""Statements that differ between PostgreSQL and SQLite (the embedded mode)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Table
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection


def is_pg(conn: AsyncConnection) -> bool:
    """Whether the connection is to PostgreSQL."""
    return conn.dialect.name == "postgresql"


def insert_ignoring_conflicts(conn: AsyncConnection, table: Table, values: dict[str, Any]) -> PgInsert | SqliteInsert:
    """``INSERT … ON CONFLICT DO NOTHING``: a concurrent twin waits for the first commit, then inserts nothing."""
    if is_pg(conn):
        return pg_insert(table).values(values).on_conflict_do_nothing()
    return sqlite_insert(table).values(values).on_conflict_do_nothing()


def locking(conn: AsyncConnection, stmt: Select[Any], *, skip_locked: bool = False) -> Select[Any]:
    """``SELECT … FOR UPDATE`` on PostgreSQL (SQLite has one writer at a time anyway)."""
    if is_pg(conn):
        return stmt.with_for_update(skip_locked=skip_locked)
    return stmt
