"""The reminder loop: every ``reminder_poll_seconds``, the reminders due now are claimed and recorded.

Each round finds the visits due (one unit of work), asks capture for the checklist of each service type
and age (no transaction open meanwhile), then claims and records each visit's reminder in a unit of work
of its own. While capture gives no checklist the round stops there: no reminder goes without its list,
and the next round tries again. Time is the runtime's clock, so a test moves a FakeClock to the hour.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime

from ..adapters.capture import CaptureChecklists, CaptureUnavailable
from ..context import NotifierContext, context_from
from ..domain.reminders import ChecklistLine
from ..usecases.reminders import remind_visit, visits_due

log = get_logger(__name__)


class ChecklistSource(Protocol):
    """Where the documents to bring come from (``adapters.capture.CaptureChecklists``; a test's fake)."""

    async def checklist(self, service_type: str, age: int, *, token: str) -> list[ChecklistLine]:
        """The checklist of a service type and age."""
        ...


async def reminder_round(runtime: ServiceRuntime, ctx: NotifierContext, capture: ChecklistSource) -> int:
    """Record the reminders due now; returns how many visits were reminded."""
    now = runtime.clock()
    async with runtime.uow() as uow:
        due = await visits_due(uow, now=now, limit=ctx.settings.reminder_batch)
    checklists: dict[tuple[str, int], list[ChecklistLine]] = {}
    reminded = 0
    for visit in due:
        key = (visit.service_type, visit.age)
        if key not in checklists:
            try:
                token = ctx.capture_token(visit.office)
                checklists[key] = await capture.checklist(visit.service_type, visit.age, token=token)
            except CaptureUnavailable as exc:
                log.warning("reminder.checklist_unavailable", reason=str(exc), waiting=len(due) - reminded)
                return reminded
        async with runtime.uow() as uow:
            if await remind_visit(uow, visit.receipt_number, checklists[key], now=now):
                reminded += 1
            await uow.commit()
    return reminded


async def run_reminders(runtime: ServiceRuntime) -> None:
    """Reminder rounds for as long as the service runs."""
    ctx = context_from(runtime.spec.context)
    s = ctx.settings
    async with CaptureChecklists(
        s.capture_base_url, timeout=s.capture_timeout_seconds, connect_timeout=s.capture_connect_timeout_seconds
    ) as capture:
        while True:
            try:
                reminded = await reminder_round(runtime, ctx, capture)
                if reminded:
                    log.info("reminder.recorded", visits=reminded)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup must not end the loop; no detail (it may hold data)
                log.error("reminder.round_failed", error=type(exc).__name__)
            ctx.reminder_round_done()
            await asyncio.sleep(s.reminder_poll_seconds)
