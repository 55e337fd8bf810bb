"""The reminder the day before: which visits are due now, and one visit's reminder claimed and recorded.

The reminder loop (``background.reminders``) finds the visits due, fetches each one's checklist from
capture (outside any transaction), then calls ``remind_visit`` in a unit of work of its own per visit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sambang_runtime.uow import UnitOfWork

from ..context import context_of
from ..domain import reminders
from ..domain.reminders import ChecklistLine, Visit
from ..stores import appointments, offices, recipients
from .messages import record_messages


async def visits_due(uow: UnitOfWork, *, now: dt.datetime, limit: int) -> list[Visit]:
    """Visits whose reminder is due at ``now``: each office's hour, office time, the working day before the
    visit, up to the visit day (a round missed while the notifier was down still reminds before it). None of
    an office that switched the reminder off; none of a cancelled, expired or already reminded application."""
    ctx = context_of(uow)
    # Every office's calendar day is on or after this one (Indonesia is ahead of UTC).
    earliest = (now - dt.timedelta(days=1)).date()
    due: list[Visit] = []
    for code in await appointments.offices_with_visits_after(uow, earliest):
        office = await offices.get(uow, code, default_timezone=ctx.settings.default_timezone)
        if not office.reminder_enabled:
            continue
        until = reminders.last_visit_day_due(
            now, hour=office.reminder_hour, timezone=office.timezone, is_holiday=ctx.is_holiday
        )
        if until is None:
            continue
        today = reminders.office_today(now, office.timezone)
        due += await appointments.due(uow, code, after=today, until=until, limit=limit - len(due))
        if len(due) >= limit:
            break
    return due


async def remind_visit(uow: UnitOfWork, receipt: str, checklist: Sequence[ChecklistLine], *, now: dt.datetime) -> bool:
    """Claim the reminder of one visit and record its messages (``visit_reminder``, in the applicant's language,
    by e-mail and/or SMS) for the dispatcher; False when another round claimed it first, the application was
    closed since, or the office switched the reminder off since."""
    ctx = context_of(uow)
    office = await offices.get(uow, receipt[:3], default_timezone=ctx.settings.default_timezone)
    if not office.reminder_enabled:
        return False
    visit = await appointments.claim_reminder(uow, receipt, now=now)
    if visit is None:
        return False
    applicant = await recipients.applicant(uow, receipt)
    if applicant is None:  # registered without a recipient cannot happen (one event writes both): nobody to tell
        return False
    variables = reminders.reminder_variables(visit, applicant, office, checklist, now=now)
    await record_messages(
        uow,
        applicant,
        reminders.TEMPLATE,
        variables,
        event_id=reminders.reminder_id(receipt),
        event_type=reminders.EVENT_TYPE,
        receipt=receipt,
        office=office.code,
        now=now,
    )
    return True
