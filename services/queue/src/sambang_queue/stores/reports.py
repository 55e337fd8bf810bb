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
- wait estimates: visits of the period given an estimated wait with their ticket and since called or
  claimed; error = actual wait (check-in to the first call or claim) - the middle of the range, minutes.
- no-shows by reminder: appointments of the period (not walk-ins, not cancelled or expired) whose day
  has passed or whose applicant came, with and without the reminder the day before delivered
  (`reminder_sent_at`); a no-show did not come that day, or did not answer the calls.
"""

from __future__ import annotations

import datetime as dt

from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..domain.reports import (
    CANCEL_REASONS,
    ApplicationFact,
    IssuedFact,
    ReportFacts,
    StageFact,
    VisitFact,
)
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
    a, v, s = application.c, visit.c, visit_stage.c
    apps = [
        ApplicationFact(
            r.priority_category,
            r.service_type,
            r.passport_type,
            r.walk_in,
            r.status,
            r.slot_date,
            r.reminder_sent_at is not None,
        )
        for r in await conn.execute(
            select(
                a.priority_category,
                a.service_type,
                a.passport_type,
                a.walk_in,
                a.status,
                a.slot_date,
                a.reminder_sent_at,
            ).where(a.office == office, a.slot_date.between(first, last))
        )
    ]
    closed = (
        await conn.execute(
            select(a.close_reason).where(
                a.office == office,
                a.closed_at >= start_utc,
                a.closed_at < end_utc,
                a.close_reason.in_(CANCEL_REASONS),
            )
        )
    ).scalars()
    visits = [
        VisitFact(
            r.purpose,
            r.lane,
            r.channel,
            r.state,
            r.checked_in_at,
            r.first_called_at,
            r.claimed_at,
            r.estimate_low_minutes,
            r.estimate_high_minutes,
        )
        for r in await conn.execute(
            select(
                v.purpose,
                v.lane,
                v.channel,
                v.state,
                v.checked_in_at,
                v.first_called_at,
                v.claimed_at,
                v.estimate_low_minutes,
                v.estimate_high_minutes,
            ).where(v.office == office, v.day.between(first, last))
        )
    ]
    stages = [
        StageFact(r.stage, r.officer, r.started_at, r.ended_at)
        for r in await conn.execute(
            select(s.stage, s.officer, s.started_at, s.ended_at).where(
                s.office == office,
                s.day.between(first, last),
                s.outcome == "COMPLETED",
                s.ended_at.is_not(None),
            )
        )
    ]
    issued = [
        IssuedFact(r.receipt_number, r.issued_at, r.created_at)
        for r in await conn.execute(
            select(a.receipt_number, a.issued_at, a.created_at).where(
                a.office == office, a.issued_at >= start_utc, a.issued_at < end_utc
            )
        )
    ]
    served_on: dict[str, dt.date] = {}
    if issued:
        rows = await conn.execute(
            select(v.receipt_number, v.day).where(
                v.receipt_number.in_([i.receipt_number for i in issued]), v.purpose == SERVICE
            )
        )
        for r in rows:
            served_on[r.receipt_number] = min(r.day, served_on.get(r.receipt_number, r.day))
    pending = (
        (
            await conn.execute(
                select(a.pickup_from).where(a.office == office, a.status == Status.ISSUED.value, a.pickup_from <= last)
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
