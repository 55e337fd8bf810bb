"""Counters: call the next ticket of a stage, recall, no-show, complete, transfer; the waiting queue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse
from sambang_contracts import Lane, Stage, TicketCalled
from sambang_runtime.auth import Principal
from sambang_runtime.service import UowDep
from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import DONE_STAGE, Status, local_today, may_call, next_stage, transfer_allowed
from ..errors import problem
from ..models import visit
from ..trail import add_audit, add_timeline
from ..visits import (
    CALLED,
    WAITING,
    complete_visit,
    end_stage,
    get_visit,
    mark_no_show,
    set_status,
    start_stage,
    utc,
    visit_view,
)
from .deps import Conn, CounterOfficer, Ctx, Officer, office_or_404, officer_of_office
from .schemas import Strict

router = APIRouter(tags=["counters"])

CounterId = Annotated[str, Path(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_-]+$")]


class StageIn(Strict):
    """A stage of the regular or pickup lane."""

    stage: Stage


@router.post("/v1/offices/{office_code}/counters/{counter}/call-next", response_model=None)
async def call_next(
    office_code: str, counter: CounterId, body: StageIn, principal: CounterOfficer, ctx: Ctx, uow: UowDep
) -> Response:
    """The next waiting ticket of the stage, first come first served by check-in; 204 when none.

    Under any concurrency each ticket goes to exactly one counter: the row is taken with
    ``FOR UPDATE SKIP LOCKED`` and the update is conditional on the ticket still waiting.
    """
    officer_of_office(principal, office_code)
    if not may_call(principal.roles, body.stage):
        raise problem("stage_not_allowed")
    conn = await uow.session.connection()
    info = await office_or_404(ctx, conn, office_code)
    now = ctx.now()
    today = local_today(now, info.timezone)
    busy = (
        await conn.execute(
            select(visit.c.id, visit.c.ticket).where(
                visit.c.office == info.code, visit.c.day == today, visit.c.counter == counter, visit.c.state == CALLED
            )
        )
    ).first()
    if busy is not None:
        raise problem("counter_busy", extra={"ticket_id": busy.id, "ticket": busy.ticket})
    candidate = (
        select(visit.c.id)
        .where(
            visit.c.office == info.code,
            visit.c.day == today,
            visit.c.stage == body.stage.value,
            visit.c.state == WAITING,
        )
        .order_by(visit.c.checked_in_at, visit.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    taken = (
        await conn.execute(
            update(visit)
            .where(visit.c.id == candidate, visit.c.state == WAITING)
            .values(
                state=CALLED,
                counter=counter,
                calls=1,
                called_at=now,
                first_called_at=func.coalesce(visit.c.first_called_at, utc(now)),
            )
            .returning(*visit.c)
        )
    ).first()
    if taken is None:
        return Response(status_code=204)
    await start_stage(conn, taken, body.stage.value, principal.sub, counter, now)
    if taken.purpose == "SERVICE":
        await set_status(conn, taken.receipt_number, Status.IN_SERVICE, now)
    await add_timeline(
        conn,
        taken.receipt_number,
        "CALLED",
        now,
        detail={"ticket": taken.ticket, "stage": body.stage.value, "counter": counter},
    )
    await add_audit(
        conn,
        principal,
        "ticket.called",
        now,
        receipt_number=taken.receipt_number,
        detail={"ticket": taken.ticket, "stage": body.stage.value, "counter": counter},
    )
    uow.emit(
        TicketCalled(
            receipt_number=taken.receipt_number,
            ticket=taken.ticket,
            stage=body.stage,
            counter=counter,
            called_at=now,
            recall=0,
        )
    )
    await uow.commit()
    return JSONResponse(visit_view(taken))


async def _ticket_for(conn: AsyncConnection, ticket_id: str, principal: Principal) -> Row[Any]:
    v = await get_visit(conn, ticket_id, lock=True)
    if v is None:
        raise problem("visit_not_found")
    officer_of_office(principal, v.office)
    return v


async def _reload(conn: AsyncConnection, ticket_id: str) -> dict[str, Any]:
    v = await get_visit(conn, ticket_id)
    assert v is not None
    return visit_view(v)


@router.post("/v1/tickets/{ticket_id}/recall")
async def recall(ticket_id: str, principal: CounterOfficer, ctx: Ctx, uow: UowDep) -> dict[str, Any]:
    """Call the ticket again; after the office's number of unanswered calls it becomes a no-show."""
    conn = await uow.session.connection()
    v = await _ticket_for(conn, ticket_id, principal)
    if v.state != CALLED:
        raise problem("ticket_not_called")
    info = await office_or_404(ctx, conn, v.office)
    now = ctx.now()
    if v.calls >= info.settings.no_show_after_calls:
        await mark_no_show(conn, uow, v, now)
        await add_audit(
            conn, principal, "ticket.no_show", now, receipt_number=v.receipt_number, detail={"calls": v.calls}
        )
    else:
        await conn.execute(update(visit).where(visit.c.id == v.id).values(calls=v.calls + 1, called_at=now))
        await add_audit(
            conn, principal, "ticket.recalled", now, receipt_number=v.receipt_number, detail={"call": v.calls + 1}
        )
        uow.emit(
            TicketCalled(
                receipt_number=v.receipt_number,
                ticket=v.ticket,
                stage=Stage(v.stage),
                counter=v.counter or "",
                called_at=now,
                recall=v.calls,
            )
        )
    result = await _reload(conn, v.id)
    await uow.commit()
    return result


