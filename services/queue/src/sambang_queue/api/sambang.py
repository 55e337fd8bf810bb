"""Sambang (visiting the applicant): the worklist of waiting priority visits, claim and release."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sambang_contracts import Lane, SambangClaimed
from sambang_runtime.auth import ensure_office
from sambang_runtime.service import UowDep
from sqlalchemy import func, select, update

from ..domain import SAMBANG_STAGE, Status, local_today
from ..errors import problem
from ..models import visit
from ..trail import add_audit, add_timeline
from ..visits import IN_SERVICE, WAITING, end_stage, get_visit, set_status, start_stage, utc, visit_view
from .deps import Conn, Ctx, SambangOfficer, office_or_404

router = APIRouter(tags=["sambang"])


@router.get("/v1/offices/{office_code}/sambang/worklist")
async def worklist(office_code: str, principal: SambangOfficer, ctx: Ctx, conn: Conn) -> dict[str, Any]:
    """Priority visits of today not yet served, first come first served: the officer comes to them."""
    ensure_office(principal, office_code)
    info = await office_or_404(ctx, conn, office_code)
    now = ctx.now()
    today = local_today(now, info.timezone)
    rows = (
        await conn.execute(
            select(visit)
            .where(
                visit.c.office == info.code,
                visit.c.day == today,
                visit.c.lane == Lane.PRIORITY.value,
                visit.c.state.in_((WAITING, IN_SERVICE)),
            )
            .order_by(visit.c.checked_in_at, visit.c.id)
        )
    ).all()
    items = [
        {
            "visit_id": r.id,
            "ticket": r.ticket,
            "seat": r.seat,
            "priority_category": r.priority_category,
            "minutes_waited": max(0, int((now - r.checked_in_at).total_seconds() // 60)),
            "claimed_by": r.claimed_by,
            "state": r.state,
            "paid": r.paid,
            "receipt_number": r.receipt_number,
        }
        for r in rows
    ]
    return {"office": info.code, "date": today.isoformat(), "visits": items}


@router.post("/v1/visits/{visit_id}/claim")
async def claim(visit_id: str, principal: SambangOfficer, ctx: Ctx, uow: UowDep) -> dict[str, Any]:
    """Claim a waiting priority visit; exclusive: a second officer gets 409 already_claimed."""
    conn = await uow.session.connection()
    v = await get_visit(conn, visit_id)
    if v is None:
        raise problem("visit_not_found")
    ensure_office(principal, v.office)
    if v.lane != Lane.PRIORITY.value:
        raise problem("not_claimable")
    now = ctx.now()
    # Conditional update: of two officers claiming at once, exactly one changes the row.
    won = (
        await conn.execute(
            update(visit)
            .where(visit.c.id == visit_id, visit.c.claimed_by.is_(None), visit.c.state == WAITING)
            .values(
                claimed_by=principal.sub,
                claimed_at=now,
                state=IN_SERVICE,
                first_called_at=func.coalesce(visit.c.first_called_at, utc(now)),
            )
            .returning(*visit.c)
        )
    ).first()
    if won is None:
        current = await get_visit(conn, visit_id)
        assert current is not None
        if current.claimed_by == principal.sub and current.state == IN_SERVICE:
            return visit_view(current)
        if current.claimed_by is not None:
            raise problem("already_claimed", extra={"claimed_by": current.claimed_by})
        raise problem("not_claimable")
    await start_stage(conn, won, SAMBANG_STAGE, principal.sub, won.seat, now)
    await set_status(conn, won.receipt_number, Status.IN_SERVICE, now)
    await add_timeline(conn, won.receipt_number, "OFFICER_ON_THE_WAY", now, detail={"seat": won.seat})
    await add_audit(conn, principal, "visit.claimed", now, receipt_number=won.receipt_number, detail={"seat": won.seat})
    uow.emit(
        SambangClaimed(
            receipt_number=won.receipt_number,
            visit_id=won.id,
            officer_id=principal.sub,
            seat=won.seat or won.ticket,
        )
    )
    await uow.commit()
    return visit_view(won)


@router.post("/v1/visits/{visit_id}/release")
async def release(visit_id: str, principal: SambangOfficer, ctx: Ctx, uow: UowDep) -> dict[str, Any]:
    """Give a claimed visit back to the worklist, keeping its place (e.g. the tablet officer is called away)."""
    conn = await uow.session.connection()
    v = await get_visit(conn, visit_id)
    if v is None:
        raise problem("visit_not_found")
    ensure_office(principal, v.office)
    now = ctx.now()
    freed = (
        await conn.execute(
            update(visit)
            .where(visit.c.id == visit_id, visit.c.claimed_by == principal.sub, visit.c.state == IN_SERVICE)
            .values(claimed_by=None, claimed_at=None, state=WAITING)
            .returning(*visit.c)
        )
    ).first()
    if freed is None:
        raise problem("not_claimed_by_you")
    await end_stage(conn, visit_id, "RELEASED", now)
    await add_audit(conn, principal, "visit.released", now, receipt_number=v.receipt_number)
    await uow.commit()
    return visit_view(freed)
