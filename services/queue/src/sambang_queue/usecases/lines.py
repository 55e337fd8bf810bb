"""Waiting lines: what several routes do alike when a ticket leaves or joins a stage's line."""

from __future__ import annotations

import datetime as dt

from sambang_contracts import ApplicationCancelled, CancelReason, Stage, TicketNearTurn, TicketNoShow
from sambang_runtime.uow import UnitOfWork

from ..context import context_of
from ..domain.visits import no_show_stage
from ..stores import offices, visits
from ..stores.visits import VisitRecord
from .estimates import estimated_wait


async def announce_near_turn(uow: UnitOfWork, office: str, day: dt.date, stage: str, now: dt.datetime) -> None:
    """After a stage's waiting line changed: the ticket now at the office's `near_turn_position`
    hears `queue.ticket.near_turn` with its estimated wait, once per ticket and stage (0 turns the
    notice off)."""
    info = await offices.office_or_404(uow, context_of(uow).offices, office)
    position = info.settings.near_turn_position
    if position < 1:
        return
    v = await visits.note_near_turn(uow, office, day, stage, position, now)
    if v is not None:
        uow.emit(
            TicketNearTurn(
                receipt_number=v.receipt_number,
                ticket=v.ticket,
                stage=Stage(stage),
                position=position,
                estimated_wait=await estimated_wait(uow, info, v.lane, stage, position, now),
            )
        )


async def record_no_show(uow: UnitOfWork, v: VisitRecord, now: dt.datetime) -> None:
    """Mark the visit a no-show and say so: the ticket (at its stage: SAMBANG when the claimed
    applicant was not at the seat), and the application closed as NO_SHOW."""
    closed = await visits.mark_no_show(uow, v, now)
    uow.emit(TicketNoShow(receipt_number=v.receipt_number, ticket=v.ticket, stage=no_show_stage(v.stage)))
    if closed:
        uow.emit(ApplicationCancelled(receipt_number=v.receipt_number, reason=CancelReason.NO_SHOW))