@router.post("/v1/tickets/{ticket_id}/no-show")
async def no_show(ticket_id: str, principal: CounterOfficer, ctx: Ctx, uow: UowDep) -> dict[str, Any]:
    """Mark a ticket as a no-show by hand: its place goes back to the slot."""
    conn = await uow.session.connection()
    v = await _ticket_for(conn, ticket_id, principal)
    if v.state not in (CALLED, WAITING):
        raise problem("ticket_not_called")
    now = ctx.now()
    await mark_no_show(conn, uow, v, now)
    await add_audit(conn, principal, "ticket.no_show", now, receipt_number=v.receipt_number, detail={"by_hand": True})
    result = await _reload(conn, v.id)
    await uow.commit()
    return result


@router.post("/v1/tickets/{ticket_id}/complete")
async def complete(ticket_id: str, principal: CounterOfficer, ctx: Ctx, uow: UowDep) -> dict[str, Any]:
    """The stage is done: the visit moves to its next stage (verification, then interview), or ends."""
    conn = await uow.session.connection()
    v = await _ticket_for(conn, ticket_id, principal)
    if v.state != CALLED:
        raise problem("ticket_not_called")
    if v.stage == Stage.PICKUP.value:
        raise problem("hand_over_required")
    now = ctx.now()
    following = next_stage(Lane(v.lane), v.stage)
    await add_timeline(conn, v.receipt_number, "STAGE_COMPLETED", now, detail={"ticket": v.ticket, "stage": v.stage})
    await add_audit(
        conn, principal, "ticket.completed", now, receipt_number=v.receipt_number, detail={"stage": v.stage}
    )
    if following == DONE_STAGE:
        await complete_visit(conn, uow, v, now)
    else:
        await end_stage(conn, v.id, "COMPLETED", now)
        await conn.execute(
            update(visit)
            .where(visit.c.id == v.id)
            .values(stage=following, state=WAITING, counter=None, calls=0, called_at=None)
        )
    result = await _reload(conn, v.id)
    await uow.commit()
    return result


@router.post("/v1/tickets/{ticket_id}/transfer")
async def transfer(ticket_id: str, body: StageIn, principal: CounterOfficer, ctx: Ctx, uow: UowDep) -> dict[str, Any]:
    """Send a ticket back to a stage of its lane (e.g. to verification for a missing document)."""
    conn = await uow.session.connection()
    v = await _ticket_for(conn, ticket_id, principal)
    if v.state not in (CALLED, WAITING) or not transfer_allowed(Lane(v.lane), body.stage):
        raise problem("invalid_transfer")
    now = ctx.now()
    if v.state == CALLED:
        await end_stage(conn, v.id, "TRANSFERRED", now)
    await conn.execute(
        update(visit)
        .where(visit.c.id == v.id)
        .values(stage=body.stage.value, state=WAITING, counter=None, calls=0, called_at=None)
    )
    await add_audit(
        conn,
        principal,
        "ticket.transferred",
        now,
        receipt_number=v.receipt_number,
        detail={"from": v.stage, "to": body.stage.value},
    )
    result = await _reload(conn, v.id)
    await uow.commit()
    return result


@router.get("/v1/offices/{office_code}/queue")
async def waiting_queue(
    office_code: str, principal: Officer, ctx: Ctx, conn: Conn, stage: Stage | None = Query(default=None)
) -> dict[str, Any]:
    """Waiting tickets of today with their position and minutes waited, and the tickets being called."""
    officer_of_office(principal, office_code)
    info = await office_or_404(ctx, conn, office_code)
    now = ctx.now()
    today = local_today(now, info.timezone)
    conditions = [visit.c.office == info.code, visit.c.day == today, visit.c.state.in_((WAITING, CALLED))]
    if stage is not None:
        conditions.append(visit.c.stage == stage.value)
    else:
        conditions.append(visit.c.lane != Lane.PRIORITY.value)
    rows = (await conn.execute(select(visit).where(*conditions).order_by(visit.c.checked_in_at, visit.c.id))).all()
    positions: dict[str, int] = {}
    waiting: list[dict[str, Any]] = []
    called: list[dict[str, Any]] = []
    for r in rows:
        item = {
            "ticket_id": r.id,
            "ticket": r.ticket,
            "lane": r.lane,
            "stage": r.stage,
            "counter": r.counter,
            "minutes_waited": _minutes(r.checked_in_at, now),
        }
        if r.state == WAITING:
            positions[r.stage] = positions.get(r.stage, 0) + 1
            waiting.append({**item, "position": positions[r.stage]})
        else:
            called.append(item)
    return {"office": info.code, "date": today.isoformat(), "waiting": waiting, "called": called}


def _minutes(since: dt.datetime, now: dt.datetime) -> int:
    return max(0, int((now - since).total_seconds() // 60))
