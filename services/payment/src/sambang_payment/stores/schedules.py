"""Fee schedules: the file shipped in the package and the table an admin adds schedules to."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Any

from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import func, select

from ..domain.fees import FeeScheduleDocument
from ..models import FEE_SCHEDULE

SHIPPED_SCHEDULE = "pp45-2024.json"


def shipped_schedule() -> FeeScheduleDocument:
    """The schedule of PP 45/2024 shipped in the package (``fees/pp45-2024.json``)."""
    text = resources.files("sambang_payment").joinpath("fees", SHIPPED_SCHEDULE).read_text("utf-8")
    return FeeScheduleDocument.model_validate(json.loads(text))


async def all_schedules(uow: UnitOfWork) -> list[FeeScheduleDocument]:
    """Every schedule ever loaded, oldest first (a handful of rows: schedules change every few years)."""
    conn = await uow.session.connection()
    rows = (await conn.execute(select(FEE_SCHEDULE.c.document).order_by(FEE_SCHEDULE.c.effective_from))).all()
    return [FeeScheduleDocument.model_validate(r.document) for r in rows]


def _row(doc: FeeScheduleDocument, *, loaded_by: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "effective_from": doc.effective_from,
        "name": doc.name,
        "document": doc.model_dump(mode="json"),
        "loaded_at": now,
        "loaded_by": loaded_by,
    }


async def add_schedule(uow: UnitOfWork, doc: FeeScheduleDocument, *, loaded_by: str, now: dt.datetime) -> bool:
    """Add a schedule; False when one already takes effect on its date (the unique date decides)."""
    conn = await uow.session.connection()
    inserted = await upsert(conn, FEE_SCHEDULE, _row(doc, loaded_by=loaded_by, now=now), key=("effective_from",))
    return bool(inserted.rowcount)


async def seed_if_empty(uow: UnitOfWork, doc: FeeScheduleDocument, *, now: dt.datetime) -> bool:
    """Load a schedule when the table is empty; returns whether it did."""
    conn = await uow.session.connection()
    if (await conn.execute(select(func.count()).select_from(FEE_SCHEDULE))).scalar_one():
        return False
    # Two replicas starting together both see an empty table; the second insert does nothing.
    return await add_schedule(uow, doc, loaded_by="seed", now=now)
