"""Every SQL statement of the queue service, one module per aggregate: offices (and their slots),
applications, visits (tickets, seats, stages), pickups, the trail (timeline and audit) and the
reports' reads. Stores take the unit of work, return rows, dataclasses or plain values, and raise
DomainError; nothing else in the service writes SQL.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

#: A row a store read, its columns by attribute name (``v.ticket``).
Record: TypeAlias = Row[Any]


async def connection_of(uow: UnitOfWork) -> AsyncConnection:
    """The unit of work's connection, inside its transaction (checked out on first use)."""
    return await uow.session.connection()
