"""Retention of biometrics: every final outcome schedules their deletion, the purge crypto-shreds them,
and the daily purge report says what was deleted and what is due.

UU 27/2022 (personal data protection): biometrics are specific personal data, kept no longer than their
purpose needs. The hashes, sizes and quality stay, and so does the audit trail, so what was captured can
still be proven afterwards.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sambang_runtime.uow import UnitOfWork

from ..domain.capture import OfficeRules, local_day
from ..domain.retention import Outcome, office_day, purge_due_at
from ..stores import applications, audit, items, offices
from ..stores.applications import ApplicationRecord

#: Who the audit trail names for what nobody asked for: scheduling and deleting after retention.
RETENTION_ACTOR = "system:retention"
PURGED = "biometrics.purged"
SCHEDULED = "biometrics.purge_scheduled"


async def schedule_purge(
    uow: UnitOfWork,
    receipt_number: str,
    outcome: Outcome,
    at: dt.datetime,
    default: OfficeRules,
    *,
    issued_at: dt.datetime | None = None,
) -> ApplicationRecord:
    """The application ended (``outcome`` at ``at``): its biometrics go the office's retention days later
    (within the national maximum); a second outcome may bring that forward, never postpone it."""
    rules = await offices.rules_of(uow, receipt_number[:3], default)
    due = purge_due_at(at, rules.biometric_retention_days)
    app = await applications.record_outcome(uow, receipt_number, outcome, at, due, uow.now(), issued_at=issued_at)
    detail = {"outcome": outcome.value, "purge_due_at": app.purge_due_at.isoformat() if app.purge_due_at else None}
    await audit.record_on(uow, app, SCHEDULED, officer=RETENTION_ACTOR, at=uow.now(), detail=detail)
    return app


@dataclass(frozen=True, slots=True)
class Purged:
    """One purge round: the applications whose images were deleted, and the images."""

    applications: int
    images: int


async def purge_due_biometrics(uow: UnitOfWork, limit: int) -> tuple[int, Purged]:
    """Crypto-shred one batch of biometrics whose retention ended (the service clock decides); how many
    applications the batch closed (a full batch: there may be more), and what was deleted."""
    now = uow.now()
    due = await applications.due_for_purge(uow, now, limit)
    if not due:
        return 0, Purged(0, 0)
    receipts = [receipt for receipt, _ in due]
    deleted = await items.purge(uow, receipts, now)
    await applications.mark_purged(uow, receipts, now)
    for receipt, office in due:
        # Only where there was something to delete: most cancelled applications never reached a camera.
        if deleted.get(receipt):
            detail = {"images": deleted[receipt]}
            await audit.record(
                uow,
                officer=RETENTION_ACTOR,
                office=office,
                action=PURGED,
                receipt_number=receipt,
                at=now,
                detail=detail,
            )
    return len(due), Purged(len(deleted), sum(deleted.values()))


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """One office's day of retention: biometrics deleted that day, those due by its end and not yet
    deleted (overdue included), and the next deadline after that."""

    office: str
    date: dt.date
    timezone: str
    deleted: int
    due: int
    next_due_at: dt.datetime | None


async def purge_report(uow: UnitOfWork, office: str, day: dt.date | None, default: OfficeRules) -> PurgeReport:
    """The purge report of an office for a calendar day at the office (today by default)."""
    rules = await offices.rules_of(uow, office, default)
    if day is None:
        day = local_day(uow.now(), rules.timezone)
    start, end = office_day(day, rules.timezone)
    deleted = await audit.count(uow, office=office, action=PURGED, start=start, end=end)
    schedule = await applications.purge_schedule(uow, office, end)
    return PurgeReport(office, day, rules.timezone, deleted, schedule.due, schedule.next_due_at)
