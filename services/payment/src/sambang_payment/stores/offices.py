"""The office rules this service keeps a copy of (from ``queue.office.updated``)."""

from __future__ import annotations

import datetime as dt

from sambang_contracts import OfficeSettings
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select, update

from ..domain.offices import OfficeRules, as_utc, zone
from ..models import OFFICE_RULE
from .dialects import insert_ignoring_conflicts, locking


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
    """Keep an office's rules unless a newer event already set them; returns whether they changed.

    The row is locked while compared, so two updates of one office handled at once keep the newer.
    """
    conn = await uow.session.connection()
    values = {
        "office": office,
        "timezone": timezone,
        "bill_validity_seconds": bill_validity_seconds,
        "priority_bill_validity_seconds": priority_bill_validity_seconds,
        "event_time": event_time,
    }
    current_time = select(OFFICE_RULE.c.event_time).where(OFFICE_RULE.c.office == office)
    current = (await conn.execute(locking(conn, current_time))).first()
    if current is None:
        inserted = await conn.execute(insert_ignoring_conflicts(conn, OFFICE_RULE, values))
        if inserted.rowcount:
            return True
        # A twin inserted first and committed: compare with it under its lock.
        current = (await conn.execute(locking(conn, current_time))).first()
        assert current is not None
    if as_utc(current.event_time) > event_time:
        return False
    await conn.execute(update(OFFICE_RULE).where(OFFICE_RULE.c.office == office).values(values))
    return True
