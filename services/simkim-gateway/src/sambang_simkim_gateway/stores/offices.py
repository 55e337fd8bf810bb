"""The office rules the gateway keeps from ``queue.office.updated``: time zone and pickup working days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sambang_runtime.sql import keep_latest
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..models import office_rule


@dataclass(frozen=True, slots=True)
class OfficeRule:
    """What the gateway needs to know about an office."""

    office: str
    timezone: str
    pickup_working_days: int


async def keep(
    uow: UnitOfWork, *, office: str, timezone: str, pickup_working_days: int, event_time: dt.datetime
) -> bool:
    """Store an office's rules unless a newer event already did (events may arrive out of order): the
    event's time is the copy's version. Answers whether it was written."""
    return await keep_latest(
        await uow.session.connection(),
        office_rule,
        {"office": office, "timezone": timezone, "pickup_working_days": pickup_working_days, "event_time": event_time},
        key=["office"],
        version="event_time",
    )


async def rule(uow: UnitOfWork, office: str, *, default_timezone: str, default_working_days: int) -> OfficeRule:
    """The office's rules, or the defaults while its queue.office.updated has not been seen."""
    conn = await uow.session.connection()
    m = (await conn.execute(select(office_rule).where(office_rule.c.office == office))).mappings().first()
    if m is None:
        return OfficeRule(office, default_timezone, default_working_days)
    return OfficeRule(office, m["timezone"], m["pickup_working_days"])
