"""The inbox: an event id recorded in the same transaction as the effect it caused."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


async def claim(session: AsyncSession, inbox: Table, events: Sequence[tuple[str, str]]) -> set[str]:
    """Record ``(event_id, type)`` pairs; returns the ids seen for the first time.

    ``ON CONFLICT DO NOTHING`` makes a concurrent second delivery wait for the first one's
    transaction and then insert nothing, so an event's effect is applied exactly once.
    """
    if not events:
        return set()
    now = datetime.now(UTC)
    unique = {eid: etype for eid, etype in events}
    rows = [{"event_id": eid, "event_type": etype, "received_at": now} for eid, etype in unique.items()]
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(inbox).values(rows).on_conflict_do_nothing(index_elements=["event_id"]).returning(inbox.c.event_id)
    conn = await session.connection()
    result = await conn.execute(stmt)
    return {row[0] for row in result}
