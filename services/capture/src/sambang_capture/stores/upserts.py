"""``INSERT … ON CONFLICT`` for both backends (PostgreSQL and SQLite spell it alike in SQLAlchemy)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_for(conn: AsyncConnection, table: Table) -> Any:
    """An insert on ``table`` that knows ``on_conflict_do_update`` / ``do_nothing`` on this connection's backend."""
    return pg_insert(table) if conn.dialect.name == "postgresql" else sqlite_insert(table)
