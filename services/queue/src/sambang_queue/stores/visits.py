"""Visits and their tickets: numbering, priority seats, stages, calls, claims, completion, no-shows.

A visit is one person's presence at the office on one day (purpose SERVICE, or PICKUP for the
passport); its ticket (A001, P001, C001) is unique per office and day. Every state change is a
conditional update whose row count decides who won, so no concurrency serves a ticket twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sambang_contracts import Lane, WaitEstimate
from sambang_contracts.values import format_ticket
from sambang_runtime.db import UtcDateTime
from sambang_runtime.errors import DomainError
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Row, and_, delete, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.lanes import DONE_STAGE, pick_seat
from ..domain.status import Status
from ..domain.visits import CALLED, DONE, IN_SERVICE, NO_SHOW, SERVICE, WAITING
from ..models import near_turn_notice, seat_assignment, ticket_sequence, visit, visit_stage
from . import applications, connection_of, trail


@dataclass(frozen=True, slots=True)
class VisitRecord:
    """One visit and its ticket: every column of `visit`."""

    id: str
    receipt_number: str
    office: str
    day: dt.date
    #: SERVICE or PICKUP
    purpose: str
    lane: str
    ticket: str
    seat: str | None
    priority_category: str
    #: KIOSK, CUSTOMER_CARE, WALK_IN
    channel: str
    paid: bool
    stage: str
    #: WAITING, CALLED, IN_SERVICE, DONE, NO_SHOW
    state: str
    counter: str | None
    calls: int
    called_at: dt.datetime | None
    first_called_at: dt.datetime | None
    claimed_by: str | None
    claimed_at: dt.datetime | None
    checked_in_at: dt.datetime
    completed_at: dt.datetime | None
    #: the estimated wait given with the ticket (minutes), None when none was given
    estimate_low_minutes: int | None
    estimate_high_minutes: int | None


@dataclass(frozen=True, slots=True)
class TicketRef:
    """A ticket named: its visit, its receipt, its number and its lane."""

    visit_id: str
    receipt_number: str
    ticket: str
    lane: str


def _record(row: Row[Any]) -> VisitRecord:
    """A row of `select(visit)` or `RETURNING *visit.c` (the record's fields are the table's columns:
    a unit test holds it)."""
    return VisitRecord(**row._mapping)


def _maybe(row: Row[Any] | None) -> VisitRecord | None:
    return None if row is None else _record(row)


def _utc(value: dt.datetime) -> Any:
    """A bind parameter of an instant that keeps its UTC type inside SQL expressions."""
    return literal(value, UtcDateTime())


async def next_ticket(uow: UnitOfWork, office: str, day: dt.date, letter: str) -> str:
    """The next ticket of a lane today: one atomic upsert, so two kiosks never print the same number."""
    conn = await connection_of(uow)
    taken = await upsert(
        conn,
        ticket_sequence,
        {"office": office, "day": day, "letter": letter, "n": 1},
        key=("office", "day", "letter"),
        update={"n": ticket_sequence.c.n + 1},
        returning=(ticket_sequence.c.n,),
    )
    n = int(taken.scalar_one())
    if n > 999:
        raise DomainError("tickets_exhausted")
    return format_ticket(letter, n)


async def allocate_seat(uow: UnitOfWork, office: str, day: dt.date, seats: Sequence[str], visit_id: str) -> str | None:
    """The first free priority seat (P1, P2, …), or None when all are taken (the officer still comes)."""
    conn = await connection_of(uow)
    taken = (
        await conn.execute(
            select(seat_assignment.c.seat).where(seat_assignment.c.office == office, seat_assignment.c.day == day)
        )
    ).scalars()
    for seat in pick_seat(seats, taken):
        # Two check-ins may race for the same seat: the primary key lets exactly one have it.
        won = await upsert(
            conn,
            seat_assignment,
            {"office": office, "day": day, "seat": seat, "visit_id": visit_id},
            key=("office", "day", "seat"),
            returning=(seat_assignment.c.seat,),
        )
        if won.first() is not None:
            return seat
    return None


async def _free_seat(conn: AsyncConnection, visit_id: str) -> None:
    """The applicant left the seat."""
    await conn.execute(delete(seat_assignment).where(seat_assignment.c.visit_id == visit_id))


async def add(
    uow: UnitOfWork,
    *,
    id: str,
    receipt_number: str,
    office: str,
    day: dt.date,
    purpose: str,
    lane: str,
    ticket: str,
    seat: str | None,
    priority_category: str,
    channel: str,
    paid: bool,
    stage: str,
    now: dt.datetime,
) -> VisitRecord:
    """Queue a new visit, waiting at its first stage since `now`; returns it."""
    v = VisitRecord(
        id=id,
        receipt_number=receipt_number,
        office=office,
        day=day,
        purpose=purpose,
        lane=lane,
        ticket=ticket,
        seat=seat,
        priority_category=priority_category,
        channel=channel,
        paid=paid,
        stage=stage,
        state=WAITING,
        counter=None,
        calls=0,
        called_at=None,
        first_called_at=None,
        claimed_by=None,
        claimed_at=None,
        checked_in_at=now,
        completed_at=None,
        estimate_low_minutes=None,
        estimate_high_minutes=None,
    )
    conn = await connection_of(uow)
    await conn.execute(
        insert(visit).values(
            id=v.id,
            receipt_number=v.receipt_number,
            office=v.office,
            day=v.day,
            purpose=v.purpose,
            lane=v.lane,
            ticket=v.ticket,
            seat=v.seat,
            priority_category=v.priority_category,
            channel=v.channel,
            paid=v.paid,
            stage=v.stage,
            state=v.state,
            calls=v.calls,
            checked_in_at=v.checked_in_at,
        )
    )
    return v


async def record_estimate(uow: UnitOfWork, visit_id: str, estimate: WaitEstimate) -> None:
    """Keep the estimated wait the ticket was given, to measure it against the actual wait."""
    conn = await connection_of(uow)
    await conn.execute(
        update(visit)
        .where(visit.c.id == visit_id)
        .values(estimate_low_minutes=estimate.low_minutes, estimate_high_minutes=estimate.high_minutes)
    )


async def position_of(uow: UnitOfWork, v: VisitRecord) -> int:
    """1-based place among the visits waiting at the same stage, first come first served (0: not waiting)."""
    if v.state != WAITING:
        return 0
    conn = await connection_of(uow)
    ahead = await conn.execute(
        select(func.count())
        .select_from(visit)
        .where(
            visit.c.office == v.office,
            visit.c.day == v.day,
            visit.c.stage == v.stage,
            visit.c.state == WAITING,
            or_(
                visit.c.checked_in_at < _utc(v.checked_in_at),
                and_(visit.c.checked_in_at == _utc(v.checked_in_at), visit.c.id < v.id),
            ),
        )
    )
    return int(ahead.scalar_one()) + 1


async def find(uow: UnitOfWork, visit_id: str, *, lock: bool = False) -> VisitRecord | None:
    """A visit by id (row-locked on PostgreSQL when asked)."""
    conn = await connection_of(uow)
    stmt = select(visit).where(visit.c.id == visit_id)
    if lock:
        stmt = stmt.with_for_update()
    return _maybe((await conn.execute(stmt)).first())


async def of_the_day(uow: UnitOfWork, receipt_number: str, purpose: str, day: dt.date) -> VisitRecord | None:
    """The applicant's visit of a purpose on a day, if there is one."""
    conn = await connection_of(uow)
    stmt = select(visit).where(visit.c.receipt_number == receipt_number, visit.c.purpose == purpose, visit.c.day == day)
    return _maybe((await conn.execute(stmt)).first())


