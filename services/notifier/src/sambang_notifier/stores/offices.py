"""Office names, time zones and reminder rules, from queue.office.updated."""

from __future__ import annotations

import datetime as dt

from sambang_contracts import OfficeSettings, OfficeUpdated
from sambang_runtime.sql import keep_latest
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..domain.messages import Office
from ..models import office

_DEFAULTS = OfficeSettings()


async def remember(uow: UnitOfWork, data: OfficeUpdated, *, at: dt.datetime) -> bool:
    """Keep an office's name, time zone and reminder rules as of ``at`` (the event's time): an older update,
    delivered late, never replaces a newer one. Answers whether it was kept."""
    values = {
        "code": data.office,
        "name": data.name,
        "timezone": data.timezone,
        "reminder_enabled": data.settings.reminder_enabled,
        "reminder_hour": data.settings.reminder_hour,
        "updated_at": at,
    }
    conn = await uow.session.connection()
    return await keep_latest(conn, office, values, key=["code"])


async def get(uow: UnitOfWork, code: str, *, default_timezone: str) -> Office:
    """An office as the applicant reads it; a plain name, the default zone and the default reminder rules until
    the queue has said more."""
    conn = await uow.session.connection()
    row = (await conn.execute(select(office).where(office.c.code == code))).first()
    if row is None:
        return Office(
            code=code,
            name=f"Kantor Imigrasi {code}",
            timezone=default_timezone,
            reminder_enabled=_DEFAULTS.reminder_enabled,
            reminder_hour=_DEFAULTS.reminder_hour,
        )
    return Office(
        code=row.code,
        name=row.name,
        timezone=row.timezone,
        reminder_enabled=row.reminder_enabled,
        reminder_hour=row.reminder_hour,
    )
