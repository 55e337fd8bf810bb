"""The office rules the gateway keeps from ``queue.office.updated``: time zone and pickup working days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..models import office_rule


@dataclass(frozen=True, slots=True)
class OfficeRule:
    """What the gateway needs to know about an office."""

    office: str
    timezone: str
    pickup_working_days: int


async def keep(
    uow: UnitOfWork, *, office: str, timezone: str, pickup_working_days: int, event_time: dt.datetime
) -> None:
    """Store an office's rules unless a newer event already did (events may arrive out of order)."""
    conn = await uow.session.connection()
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(office_rule).values(
        office=office, timezone=timezone, pickup_working_days=pickup_working_days, event_time=event_time
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["office"],
        set_={
            "timezone": stmt.excluded.timezone,
            "pickup_working_days": stmt.excluded.pickup_working_days,
            "event_time": stmt.excluded.event_time,
        },
        where=office_rule.c.event_time <= stmt.excluded.event_time,
    )
    await conn.execute(stmt)


async def rule(uow: UnitOfWork, office: str, *, default_timezone: str, default_working_days: int) -> OfficeRule:
    """The office's rules, or the defaults while its queue.office.updated has not been seen."""
    conn = await uow.session.connection()
    row = (await conn.execute(select(office_rule).where(office_rule.c.office == office))).first()
    if row is None:
        return OfficeRule(office, default_timezone, default_working_days)
    m = row._mapping
    return OfficeRule(office, m["timezone"], m["pickup_working_days"])