async def latest_of(uow: UnitOfWork, receipt_number: str) -> VisitRecord | None:
    """The applicant's most recent visit."""
    conn = await connection_of(uow)
    stmt = select(visit).where(visit.c.receipt_number == receipt_number).order_by(visit.c.checked_in_at.desc())
    return _maybe((await conn.execute(stmt.limit(1))).first())


async def note_near_turn(
    uow: UnitOfWork, office: str, day: dt.date, stage: str, position: int, now: dt.datetime
) -> TicketRef | None:
    """The ticket waiting at `position` of a stage's line today, if it has not been told its turn is
    near at this stage yet (now noted, so never twice: the primary key decides between racing
    counters); else None."""
    conn = await connection_of(uow)
    at = (
        await conn.execute(
            select(visit.c.id, visit.c.receipt_number, visit.c.ticket, visit.c.lane)
            .where(visit.c.office == office, visit.c.day == day, visit.c.stage == stage, visit.c.state == WAITING)
            .order_by(visit.c.checked_in_at, visit.c.id)
            .offset(position - 1)
            .limit(1)
        )
    ).first()
    if at is None:
        return None
    noted = await upsert(
        conn,
        near_turn_notice,
        {"visit_id": at.id, "stage": stage, "position": position, "sent_at": now},
        key=("visit_id", "stage"),
        returning=(near_turn_notice.c.visit_id,),
    )
    return TicketRef(at.id, at.receipt_number, at.ticket, at.lane) if noted.first() is not None else None


