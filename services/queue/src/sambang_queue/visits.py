"""Visits and their tickets: numbering, priority seats, stages, completion and no-shows.

A visit is one person's presence at the office on one day (purpose SERVICE, or PICKUP for the
passport); its ticket (A001, P001, C001) is unique per office and day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sambang_contracts import (
    ApplicationCancelled,
    CancelReason,
    Stage,
    TicketNoShow,
    VisitCompleted,
)
from sambang_contracts.values import format_ticket
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Row, and_, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .booking import give_place_back
from .domain import DONE_STAGE, RuleBroken, Status, advanced, is_active, pick_seat
from .models import UtcDateTime, application, seat_assignment, ticket_sequence, visit, visit_stage
from .trail import add_timeline

WAITING = "WAITING"
CALLED = "CALLED"
IN_SERVICE = "IN_SERVICE"
DONE = "DONE"
NO_SHOW = "NO_SHOW"

SERVICE = "SERVICE"
PICKUP = "PICKUP"


def _insert(conn: AsyncConnection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def utc(value: dt.datetime) -> Any:
    """A bind parameter of an instant that keeps its UTC type inside SQL expressions."""
    return literal(value, UtcDateTime())


async def next_ticket(conn: AsyncConnection, office: str, day: dt.date, letter: str) -> str:
    """The next ticket of a lane today: one atomic upsert, so two kiosks never print the same number."""
    ins = _insert(conn)(ticket_sequence).values(office=office, day=day, letter=letter, n=1)
    stmt = ins.on_conflict_do_update(
        index_elements=["office", "day", "letter"], set_={"n": ticket_sequence.c.n + 1}
    ).returning(ticket_sequence.c.n)
    n = int((await conn.execute(stmt)).scalar_one())
    if n > 999:
        raise RuleBroken("tickets_exhausted")
    return format_ticket(letter, n)


async def allocate_seat(
    conn: AsyncConnection, office: str, day: dt.date, seats: Sequence[str], visit_id: str
) -> str | None:
    """The first free priority seat (P1, P2, …), or None when all are taken (the officer still comes)."""
    taken = (
        await conn.execute(
            select(seat_assignment.c.seat).where(seat_assignment.c.office == office, seat_assignment.c.day == day)
        )
    ).scalars()
    for seat in pick_seat(seats, taken):
        # Two check-ins may race for the same seat: the primary key lets exactly one have it.
        stmt = (
            _insert(conn)(seat_assignment)
            .values(office=office, day=day, seat=seat, visit_id=visit_id)
            .on_conflict_do_nothing()
            .returning(seat_assignment.c.seat)
        )
        if (await conn.execute(stmt)).first() is not None:
            return seat
    return None


async def free_seat(conn: AsyncConnection, visit_id: str) -> None:
    """The applicant left the seat."""
    await conn.execute(delete(seat_assignment).where(seat_assignment.c.visit_id == visit_id))


async def position_of(conn: AsyncConnection, v: Row[Any]) -> int:
    """1-based place among the visits waiting at the same stage, first come first served."""
    if v.state != WAITING:
        return 0
    ahead = await conn.execute(
        select(func.count())
        .select_from(visit)
        .where(
            visit.c.office == v.office,
            visit.c.day == v.day,
            visit.c.stage == v.stage,
            visit.c.state == WAITING,
            or_(
                visit.c.checked_in_at < utc(v.checked_in_at),
                and_(visit.c.checked_in_at == utc(v.checked_in_at), visit.c.id < v.id),
            ),
        )
    )
    return int(ahead.scalar_one()) + 1


async def get_visit(conn: AsyncConnection, visit_id: str, *, lock: bool = False) -> Row[Any] | None:
    """A visit by id (row-locked on PostgreSQL when asked)."""
    stmt = select(visit).where(visit.c.id == visit_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).first()


async def start_stage(
    conn: AsyncConnection, v: Row[Any], stage: str, officer: str, counter: str | None, now: dt.datetime
) -> None:
    """Service of a stage began (first call at a counter, or a sambang claim)."""
    await conn.execute(
        insert(visit_stage).values(
            visit_id=v.id, office=v.office, day=v.day, stage=stage, officer=officer, counter=counter, started_at=now
        )
    )


async def end_stage(conn: AsyncConnection, visit_id: str, outcome: str, now: dt.datetime) -> None:
    """Close the open stage record of a visit."""
    await conn.execute(
        update(visit_stage)
        .where(visit_stage.c.visit_id == visit_id, visit_stage.c.ended_at.is_(None))
        .values(ended_at=now, outcome=outcome)
    )


async def set_status(
    conn: AsyncConnection, receipt_number: str, new: Status, now: dt.datetime, **values: Any
) -> Status:
    """Move an application forward (never back, events come in any order); returns the status kept."""
    row = (
        await conn.execute(select(application.c.status).where(application.c.receipt_number == receipt_number))
    ).first()
    if row is None:
        return new
    current = Status(row.status)
    target = advanced(current, new)
    changes: dict[str, Any] = dict(values)
    if target != current:
        changes["status"] = target.value
        changes["active"] = is_active(target)
        if not is_active(target) and target != Status.COLLECTED:
            changes.setdefault("closed_at", now)
    if changes:
        changes["updated_at"] = now
        await conn.execute(update(application).where(application.c.receipt_number == receipt_number).values(**changes))
    return target


def _seconds(a: dt.datetime | None, b: dt.datetime | None) -> int:
    if a is None or b is None:
        return 0
    return max(0, int((b - a).total_seconds()))


async def complete_visit(conn: AsyncConnection, uow: UnitOfWork, v: Row[Any], now: dt.datetime) -> None:
    """The visit is over: free the seat, close the stage, report waited and served time."""
    await conn.execute(
        update(visit).where(visit.c.id == v.id).values(stage=DONE_STAGE, state=DONE, completed_at=now, counter=None)
    )
    await end_stage(conn, v.id, "COMPLETED", now)
    await free_seat(conn, v.id)
    started = v.first_called_at or v.claimed_at
    uow.emit(
        VisitCompleted(
            receipt_number=v.receipt_number,
            visit_id=v.id,
            waited_seconds=_seconds(v.checked_in_at, started),
            served_seconds=_seconds(started, now),
        )
    )
    if v.purpose == SERVICE:
        await set_status(conn, v.receipt_number, Status.IN_PROCESS, now)
    await add_timeline(conn, v.receipt_number, "VISIT_COMPLETED", now, detail={"ticket": v.ticket})


async def mark_no_show(conn: AsyncConnection, uow: UnitOfWork, v: Row[Any], now: dt.datetime) -> None:
    """The applicant did not answer the calls: the visit ends, the place goes back to the slot."""
    await conn.execute(update(visit).where(visit.c.id == v.id).values(state=NO_SHOW, counter=None))
    await end_stage(conn, v.id, "NO_SHOW", now)
    await free_seat(conn, v.id)
    stage = Stage(v.stage) if v.stage in Stage.__members__ else Stage.VERIFICATION
    uow.emit(TicketNoShow(receipt_number=v.receipt_number, ticket=v.ticket, stage=stage))
    await add_timeline(conn, v.receipt_number, "NO_SHOW", now, detail={"ticket": v.ticket, "stage": v.stage})
    if v.purpose != SERVICE:
        return  # a missed pickup call leaves the passport waiting; the applicant takes a new ticket
    app = (
        await conn.execute(
            select(application.c.status, application.c.slot_id).where(application.c.receipt_number == v.receipt_number)
        )
    ).first()
    if app is None or Status(app.status) in {Status.NO_SHOW, Status.CANCELLED, Status.EXPIRED}:
        return
    await set_status(conn, v.receipt_number, Status.NO_SHOW, now, close_reason="NO_SHOW")
    await give_place_back(conn, app.slot_id)
    uow.emit(ApplicationCancelled(receipt_number=v.receipt_number, reason=CancelReason.NO_SHOW))


def visit_view(v: Row[Any], position: int | None = None) -> dict[str, Any]:
    """A visit (ticket) as the API shows it."""
    return {
        "visit_id": v.id,
        "ticket_id": v.id,
        "receipt_number": v.receipt_number,
        "ticket": v.ticket,
        "lane": v.lane,
        "seat": v.seat,
        "priority_category": v.priority_category,
        "stage": v.stage,
        "state": v.state,
        "counter": v.counter,
        "calls": v.calls,
        "claimed_by": v.claimed_by,
        "checked_in_at": v.checked_in_at.isoformat(),
        "position": position,
    }
