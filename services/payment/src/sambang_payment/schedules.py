"""Fee schedules in the database: seeded from the shipped data file, loaded by an admin, read by date."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .dialects import insert_ignoring_conflicts
from .domain import FeeScheduleDocument, schedule_on
from .models import FEE_SCHEDULE, FeeSchedule

SHIPPED_SCHEDULE = "pp45-2024.json"


def shipped_schedule() -> FeeScheduleDocument:
    """The schedule of PP 45/2024 shipped in the package (``fees/pp45-2024.json``)."""
    text = resources.files("sambang_payment").joinpath("fees", SHIPPED_SCHEDULE).read_text("utf-8")
    return FeeScheduleDocument.model_validate(json.loads(text))


async def all_schedules(session: AsyncSession) -> list[FeeScheduleDocument]:
    """Every schedule ever loaded (a handful of rows: schedules change every few years)."""
    rows = (await session.exec(select(FeeSchedule).order_by(col(FeeSchedule.effective_from)))).all()
    return [FeeScheduleDocument.model_validate(r.document) for r in rows]


async def schedule_in_force(session: AsyncSession, on: dt.date) -> FeeScheduleDocument | None:
    """The schedule in force on a date."""
    return schedule_on(await all_schedules(session), on)


def schedule_row(doc: FeeScheduleDocument, *, loaded_by: str, now: dt.datetime) -> FeeSchedule:
    """A table row for a schedule document."""
    return FeeSchedule(
        effective_from=doc.effective_from,
        name=doc.name,
        document=doc.model_dump(mode="json"),
        loaded_at=now,
        loaded_by=loaded_by,
    )


async def seed_if_empty(session: AsyncSession, now: dt.datetime) -> bool:
    """Load the shipped schedule when the table is empty; returns whether it did."""
    count = (await session.exec(select(func.count()).select_from(FeeSchedule))).one()
    if count:
        return False
    row = schedule_row(shipped_schedule(), loaded_by="seed", now=now)
    conn = await session.connection()
    # Two replicas starting together both see an empty table; the second insert does nothing.
    values = row.model_dump(exclude={"id"})
    result = await conn.execute(insert_ignoring_conflicts(conn, FEE_SCHEDULE, values))
    return bool(result.rowcount)