async def start_stage(
    uow: UnitOfWork, v: VisitRecord, stage: str, officer: str, counter: str | None, now: dt.datetime
) -> None:
    """Service of a stage began (first call at a counter, or a sambang claim)."""
    conn = await connection_of(uow)
    await conn.execute(
        insert(visit_stage).values(
            visit_id=v.id, office=v.office, day=v.day, stage=stage, officer=officer, counter=counter, started_at=now
        )
    )


async def end_stage(uow: UnitOfWork, visit_id: str, outcome: str, now: dt.datetime) -> None:
    """Close the open stage record of a visit."""
    conn = await connection_of(uow)
    await conn.execute(
        update(visit_stage)
        .where(visit_stage.c.visit_id == visit_id, visit_stage.c.ended_at.is_(None))
        .values(ended_at=now, outcome=outcome)
    )


async def called_at_counter(uow: UnitOfWork, office: str, day: dt.date, counter: str) -> TicketRef | None:
    """The ticket a counter is calling now, if any."""
    conn = await connection_of(uow)
    row = (
        await conn.execute(
            select(visit.c.id, visit.c.receipt_number, visit.c.ticket, visit.c.lane).where(
                visit.c.office == office, visit.c.day == day, visit.c.counter == counter, visit.c.state == CALLED
            )
        )
    ).first()
    return None if row is None else TicketRef(row.id, row.receipt_number, row.ticket, row.lane)


