"""Statements every store writes the same way on PostgreSQL and on SQLite: the upsert and the
"keep the latest copy" of another service's data.

Both backends spell ``INSERT … ON CONFLICT (…) DO UPDATE SET … WHERE …`` alike, but SQLAlchemy builds
it from a dialect-specific ``insert``; stores call these functions instead of choosing the dialect
themselves (ten places did, with three helper modules of three names).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, CursorResult, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.base import ReadOnlyColumnCollection

__all__ = ["Excluded", "keep_latest", "upsert", "upsert_statement"]

#: The incoming row of an upsert (``excluded.<column>``), given to the callables below.
Excluded: TypeAlias = ReadOnlyColumnCollection[str, Any]
Values: TypeAlias = Mapping[str, Any] | Sequence[Mapping[str, Any]]
Update: TypeAlias = Sequence[str] | Mapping[str, Any] | Callable[[Excluded], Mapping[str, Any]] | None
Where: TypeAlias = ColumnElement[bool] | Callable[[Excluded], ColumnElement[bool]] | None


def upsert_statement(
    conn: AsyncConnection,
    table: Table,
    values: Values,
    *,
    key: Sequence[str],
    update: Update = None,
    where: Where = None,
    returning: Sequence[ColumnElement[Any]] = (),
) -> Insert:
    """``INSERT … ON CONFLICT (key) DO NOTHING`` (``update=None``) or ``DO UPDATE`` for this connection.

    With ``update=None`` an empty ``key`` ignores a conflict with any unique rule of the table.
    ``update``: column names (each set to the incoming value), a mapping of column to value or SQL
    expression, or a callable given the incoming row (``lambda excluded: {"n": table.c.n + excluded.n}``).
    ``where``: the update happens only when it holds (a condition, or a callable given the incoming row).
    """
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt: Any = insert(table).values(values if isinstance(values, Mapping) else list(values))
    excluded = stmt.excluded
    if update is None:
        # No key: do nothing on a conflict with ANY unique rule (a row with two, e.g. receipt and code).
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key) or None)
    else:
        if callable(update):
            set_: Mapping[str, Any] = update(excluded)
        elif isinstance(update, Mapping):
            set_ = update
        else:
            set_ = {name: excluded[name] for name in update}
        if not set_:
            raise ValueError("an upsert that updates nothing is update=None (DO NOTHING)")
        if not key:
            raise ValueError("an update on conflict needs the key whose conflict it resolves")
        condition = where(excluded) if callable(where) else where
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=dict(set_), where=condition)
    if returning:
        stmt = stmt.returning(*returning)
    result: Insert = stmt
    return result


async def upsert(
    conn: AsyncConnection,
    table: Table,
    values: Values,
    *,
    key: Sequence[str],
    update: Update = None,
    where: Where = None,
    returning: Sequence[ColumnElement[Any]] = (),
) -> CursorResult[Any]:
    """Run ``upsert_statement`` on ``conn``; see there."""
    stmt = upsert_statement(conn, table, values, key=key, update=update, where=where, returning=returning)
    return await conn.execute(stmt)


async def keep_latest(
    conn: AsyncConnection,
    table: Table,
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    version: str = "updated_at",
) -> bool:
    """Keep one row per ``key`` as of its newest ``version`` (the time of the event that carried it).

    Events arrive out of order (a retry, a replay, two replicas): an older copy never replaces a newer
    one, and the same version written again (a redelivery) changes nothing that matters. Answers
    whether the row was written.
    """
    if version not in values:
        raise ValueError(f"keep_latest needs the version column {version!r} among the values")
    columns = [name for name in values if name not in key]
    result = await upsert(
        conn,
        table,
        values,
        key=key,
        update=columns,
        where=lambda excluded: table.c[version] <= excluded[version],
    )
    return bool(result.rowcount)
