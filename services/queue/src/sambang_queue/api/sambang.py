"""Sambang (visiting the applicant): the worklist of an office's waiting priority visits."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sambang_runtime.auth import ensure_office
from sambang_runtime.service import UowDep

from ..domain.times import local_today
from ..domain.visits import minutes_between
from ..stores import offices, visits
from .deps import ContextDep, SambangOfficer
from .schemas import OfficePath

router = APIRouter(prefix="/v1/offices", tags=["sambang"])


class WorklistItem(BaseModel):
    """A priority visit waiting for (or with) a sambang officer."""

    visit_id: str
    ticket: str
    seat: str | None
    priority_category: str
    minutes_waited: int
    claimed_by: str | None
    state: str
    paid: bool
    receipt_number: str


class Worklist(BaseModel):
    """Today's priority visits not yet served, first come first served."""

    office: str
    date: str
    visits: list[WorklistItem]


@router.get("/{office_code}/sambang/worklist")
async def worklist(office_code: OfficePath, principal: SambangOfficer, ctx: ContextDep, uow: UowDep) -> Worklist:
    """Priority visits of today not yet served, first come first served: the officer comes to them."""
    ensure_office(principal, office_code)
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    now = uow.now()
    today = local_today(now, info.timezone)
    items = [
        WorklistItem(
            visit_id=r.id,
            ticket=r.ticket,
            seat=r.seat,
            priority_category=r.priority_category,
            minutes_waited=minutes_between(r.checked_in_at, now),
            claimed_by=r.claimed_by,
            state=r.state,
            paid=r.paid,
            receipt_number=r.receipt_number,
        )
        for r in await visits.worklist(uow, info.code, today)
    ]
    return Worklist(office=info.code, date=today.isoformat(), visits=items)
