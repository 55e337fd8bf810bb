"""An office's rules: saved and published (`queue.office.updated`) for every service's copy, by an
admin (PUT /v1/offices/{office}/settings) or by the development seed at startup."""

from __future__ import annotations

import datetime as dt

from sambang_contracts import OfficeSettings, OfficeUpdated
from sambang_runtime.uow import UnitOfWork

from ..context import context_of
from ..stores import offices


async def save_office_settings(
    uow: UnitOfWork, code: str, name: str, timezone: str, settings: OfficeSettings, now: dt.datetime
) -> None:
    """Create or replace the office and say so; once committed this process's cache forgets it (other
    replicas' caches within `office_cache_seconds`)."""
    await offices.save_office(uow, code, name, timezone, settings, now)
    uow.emit(OfficeUpdated(office=code, name=name, timezone=timezone, settings=settings), office=code)
    cache = context_of(uow).offices
    uow.after_commit(lambda: cache.forget(code))
