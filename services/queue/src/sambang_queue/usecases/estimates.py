"""Estimated waits: for a ticket at its place in a line (check-in, the status page, the near-turn
notice) and for every line of an office (the board). domain/estimates.py computes; this reads."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sambang_contracts import WaitEstimate
from sambang_runtime.uow import UnitOfWork

from ..context import context_of
from ..domain.estimates import LINES, LineSample, estimate_wait
from ..domain.times import local_today
from ..domain.visits import WAITING
from ..stores import lines, visits
from ..stores.offices import OfficeInfo
from ..stores.visits import VisitRecord


@dataclass(frozen=True, slots=True)
class LineEstimate:
    """One waiting line of an office on the board: its lane and stage, the tickets waiting, and the
    estimated wait of a ticket taken now (None: too few served today)."""

    lane: str
    stage: str
    waiting: int
    estimated_wait: WaitEstimate | None


async def estimated_wait(
    uow: UnitOfWork, info: OfficeInfo, lane: str, stage: str, position: int, now: dt.datetime
) -> WaitEstimate | None:
    """The estimated wait of the ticket at `position` (1 = next) of a lane's line at a stage today."""
    rules = info.settings
    today = local_today(now, info.timezone)
    if position < 1:
        return None
    served = await lines.served_on(uow, info.code, lane, stage, today)
    if served < rules.estimate_min_served:
        return None  # too few today to estimate honestly (and no need to read the rest)
    since = now - dt.timedelta(minutes=context_of(uow).settings.open_counter_minutes)
    sample = LineSample(
        await lines.recent_service_seconds(uow, info.code, lane, stage, rules.estimate_window),
        served,
        await lines.open_counters(uow, info.code, stage, today, since),
    )
    return estimate_wait(sample, position, min_served=rules.estimate_min_served)


async def estimated_wait_of(
    uow: UnitOfWork, info: OfficeInfo, v: VisitRecord, now: dt.datetime, position: int | None = None
) -> WaitEstimate | None:
    """The estimated wait of a visit's ticket at its stage; None when it is not waiting today (called,
    being served, done, or left over from another day) or when there is no estimate. `position` when
    the caller has it already."""
    if v.state != WAITING or v.day != local_today(now, info.timezone):
        return None
    if position is None:
        position = await visits.position_of(uow, v)
    return await estimated_wait(uow, info, v.lane, v.stage, position, now)


async def line_estimates(uow: UnitOfWork, info: OfficeInfo, now: dt.datetime) -> list[LineEstimate]:
    """Every waiting line of the office (LINES, in the board's order): tickets waiting, and the
    estimated wait of a ticket joining it now (behind everyone waiting at its stage)."""
    today = local_today(now, info.timezone)
    by_line = {(w.lane, w.stage): w.waiting for w in await lines.waiting(uow, info.code, today)}
    at_stage: Counter[str] = Counter()
    for (_, stage), n in by_line.items():
        at_stage[stage] += n  # a stage's counters call every lane waiting there, first come first served
    out = []
    for lane, stage in LINES:
        estimate = await estimated_wait(uow, info, lane.value, stage, at_stage[stage] + 1, now)
        out.append(LineEstimate(lane.value, stage, by_line.get((lane.value, stage), 0), estimate))
    return out
