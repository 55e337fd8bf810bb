"""What an office's waiting lines say today: the recent service times of a lane and stage, the
tickets served there today, the counters open now and the tickets waiting (the estimated wait is
drawn from these; domain/estimates.py computes it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sambang_runtime.uow import UnitOfWork
from sqlalchemy import ColumnElement, func, or_, select

from ..domain.visits import WAITING
from ..models import visit, visit_stage
from . import connection_of

COMPLETED = "COMPLETED"


@dataclass(frozen=True, slots=True)
class LineWaiting:
    """How many tickets of a lane wait at a stage now."""

    lane: str
    stage: str
    waiting: int


def _of_the_line(office: str, lane: str, stage: str) -> tuple[ColumnElement[bool], ...]:
    s = visit_stage.c
    return (s.office == office, s.stage == stage, s.outcome == COMPLETED, visit.c.lane == lane)


_STAGES_OF_VISITS = visit_stage.join(visit, visit.c.id == visit_stage.c.visit_id)


async def served_on(uow: UnitOfWork, office: str, lane: str, stage: str, day: dt.date) -> int:
    """Tickets of a lane whose service at a stage was completed on `day`."""
    conn = await connection_of(uow)
    count = await conn.execute(
        select(func.count())
        .select_from(_STAGES_OF_VISITS)
        .where(*_of_the_line(office, lane, stage), visit_stage.c.day == day)
    )
    return int(count.scalar_one())


async def recent_service_seconds(uow: UnitOfWork, office: str, lane: str, stage: str, window: int) -> list[float]:
    """How long each of the last `window` completed services of a lane at a stage took (any day,
    newest first), in seconds."""
    conn = await connection_of(uow)
    s = visit_stage.c
    rows = await conn.execute(
        select(s.started_at, s.ended_at)
        .select_from(_STAGES_OF_VISITS)
        .where(*_of_the_line(office, lane, stage), s.ended_at.is_not(None))
        .order_by(s.ended_at.desc())
        .limit(window)
    )
    return [max(0.0, (r.ended_at - r.started_at).total_seconds()) for r in rows]


async def open_counters(uow: UnitOfWork, office: str, stage: str, day: dt.date, since: dt.datetime) -> int:
    """Counters (a sambang officer where there is no counter) of a stage that are serving a ticket now
    or started or finished one since `since`: the queue's view of the counters open."""
    conn = await connection_of(uow)
    s = visit_stage.c
    count = await conn.execute(
        select(func.count(func.distinct(func.coalesce(s.counter, s.officer)))).where(
            s.office == office,
            s.day == day,
            s.stage == stage,
            or_(s.ended_at.is_(None), s.started_at >= since, s.ended_at >= since),
        )
    )
    return int(count.scalar_one())


async def waiting(uow: UnitOfWork, office: str, day: dt.date) -> list[LineWaiting]:
    """Tickets waiting today, by lane and stage."""
    conn = await connection_of(uow)
    v = visit.c
    rows = await conn.execute(
        select(v.lane, v.stage, func.count())
        .where(v.office == office, v.day == day, v.state == WAITING)
        .group_by(v.lane, v.stage)
    )
    return [LineWaiting(lane, stage, int(n)) for lane, stage, n in rows]
