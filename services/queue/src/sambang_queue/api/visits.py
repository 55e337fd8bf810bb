"""Sambang visits: an officer claims a waiting priority visit exclusively, gives it back, or finds
nobody at the seat (a no-show)."""

from __future__ import annotations

from fastapi import APIRouter
from sambang_contracts import Lane, SambangClaimed, SambangReleased
from sambang_runtime.auth import ensure_office
from sambang_runtime.errors import DomainError
from sambang_runtime.service import UowDep

from ..domain.lanes import SAMBANG_STAGE
from ..domain.status import Status
from ..domain.visits import IN_SERVICE
from ..stores import applications, trail, visits
from ..usecases.lines import announce_near_turn, record_no_show
from .deps import SambangOfficer
from .schemas import IdPath, TicketView

router = APIRouter(prefix="/v1/visits", tags=["sambang"])


@router.post("/{visit_id}/claim")
async def claim(visit_id: IdPath, principal: SambangOfficer, uow: UowDep) -> TicketView:
    """Claim a waiting priority visit; exclusive: a second officer gets 409 already_claimed."""
    v = await visits.find(uow, visit_id)
    if v is None:
        raise DomainError("visit_not_found")
    ensure_office(principal, v.office)
    if v.lane != Lane.PRIORITY.value:
        raise DomainError("not_claimable")
    now = uow.now()
    won = await visits.claim(uow, visit_id, principal.sub, now)
    if won is None:
        current = await visits.find(uow, visit_id)
        assert current is not None
        if current.claimed_by == principal.sub and current.state == IN_SERVICE:
            return TicketView.of(current)
        if current.claimed_by is not None:
            raise DomainError("already_claimed", claimed_by=current.claimed_by)
        raise DomainError("not_claimable")
    await visits.start_stage(uow, won, SAMBANG_STAGE, principal.sub, won.seat, now)
    await applications.set_status(uow, won.receipt_number, Status.IN_SERVICE, now)
    await trail.add_timeline(uow, won.receipt_number, "OFFICER_ON_THE_WAY", now, detail={"seat": won.seat})
    await trail.add_audit(
        uow, principal, "visit.claimed", now, receipt_number=won.receipt_number, detail={"seat": won.seat}
    )
    # Without a seat yet (all taken) the claim says so by leaving it out (contracts v1.1).
    uow.emit(
        SambangClaimed(receipt_number=won.receipt_number, visit_id=won.id, officer_id=principal.sub, seat=won.seat)
    )
    await announce_near_turn(uow, won.office, won.day, won.stage, now)
    await uow.commit()
    return TicketView.of(won)


@router.post("/{visit_id}/release")
async def release(visit_id: IdPath, principal: SambangOfficer, uow: UowDep) -> TicketView:
    """Give a claimed visit back to the worklist, keeping its place (e.g. the tablet officer is called away)."""
    v = await visits.find(uow, visit_id)
    if v is None:
        raise DomainError("visit_not_found")
    ensure_office(principal, v.office)
    now = uow.now()
    freed = await visits.release(uow, visit_id, principal.sub)
    if freed is None:
        raise DomainError("not_claimed_by_you")
    await visits.end_stage(uow, visit_id, "RELEASED", now)
    await trail.add_audit(uow, principal, "visit.released", now, receipt_number=v.receipt_number)
    uow.emit(SambangReleased(receipt_number=freed.receipt_number, visit_id=freed.id, officer_id=principal.sub))
    await announce_near_turn(uow, freed.office, freed.day, freed.stage, now)
    await uow.commit()
    return TicketView.of(freed)


@router.post("/{visit_id}/no-show")
async def no_show(visit_id: IdPath, principal: SambangOfficer, uow: UowDep) -> TicketView:
    """The claimed applicant was not at the seat: a no-show at stage SAMBANG (by the claiming officer)."""
    v = await visits.find(uow, visit_id, lock=True)
    if v is None:
        raise DomainError("visit_not_found")
    ensure_office(principal, v.office)
    if v.claimed_by != principal.sub or v.state != IN_SERVICE:
        raise DomainError("not_claimed_by_you")
    now = uow.now()
    await record_no_show(uow, v, now)
    await trail.add_audit(uow, principal, "visit.no_show", now, receipt_number=v.receipt_number)
    gone = await visits.find(uow, visit_id)
    assert gone is not None
    await uow.commit()
    return TicketView.of(gone)
