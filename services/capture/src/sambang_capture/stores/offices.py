"""The office rules capture keeps from ``queue.office.updated``."""

from __future__ import annotations

import datetime as dt

from sambang_contracts import OfficeUpdated
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..domain.capture import OfficeRules
from ..models import office_rule
from .upserts import insert_for


async def keep_rules(uow: UnitOfWork, data: OfficeUpdated, at: dt.datetime) -> None:
    """Store an office's rules as of ``at`` (the event's time): an older update never replaces a newer one."""
    conn = await uow.session.connection()
    values = {
        "timezone": data.timezone,
        "fingerprint_quality_threshold": data.settings.fingerprint_quality_threshold,
        "biometric_retention_days": data.settings.biometric_retention_days,
        "updated_at": at,
    }
    stmt = insert_for(conn, office_rule).values(office=data.office, **values)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["office"], set_=values, where=office_rule.c.updated_at <= stmt.excluded.updated_at
        )
    )


async def rules_of(uow: UnitOfWork, office: str, default: OfficeRules) -> OfficeRules:
    """The office's rules, or ``default`` while it has published none."""
    conn = await uow.session.connection()
    row = (await conn.execute(select(office_rule).where(office_rule.c.office == office))).first()
    if row is None:
        return default
    return OfficeRules(row.timezone, row.fingerprint_quality_threshold, row.biometric_retention_days)
