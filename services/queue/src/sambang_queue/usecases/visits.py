"""Closing a visit: at the last counter of the regular lane, or when a sambang visit's capture and
interview are both done (events from capture)."""

from __future__ import annotations

import datetime as dt

from sambang_runtime.uow import UnitOfWork

from ..domain.visits import visit_completed
from ..stores import visits
from ..stores.visits import VisitRecord


async def close_visit(uow: UnitOfWork, v: VisitRecord, now: dt.datetime) -> None:
    """The visit is over (seat freed, stage closed, application in process): `queue.visit.completed`."""
    await visits.complete(uow, v, now)
    uow.emit(
        visit_completed(
            receipt_number=v.receipt_number,
            visit_id=v.id,
            checked_in_at=v.checked_in_at,
            started_at=v.first_called_at or v.claimed_at,
            now=now,
        )
    )
