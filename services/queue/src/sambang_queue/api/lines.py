"""The waiting lines of an office for its public board: tickets waiting and the estimated wait per
lane and stage (no receipt numbers, no names: the board hangs in the waiting room)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sambang_contracts import WaitEstimate
from sambang_runtime.service import UowDep

from ..stores import offices
from ..usecases.estimates import line_estimates
from .deps import ContextDep, RateLimited
from .schemas import OfficePath

router = APIRouter(prefix="/v1/lines", tags=["lines"])


class LineView(BaseModel):
    """One waiting line: a lane at a stage."""

    lane: str
    stage: str
    #: Tickets waiting in this line now.
    waiting: int
    #: The estimated wait of a ticket joining now, a range of whole minutes; null when too few tickets
    #: were served in this line today to estimate.
    estimated_wait: WaitEstimate | None


class LinesView(BaseModel):
    """`GET /v1/lines/{office}/estimates`."""

    office: str
    lanes: list[LineView]


@router.get("/{office_code}/estimates", dependencies=[RateLimited])
async def line_estimates_of_office(office_code: OfficePath, ctx: ContextDep, uow: UowDep) -> LinesView:
    """Every line of the office (REGULAR at VERIFICATION and INTERVIEW, PRIORITY at SAMBANG, PICKUP at
    PICKUP) with its tickets waiting and estimated wait; public, rate limited per client."""
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    estimates = await line_estimates(uow, info, uow.now())
    return LinesView(
        office=info.code,
        lanes=[
            LineView(lane=e.lane, stage=e.stage, waiting=e.waiting, estimated_wait=e.estimated_wait) for e in estimates
        ],
    )
