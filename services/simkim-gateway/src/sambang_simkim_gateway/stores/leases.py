"""Leases on due work, shared by the tables the worker serves (submissions, violation reports).

A replica claims due rows with one conditional UPDATE: on PostgreSQL the candidate rows are picked
``FOR UPDATE SKIP LOCKED``, so two replicas never wait on each other nor take the same row; the outer
condition is checked again on the row the UPDATE locks, so a row another replica just claimed is skipped.
A lease ends when its work is recorded; a replica that dies leaves it to run out (``lease_until``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Column, ColumnElement, RowMapping, Table, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")


def _free(table: Table, now: dt.datetime) -> ColumnElement[bool]:
    return or_(table.c.lease_until.is_(None), table.c.lease_until < now)


async def claim_due(
    conn: AsyncConnection,
    table: Table,
    key: Column[str],
    *,
    owner: str,
    now: dt.datetime,
    until: dt.datetime,
    limit: int,
    read: Callable[[RowMapping], T],
) -> list[T]:
    """Take up to ``limit`` rows whose next attempt is due and that nobody holds; returns them as claimed,
    each made into the claiming store's dataclass by ``read``."""
    due = (
        select(key)
        .where(table.c.next_attempt_at <= now, _free(table, now))
        .order_by(table.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(table)
        .where(key.in_(due.scalar_subquery()), table.c.next_attempt_at <= now, _free(table, now))
        .values(lease_owner=owner, lease_until=until)
        .returning(*table.c)
    )
    return [read(row) for row in (await conn.execute(stmt)).mappings()]


async def release_all(conn: AsyncConnection, table: Table, *, owner: str) -> int:
    """Give back every lease of a replica that stops, so a restart resumes at once."""
    result = await conn.execute(
        update(table).where(table.c.lease_owner == owner).values(lease_owner=None, lease_until=None)
    )
    return int(result.rowcount)
