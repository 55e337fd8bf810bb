"""Tickets at a counter: recall, no-show, complete (to the next stage), transfer back to a stage."""

from __future__ import annotations

from fastapi import APIRouter
from sambang_contracts import Lane, Stage, TicketCalled, TicketTransferred
from sambang_runtime.auth import Principal
from sambang_runtime.errors import DomainError
from sambang_runtime.service import UowDep
from sambang_runtime.uow import UnitOfWork

from ..domain.lanes import DONE_STAGE, next_stage, serves_stage, transfer_allowed
from ..domain.visits import CALLED, WAITING
from ..stores import offices, trail, visits
from ..stores.visits import VisitRecord
from ..usecases.lines import announce_near_turn, record_no_show
from ..usecases.visits import close_visit
from .deps import ContextDep, CounterOfficer, officer_of_office
from .schemas import IdPath, StageIn, TicketView

router = APIRouter(prefix="/v1/tickets", tags=["counters"])


async def _ticket_for(uow: UnitOfWork, ticket_id: str, principal: Principal) -> VisitRecord:
    v = await visits.find(uow, ticket_id, lock=True)
    if v is None:
        raise DomainError("visit_not_found")
    officer_of_office(principal, v.office)
    if not serves_stage(principal.roles, v.stage):
        raise DomainError("wrong_stage_role", stage=v.stage)
    return v


async def _reload(uow: UnitOfWork, ticket_id: str) -> TicketView:
    v = await visits.find(uow, ticket_id)
    assert v is not None
    return TicketView.of(v)


@router.post("/{ticket_id}/recall")
async def recall(ticket_id: IdPath, principal: CounterOfficer, ctx: ContextDep, uow: UowDep) -> TicketView:
    """Call the ticket again; after the office's number of unanswered calls it becomes a no-show."""
    v = await _ticket_for(uow, ticket_id, principal)
    if v.state != CALLED:
        raise DomainError("ticket_not_called")
    info = await offices.office_or_404(uow, ctx.offices, v.office)
    now = uow.now()
    if v.calls >= info.settings.no_show_after_calls:
        await record_no_show(uow, v, now)
        await trail.add_audit(
            uow, principal, "ticket.no_show", now, receipt_number=v.receipt_number, detail={"calls": v.calls}
        )
    else:
        await visits.recall(uow, v, now)
        await trail.add_audit(
            uow, principal, "ticket.recalled", now, receipt_number=v.receipt_number, detail={"call": v.calls + 1}
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
    result = await _reload(uow, v.id)
    await uow.commit()
    return result


@router.post("/{ticket_id}/no-show")
async def mark_no_show(ticket_id: IdPath, principal: CounterOfficer, uow: UowDep) -> TicketView:
    """Mark a ticket as a no-show by hand: its place goes back to the slot."""
    v = await _ticket_for(uow, ticket_id, principal)
    if v.state not in (CALLED, WAITING):
        raise DomainError("ticket_not_called")
    now = uow.now()
    await record_no_show(uow, v, now)
    await trail.add_audit(
        uow, principal, "ticket.no_show", now, receipt_number=v.receipt_number, detail={"by_hand": True}
    )
    if v.state == WAITING:
        await announce_near_turn(uow, v.office, v.day, v.stage, now)  # the tickets behind it moved up
    result = await _reload(uow, v.id)
    await uow.commit()
    return result


@router.post("/{ticket_id}/complete")
async def complete(ticket_id: IdPath, principal: CounterOfficer, uow: UowDep) -> TicketView:
    """The stage is done: the visit moves to its next stage (verification, then interview), or ends."""
    v = await _ticket_for(uow, ticket_id, principal)
    if v.state != CALLED:
        raise DomainError("ticket_not_called")
    if v.stage == Stage.PICKUP.value:
        raise DomainError("hand_over_required")
    now = uow.now()
    following = next_stage(Lane(v.lane), v.stage)
    await trail.add_timeline(
        uow, v.receipt_number, "STAGE_COMPLETED", now, detail={"ticket": v.ticket, "stage": v.stage}
    )
    await trail.add_audit(
        uow, principal, "ticket.completed", now, receipt_number=v.receipt_number, detail={"stage": v.stage}
    )
    if following == DONE_STAGE:
        await close_visit(uow, v, now)
    else:
        await visits.end_stage(uow, v.id, "COMPLETED", now)
        await visits.wait_at(uow, v.id, following)
        uow.emit(
            TicketTransferred(
                receipt_number=v.receipt_number, ticket=v.ticket, from_stage=Stage(v.stage), to_stage=Stage(following)
            )
        )
        await announce_near_turn(uow, v.office, v.day, following, now)
    result = await _reload(uow, v.id)
    await uow.commit()
    return result


@router.post("/{ticket_id}/transfer")
async def transfer(ticket_id: IdPath, body: StageIn, principal: CounterOfficer, uow: UowDep) -> TicketView:
    """Send a ticket back to a stage of its lane (e.g. to verification for a missing document)."""
    v = await _ticket_for(uow, ticket_id, principal)
    if v.state not in (CALLED, WAITING) or not transfer_allowed(Lane(v.lane), body.stage):
        raise DomainError("invalid_transfer")
    now = uow.now()
    if v.state == CALLED:
        await visits.end_stage(uow, v.id, "TRANSFERRED", now)
    await visits.wait_at(uow, v.id, body.stage.value)
    if v.stage != body.stage.value:
        uow.emit(
            TicketTransferred(
                receipt_number=v.receipt_number, ticket=v.ticket, from_stage=Stage(v.stage), to_stage=body.stage
            )
        )
        if v.state == WAITING:
            await announce_near_turn(uow, v.office, v.day, v.stage, now)
    await announce_near_turn(uow, v.office, v.day, body.stage.value, now)
    await trail.add_audit(
        uow,
        principal,
        "ticket.transferred",
        now,
        receipt_number=v.receipt_number,
        detail={"from": v.stage, "to": body.stage.value},
    )
    result = await _reload(uow, v.id)
    await uow.commit()
    return result
