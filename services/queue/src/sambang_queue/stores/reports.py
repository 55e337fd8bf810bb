"""What the office reports are computed from, read from the queue's own tables (domain.office_report
computes the figures).

Definitions (documented because the head of office compares them month to month):

- applications: pre-applications whose appointment day falls in the period (walk-ins: the day they came).
- check-ins: service visits (not pickups) that started in the period; walk-ins are those registered on the spot.
- no-shows: tickets that did not answer the calls (`called_no_answer`), plus bookings whose day has
  passed without a check-in (`did_not_come`).
- cancellations: applications closed in the period by the applicant, an officer or bill expiry.
- waiting time: from check-in to the first call at a counter or the claim by a sambang officer.
- service time per stage: from the first call (or claim) of a stage to its completion.
- issued within target: passports issued in the period whose issuance came at most
  `pickup_working_days` working days (weekends and Indonesian public holidays skipped) after the
  day the applicant was served at the office (check-in day).
- pickups pending: passports issued and ready (pickup_from reached by the end of the period) but
  not yet collected, at the time of the report.
"""

from __future__ import annotations

import datetime as dt

from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..domain.reports import CANCEL_REASONS, ReportFacts
from ..domain.status import Status
from ..domain.times import day_bounds
from ..domain.visits import SERVICE
from ..models import application, visit, visit_stage
from . import connection_of


async def report_facts(uow: UnitOfWork, office: str, tz: str, first: dt.date, last: dt.date) -> ReportFacts:
    """The rows behind an office's report for the days first..last (office local time)."""
    conn = await connection_of(uow)
    start_utc = day_bounds(first, tz)[0]
    end_utc = day_bounds(last, tz)[1]
    apps = (
        await conn.execute(
            select(
                application.c.priority_category,
                application.c.service_type,
                application.c.passport_type,
                application.c.walk_in,
                application.c.status,
                application.c.slot_date,
            ).where(application.c.office == office, application.c.slot_date.between(first, last))
        )
    ).all()
    closed = (
        await conn.execute(
            select(application.c.close_reason).where(
                application.c.office == office,
                application.c.closed_at >= start_utc,
                application.c.closed_at < end_utc,
                application.c.close_reason.in_(CANCEL_REASONS),
            )
        )
    ).scalars()
    visits = (await conn.execute(select(visit).where(visit.c.office == office, visit.c.day.between(first, last)))).all()
    stages = (
        await conn.execute(
            select(visit_stage).where(
                visit_stage.c.office == office,
                visit_stage.c.day.between(first, last),
                visit_stage.c.outcome == "COMPLETED",
            )
        )
    ).all()
    issued = (
        await conn.execute(
            select(application.c.receipt_number, application.c.issued_at, application.c.created_at).where(
                application.c.office == office,
                application.c.issued_at >= start_utc,
                application.c.issued_at < end_utc,
            )
        )
    ).all()
    served_on: dict[str, dt.date] = {}
    if issued:
        rows = (
            await conn.execute(
                select(visit.c.receipt_number, visit.c.day).where(
                    visit.c.receipt_number.in_([i.receipt_number for i in issued]), visit.c.purpose == SERVICE
                )
            )
        ).all()
        for r in rows:
            served_on[r.receipt_number] = min(r.day, served_on.get(r.receipt_number, r.day))
    pending = (
        (
            await conn.execute(
                select(application.c.pickup_from).where(
                    application.c.office == office,
                    application.c.status == Status.ISSUED.value,
                    application.c.pickup_from <= last,
                )
            )
        )
        .scalars()
        .all()
    )
    return ReportFacts(
        applications=apps,
        cancel_reasons=list(closed),
        visits=visits,
        completed_stages=stages,
        issued=issued,
        served_on=served_on,
        pickups_pending_from=list(pending),
    )
