"""Events about a receipt whose registration has not arrived yet, held (encrypted) until it does."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sambang_contracts import CloudEvent, dump_event, parse_event
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import delete

from ..models import deferred_event


def _context(event_id: str) -> str:
    return f"deferred_event:{event_id}"


async def hold(uow: UnitOfWork, event: CloudEvent[Any], *, now: dt.datetime) -> None:
    """Keep an event until its receipt's registration arrives (the same event twice is kept once)."""
    row = {
        "event_id": event.id,
        "receipt_number": event.subject or "",
        "event_type": event.type,
        "body_enc": uow.cipher.encrypt_bytes(dump_event(event), context=_context(event.id)),
        "created_at": now,
    }
    conn = await uow.session.connection()
    await upsert(conn, deferred_event, row, key=["event_id"])


async def release(uow: UnitOfWork, receipt: str) -> list[CloudEvent[Any]]:
    """Take the events held for a receipt, in the order they happened (removed in this transaction)."""
    conn = await uow.session.connection()
    rows = (
        await conn.execute(
            delete(deferred_event)
            .where(deferred_event.c.receipt_number == receipt)
            .returning(deferred_event.c.event_id, deferred_event.c.body_enc)
        )
    ).all()
    events = [parse_event(uow.cipher.decrypt_bytes(r.body_enc, context=_context(r.event_id))) for r in rows]
    return sorted(events, key=lambda e: e.time)  # in the order they happened


async def forget_older_than(uow: UnitOfWork, before: dt.datetime) -> int:
    """Drop held events whose registration never came; returns how many."""
    conn = await uow.session.connection()
    result = await conn.execute(
        delete(deferred_event).where(deferred_event.c.created_at < before).returning(deferred_event.c.event_id)
    )
    return len(result.all())
