"""Office names and time zones, from queue.office.updated."""

from __future__ import annotations

import datetime as dt

from sambang_contracts import OfficeUpdated
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..domain.messages import Office
from ..models import office
from .dialect import upsert


async def remember(uow: UnitOfWork, data: OfficeUpdated, *, now: dt.datetime) -> None:
    """Keep an office's name and time zone."""
    values = {"code": data.office, "name": data.name, "timezone": data.timezone, "updated_at": now}
    stmt = upsert(uow, office).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["code"], set_={k: stmt.excluded[k] for k in values if k != "code"}
    )
    conn = await uow.session.connection()
    await conn.execute(stmt)


async def get(uow: UnitOfWork, code: str, *, default_timezone: str) -> Office:
    """An office as the applicant reads it; a plain name and the default zone until the queue has said more."""
    conn = await uow.session.connection()
    row = (await conn.execute(select(office).where(office.c.code == code))).first()
    if row is None:
        return Office(code=code, name=f"Kantor Imigrasi {code}", timezone=default_timezone)
    return Office(code=row.code, name=row.name, timezone=row.timezone)
