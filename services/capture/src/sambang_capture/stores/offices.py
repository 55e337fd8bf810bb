"""The office rules capture keeps from ``queue.office.updated``."""

from __future__ import annotations

import datetime as dt

from sambang_contracts import OfficeUpdated
from sambang_runtime.sql import keep_latest
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..domain.capture import OfficeRules
from ..domain.retention import quality_threshold, retention_days
from ..models import office_rule


async def keep_rules(uow: UnitOfWork, data: OfficeUpdated, at: dt.datetime) -> bool:
    """Store an office's rules as of ``at`` (the event's time): an older update never replaces a newer one.

    The contract bounds every rule (an event outside them is parked before any handler sees it); they
    are bounded here again, so that no producer's version can store a threshold above 100 or keep
    biometrics past the national maximum. Answers whether they were stored.
    """
    conn = await uow.session.connection()
    values = {
        "office": data.office,
        "timezone": data.timezone,
        "fingerprint_quality_threshold": quality_threshold(data.settings.fingerprint_quality_threshold),
        "biometric_retention_days": retention_days(data.settings.biometric_retention_days),
        "updated_at": at,
    }
    return await keep_latest(conn, office_rule, values, key=["office"])


async def rules_of(uow: UnitOfWork, office: str, default: OfficeRules) -> OfficeRules:
    """The office's rules (within their bounds, also for rows kept before there were any), or ``default``
    while it has published none."""
    conn = await uow.session.connection()
    row = (await conn.execute(select(office_rule).where(office_rule.c.office == office))).first()
    if row is None:
        return default
    return OfficeRules(
        row.timezone, quality_threshold(row.fingerprint_quality_threshold), retention_days(row.biometric_retention_days)
    )
