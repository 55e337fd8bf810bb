"""The office rules this service keeps a copy of (from ``queue.office.updated``)."""

from __future__ import annotations

import datetime as dt

from sambang_contracts import OfficeSettings
from sambang_runtime.sql import keep_latest
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..domain.offices import OfficeRules, zone
from ..models import OFFICE_RULE


async def office_rules(uow: UnitOfWork, office: str, default_timezone: str) -> OfficeRules:
    """The office's copy of its rules, or the contract defaults for an office not heard of yet."""
    conn = await uow.session.connection()
    row = (await conn.execute(select(OFFICE_RULE).where(OFFICE_RULE.c.office == office))).first()
    if row is None:
        defaults = OfficeSettings()
        return OfficeRules(
            zone(default_timezone), defaults.bill_validity_seconds, defaults.priority_bill_validity_seconds
        )
    return OfficeRules(
        zone(row.timezone, default_timezone), row.bill_validity_seconds, row.priority_bill_validity_seconds
    )


async def keep_office_rules(
    uow: UnitOfWork,
    *,
    office: str,
    timezone: str,
    bill_validity_seconds: int,
    priority_bill_validity_seconds: int,
    event_time: dt.datetime,
) -> bool:
    """Keep an office's rules as of the event that carried them: an older event arriving late (a
    retry, a replay) leaves a newer copy alone. Returns whether the copy was written."""
    conn = await uow.session.connection()
    values = {
        "office": office,
        "timezone": timezone,
        "bill_validity_seconds": bill_validity_seconds,
        "priority_bill_validity_seconds": priority_bill_validity_seconds,
        "event_time": event_time,
    }
    return await keep_latest(conn, OFFICE_RULE, values, key=("office",), version="event_time")
