"""Stream tickets already used: a ticket opens one stream once, on whichever replica."""

from __future__ import annotations

import datetime as dt

from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import delete

from ..models import stream_ticket_use


async def use(uow: UnitOfWork, ticket_id: str, *, now: dt.datetime, expires_at: dt.datetime) -> bool:
    """Record that a ticket opened a stream; False when it had already (the first use wins, also at the
    same moment on two replicas: the primary key decides)."""
    conn = await uow.session.connection()
    result = await upsert(
        conn,
        stream_ticket_use,
        {"ticket_id": ticket_id, "used_at": now, "expires_at": expires_at},
        key=["ticket_id"],
        returning=[stream_ticket_use.c.ticket_id],
    )
    return result.first() is not None


async def forget_expired(uow: UnitOfWork, before: dt.datetime) -> int:
    """Forget the uses of tickets that expired before ``before`` (an expired ticket opens nothing anyway)."""
    conn = await uow.session.connection()
    result = await conn.execute(delete(stream_ticket_use).where(stream_ticket_use.c.expires_at < before))
    return int(result.rowcount or 0)
