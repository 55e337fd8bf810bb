"""The ``INSERT ... ON CONFLICT`` of the database a unit of work runs on (PostgreSQL or SQLite)."""

from __future__ import annotations

from typing import Any

from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def is_postgres(uow: UnitOfWork) -> bool:
    """Whether the unit of work runs on PostgreSQL (else SQLite)."""
    bind = uow.session.bind
    return bind is not None and bind.dialect.name == "postgresql"


def upsert(uow: UnitOfWork, table: Table) -> Any:
    """An insert with ``on_conflict_do_nothing`` / ``on_conflict_do_update`` for this database."""
    return pg_insert(table) if is_postgres(uow) else sqlite_insert(table)