async def call_next(
    uow: UnitOfWork, office: str, day: dt.date, stage: str, counter: str, now: dt.datetime
) -> VisitRecord | None:
    """Take the first waiting ticket of a stage for a counter (by check-in), or None when none waits.

    Under any concurrency each ticket goes to exactly one counter: the row is taken with
    ``FOR UPDATE SKIP LOCKED`` and the update is conditional on the ticket still waiting.
    """
    conn = await connection_of(uow)
    candidate = (
        select(visit.c.id)
        .where(visit.c.office == office, visit.c.day == day, visit.c.stage == stage, visit.c.state == WAITING)
        .order_by(visit.c.checked_in_at, visit.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return _maybe(
        (
            await conn.execute(
                update(visit)
                .where(visit.c.id == candidate, visit.c.state == WAITING)
                .values(
                    state=CALLED,
                    counter=counter,
                    calls=1,
                    called_at=now,
                    first_called_at=func.coalesce(visit.c.first_called_at, _utc(now)),
                )
                .returning(*visit.c)
            )
        ).first()
    )


async def recall(uow: UnitOfWork, v: VisitRecord, now: dt.datetime) -> None:
    """One more call of a called ticket."""
    conn = await connection_of(uow)
    await conn.execute(update(visit).where(visit.c.id == v.id).values(calls=v.calls + 1, called_at=now))


async def wait_at(uow: UnitOfWork, visit_id: str, stage: str) -> None:
    """The visit waits (again) at a stage, first come first served by its check-in."""
    conn = await connection_of(uow)
    await conn.execute(
        update(visit)
        .where(visit.c.id == visit_id)
        .values(stage=stage, state=WAITING, counter=None, calls=0, called_at=None)
    )


async def complete(uow: UnitOfWork, v: VisitRecord, now: dt.datetime) -> None:
    """The visit is over: free the seat, close the stage, the application goes on in process."""
    conn = await connection_of(uow)
    await conn.execute(
        update(visit).where(visit.c.id == v.id).values(stage=DONE_STAGE, state=DONE, completed_at=now, counter=None)
    )
    await end_stage(uow, v.id, "COMPLETED", now)
    await _free_seat(conn, v.id)
    if v.purpose == SERVICE:
        await applications.set_status(uow, v.receipt_number, Status.IN_PROCESS, now)
    await trail.add_timeline(uow, v.receipt_number, "VISIT_COMPLETED", now, detail={"ticket": v.ticket})


async def mark_no_show(uow: UnitOfWork, v: VisitRecord, now: dt.datetime) -> bool:
    """The applicant did not answer the calls: the visit ends; for a service visit the application
    closes as NO_SHOW and its place goes back to the slot. True when the application was closed so."""
    conn = await connection_of(uow)
    await conn.execute(update(visit).where(visit.c.id == v.id).values(state=NO_SHOW, counter=None))
    await end_stage(uow, v.id, "NO_SHOW", now)
    await _free_seat(conn, v.id)
    await trail.add_timeline(uow, v.receipt_number, "NO_SHOW", now, detail={"ticket": v.ticket, "stage": v.stage})
    if v.purpose != SERVICE:
        return False  # a missed pickup call leaves the passport waiting; the applicant takes a new ticket
    app = await applications.find(uow, v.receipt_number)
    if app is None or Status(app.status) in {Status.NO_SHOW, Status.CANCELLED, Status.EXPIRED}:
        return False
    await applications.set_status(
        uow, v.receipt_number, Status.NO_SHOW, now, applications.ApplicationUpdate(close_reason="NO_SHOW")
    )
    await applications.give_place_back(uow, app.slot_id)
    return True


async def hand_over_done(uow: UnitOfWork, visit_id: str, now: dt.datetime) -> None:
    """A pickup visit ends with the hand-over (if it is not over already)."""
    v = await find(uow, visit_id)
    if v is None or v.state == DONE:
        return
    conn = await connection_of(uow)
    await end_stage(uow, v.id, "COMPLETED", now)
    await conn.execute(update(visit).where(visit.c.id == v.id).values(state=DONE, completed_at=now, counter=None))


async def queue_of(uow: UnitOfWork, office: str, day: dt.date, stage: str | None) -> list[VisitRecord]:
    """Tickets waiting or called today, first come first served: of a stage, else of the counter lanes."""
    conn = await connection_of(uow)
    conditions = [visit.c.office == office, visit.c.day == day, visit.c.state.in_((WAITING, CALLED))]
    if stage is not None:
        conditions.append(visit.c.stage == stage)
    else:
        conditions.append(visit.c.lane != Lane.PRIORITY.value)
    rows = await conn.execute(select(visit).where(*conditions).order_by(visit.c.checked_in_at, visit.c.id))
    return [_record(r) for r in rows]


async def worklist(uow: UnitOfWork, office: str, day: dt.date) -> list[VisitRecord]:
    """Priority visits of the day waiting or being served, first come first served."""
    conn = await connection_of(uow)
    rows = await conn.execute(
        select(visit)
        .where(
            visit.c.office == office,
            visit.c.day == day,
            visit.c.lane == Lane.PRIORITY.value,
            visit.c.state.in_((WAITING, IN_SERVICE)),
        )
        .order_by(visit.c.checked_in_at, visit.c.id)
    )
    return [_record(r) for r in rows]


async def claim(uow: UnitOfWork, visit_id: str, officer: str, now: dt.datetime) -> VisitRecord | None:
    """The officer takes a waiting visit, or None when it is not waiting unclaimed.

    Conditional update: of two officers claiming at once, exactly one changes the row.
    """
    conn = await connection_of(uow)
    return _maybe(
        (
            await conn.execute(
                update(visit)
                .where(visit.c.id == visit_id, visit.c.claimed_by.is_(None), visit.c.state == WAITING)
                .values(
                    claimed_by=officer,
                    claimed_at=now,
                    state=IN_SERVICE,
                    first_called_at=func.coalesce(visit.c.first_called_at, _utc(now)),
                )
                .returning(*visit.c)
            )
        ).first()
    )


async def release(uow: UnitOfWork, visit_id: str, officer: str) -> VisitRecord | None:
    """The officer gives a claimed visit back (it waits again in its place), or None when not theirs."""
    conn = await connection_of(uow)
    return _maybe(
        (
            await conn.execute(
                update(visit)
                .where(visit.c.id == visit_id, visit.c.claimed_by == officer, visit.c.state == IN_SERVICE)
                .values(claimed_by=None, claimed_at=None, state=WAITING)
                .returning(*visit.c)
            )
        ).first()
    )


async def mark_paid(uow: UnitOfWork, receipt_number: str) -> None:
    """The applicant's visits are paid (a priority visit may be paid after the interview)."""
    conn = await connection_of(uow)
    await conn.execute(update(visit).where(visit.c.receipt_number == receipt_number).values(paid=True))


async def open_sambang_visit(uow: UnitOfWork, receipt_number: str) -> VisitRecord | None:
    """The applicant's priority service visit still waiting or being served (row-locked)."""
    conn = await connection_of(uow)
    return _maybe(
        (
            await conn.execute(
                select(visit)
                .where(
                    visit.c.receipt_number == receipt_number,
                    visit.c.purpose == SERVICE,
                    visit.c.lane == Lane.PRIORITY.value,
                    visit.c.state.in_((WAITING, IN_SERVICE)),
                )
                .with_for_update()
            )
        ).first()
    )
