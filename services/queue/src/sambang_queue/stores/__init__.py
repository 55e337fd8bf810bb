"""Every SQL statement of the queue service, one module per aggregate: offices (and their slots),
applications, visits (tickets, seats, stages), pickups, the trail (timeline and audit) and the
reports' reads. Stores take the unit of work and typed arguments, return frozen dataclasses
(``ApplicationRecord``, ``VisitRecord``, ...) or plain values, and raise DomainError; no SQLAlchemy
row leaves a store, and nothing else in the service writes SQL.
"""

from __future__ import annotations

from sambang_runtime.uow import UnitOfWork
from sqlalchemy.ext.asyncio import AsyncConnection


async def connection_of(uow: UnitOfWork) -> AsyncConnection:
    """The unit of work's connection, inside its transaction (checked out on first use)."""
    return await uow.session.connection()
