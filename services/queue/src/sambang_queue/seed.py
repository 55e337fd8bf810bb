"""The development seed: office BLT (Blitar) and its slots, so `make run` is usable at once.

A startup hook (ServiceSpec.on_startup): it runs once before the service takes requests, so it is
neither a loop (background/) nor an entry point beside routes and handlers; what it changes goes
through the same use case and stores as the admin's routes.
"""

from __future__ import annotations

import datetime as dt

from sambang_contracts import OfficeSettings
from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime

from .context import context_of
from .domain.calendar import plan_dates
from .domain.times import local_today
from .stores import offices
from .usecases.offices import save_office_settings

log = get_logger(__name__)

DEV_OFFICE = "BLT"
DEV_OFFICE_NAME = "Kantor Imigrasi Kelas II Non TPI Blitar"
DEV_TIMEZONE = "Asia/Jakarta"
DEV_SESSIONS = [(dt.time(8, 0), dt.time(12, 0), 90), (dt.time(13, 0), dt.time(15, 0), 50)]


async def seed_development_office(runtime: ServiceRuntime) -> None:
    """A startup hook that seeds BLT in environment "development" only (idempotent)."""
    if not runtime.settings.development:
        return
    async with runtime.uow() as uow:
        ctx = context_of(uow)
        now = uow.now()
        if await offices.find_office(uow, ctx.offices, DEV_OFFICE) is None:
            await save_office_settings(uow, DEV_OFFICE, DEV_OFFICE_NAME, DEV_TIMEZONE, OfficeSettings(), now)
        today = local_today(now, DEV_TIMEZONE)
        # The next N bookable days: Monday-Friday, public holidays skipped.
        dates: list[dt.date] = []
        day = today + dt.timedelta(days=1)
        while len(dates) < ctx.settings.seed_days:
            found, _ = plan_dates(day, day, [1, 2, 3, 4, 5], [])
            dates += found
            day += dt.timedelta(days=1)
        if dates:
            await offices.apply_slot_plan(uow, DEV_OFFICE, dates, DEV_SESSIONS, [], now)
        await uow.commit()
    log.info("queue.dev_office_seeded", office=DEV_OFFICE, days=len(dates))
