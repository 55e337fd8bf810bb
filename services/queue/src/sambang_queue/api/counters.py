"""Counters: call the next ticket of a stage, and the waiting queue of the office."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel
from sambang_contracts import Stage, TicketCalled
from sambang_runtime.errors import DomainError
from sambang_runtime.service import UowDep

from ..domain.lanes import may_call
from ..domain.status import Status
from ..domain.times import local_today
from ..domain.visits import SERVICE, WAITING, minutes_between
from ..stores import applications, offices, trail, visits
from ..usecases.lines import announce_near_turn
from .deps import ContextDep, CounterOfficer, Officer, officer_of_office
from .schemas import OfficePath, StageIn, TicketView

router = APIRouter(prefix="/v1/offices", tags=["counters"])

CounterId = Annotated[str, Path(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_-]+$")]


@router.post(
    "/{office_code}/counters/{counter}/call-next",
    response_model=TicketView,
    responses={204: {"description": "No ticket is waiting at this stage"}},
)
async def call_next(
    office_code: OfficePath, counter: CounterId, body: StageIn, principal: CounterOfficer, ctx: ContextDep, uow: UowDep
) -> TicketView | Response:
    """The next waiting ticket of the stage, first come first served by check-in; 204 when none.

    Under any concurrency each ticket goes to exactly one counter (stores.visits.call_next).
    """
    officer_of_office(principal, office_code)
    if not may_call(principal.roles, body.stage):
        raise DomainError("stage_not_allowed")
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    now = uow.now()
    today = local_today(now, info.timezone)
    busy = await visits.called_at_counter(uow, info.code, today, counter)
    if busy is not None:
        raise DomainError("counter_busy", ticket_id=busy.visit_id, ticket=busy.ticket)
    taken = await visits.call_next(uow, info.code, today, body.stage.value, counter, now)
    if taken is None:
        return Response(status_code=204)
    await visits.start_stage(uow, taken, body.stage.value, principal.sub, counter, now)
    if taken.purpose == SERVICE:
        await applications.set_status(uow, taken.receipt_number, Status.IN_SERVICE, now)
    detail = {"ticket": taken.ticket, "stage": body.stage.value, "counter": counter}
    await trail.add_timeline(uow, taken.receipt_number, "CALLED", now, detail=detail)
    await trail.add_audit(uow, principal, "ticket.called", now, receipt_number=taken.receipt_number, detail=detail)
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
    await announce_near_turn(uow, info.code, today, body.stage.value, now)
    await uow.commit()
    return TicketView.of(taken)


class CalledTicket(BaseModel):
    """A ticket being called at a counter."""

    ticket_id: str
    ticket: str
    lane: str
    stage: str
    counter: str | None
    minutes_waited: int


class WaitingTicket(CalledTicket):
    """A waiting ticket and its place at its stage."""

    position: int


class WaitingQueue(BaseModel):
    """Today's tickets waiting and being called."""

    office: str
    date: str
    waiting: list[WaitingTicket]
    called: list[CalledTicket]


@router.get("/{office_code}/queue")
async def waiting_queue(
    office_code: OfficePath, principal: Officer, ctx: ContextDep, uow: UowDep, stage: Stage | None = Query(default=None)
) -> WaitingQueue:
    """Waiting tickets of today with their position and minutes waited, and the tickets being called."""
    officer_of_office(principal, office_code)
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    now = uow.now()
    today = local_today(now, info.timezone)
    positions: dict[str, int] = {}
    waiting: list[WaitingTicket] = []
    called: list[CalledTicket] = []
    for r in await visits.queue_of(uow, info.code, today, None if stage is None else stage.value):
        item = CalledTicket(
            ticket_id=r.id,
            ticket=r.ticket,
            lane=r.lane,
            stage=r.stage,
            counter=r.counter,
            minutes_waited=minutes_between(r.checked_in_at, now),
        )
        if r.state == WAITING:
            positions[r.stage] = positions.get(r.stage, 0) + 1
            waiting.append(WaitingTicket(**item.model_dump(), position=positions[r.stage]))
        else:
            called.append(item)
    return WaitingQueue(office=info.code, date=today.isoformat(), waiting=waiting, called=called)
