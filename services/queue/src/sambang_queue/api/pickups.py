"""Passport pickup: a C ticket from `pickup_from` on, and the hand-over to the applicant or a proxy."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field
from sambang_contracts import CollectedBy, Lane, PassportCollected
from sambang_contracts.values import Nik
from sambang_runtime.auth import ensure_office
from sambang_runtime.entropy import uuid4
from sambang_runtime.service import UowDep
from sqlalchemy import insert, select, update

from ..domain import FINAL, Status, local_today
from ..errors import problem
from ..models import application, pickup, visit
from ..trail import add_audit, add_timeline
from ..visits import DONE, PICKUP, WAITING, end_stage, get_visit, next_ticket, position_of, visit_view
from .deps import Ctx, CustomerCare, DeskOrKiosk, office_or_404, officer_of_office, valid_receipt
from .deps import application_row as load_application
from .schemas import Name, Strict

router = APIRouter(tags=["pickups"])


class PickupIn(Strict):
    """`POST /v1/offices/{office}/pickups`."""

    receipt_number: str
    birth_date: dt.date | None = None


def _pickup_view(v: Any, position: int | None) -> dict[str, Any]:
    return {"pickup_id": v.id, **visit_view(v, position)}


@router.post("/v1/offices/{office_code}/pickups", status_code=201)
async def take_pickup_ticket(
    office_code: str, body: PickupIn, principal: DeskOrKiosk, ctx: Ctx, uow: UowDep
) -> JSONResponse:
    """A pickup ticket (C) once the passport is issued and `pickup_from` has come; twice: the same ticket."""
    officer_of_office(principal, office_code)
    conn = await uow.session.connection()
    info = await office_or_404(ctx, conn, office_code)
    receipt = valid_receipt(body.receipt_number)
    at_kiosk = not principal.has_any("customer_care")
    if at_kiosk and body.birth_date is None:
        raise problem("birth_date_required")
    row = await load_application(conn, receipt, lock=True)
    if row is None or (at_kiosk and row.birth_hash != ctx.birth_hash(receipt, body.birth_date)):  # type: ignore[arg-type]
        raise problem("application_not_found")
    if row.office != info.code:
        raise problem("booked_at_other_office")
    status = Status(row.status)
    if status == Status.COLLECTED:
        raise problem("already_collected")
    if status in FINAL:
        raise problem("application_closed")
    now = ctx.now()
    today = local_today(now, info.timezone)
    if status != Status.ISSUED or row.pickup_from is None or today < row.pickup_from:
        raise problem("not_ready", extra={"pickup_from": row.pickup_from.isoformat() if row.pickup_from else None})
    existing = (
        await conn.execute(
            select(visit).where(visit.c.receipt_number == receipt, visit.c.purpose == PICKUP, visit.c.day == today)
        )
    ).first()
    if existing is not None:
        return JSONResponse(_pickup_view(existing, await position_of(conn, existing)), status_code=200)
    visit_id = uuid4().hex
    ticket = await next_ticket(conn, info.code, today, "C")
    await conn.execute(
        insert(visit).values(
            id=visit_id,
            receipt_number=receipt,
            office=info.code,
            day=today,
            purpose=PICKUP,
            lane=Lane.PICKUP.value,
            ticket=ticket,
            seat=None,
            priority_category=row.priority_category,
            channel="KIOSK" if at_kiosk else "CUSTOMER_CARE",
            paid=row.paid_at is not None,
            stage=PICKUP,
            state=WAITING,
            calls=0,
            checked_in_at=now,
        )
    )
    await conn.execute(insert(pickup).values(id=visit_id, receipt_number=receipt, office=info.code, created_at=now))
    await add_timeline(conn, receipt, "PICKUP_TICKET", now, detail={"ticket": ticket})
    if not at_kiosk:
        await add_audit(conn, principal, "pickup.ticket_issued", now, receipt_number=receipt, detail={"ticket": ticket})
    v = await get_visit(conn, visit_id)
    assert v is not None
    position = await position_of(conn, v)
    await uow.commit()
    return JSONResponse(_pickup_view(v, position), status_code=201)


class ProxyIn(Strict):
    """Who collects for the applicant (with a letter of authority, surat kuasa)."""

    full_name: Name
    nik: Nik
    letter_reference: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")


class HandOverIn(Strict):
    """`POST /v1/pickups/{pickup_id}/hand-over`."""

    identity_checked: bool
    collected_by: CollectedBy
    proxy: ProxyIn | None = None


@router.post("/v1/pickups/{pickup_id}/hand-over")
async def hand_over(pickup_id: str, body: HandOverIn, principal: CustomerCare, ctx: Ctx, uow: UowDep) -> dict[str, Any]:
    """Hand the passport over after checking identity and payment; records SELF or PROXY."""
    conn = await uow.session.connection()
    p = (await conn.execute(select(pickup).where(pickup.c.id == pickup_id).with_for_update())).first()
    if p is None:
        raise problem("pickup_not_found")
    ensure_office(principal, p.office)
    if p.handed_over_at is not None:
        raise problem("already_collected")
    if not body.identity_checked:
        raise problem("identity_not_checked")
    if body.collected_by == CollectedBy.PROXY and body.proxy is None:
        raise problem("proxy_required")
    row = await load_application(conn, p.receipt_number, lock=True)
    assert row is not None
    if row.paid_at is None:
        raise problem("not_paid")
    if Status(row.status) != Status.ISSUED:
        raise problem("already_collected" if row.status == Status.COLLECTED.value else "not_ready")
    now = ctx.now()
    cipher = ctx.cipher
    proxy = body.proxy if body.collected_by == CollectedBy.PROXY else None
    await conn.execute(
        update(pickup)
        .where(pickup.c.id == pickup_id)
        .values(
            handed_over_at=now,
            officer=principal.sub,
            collected_by=body.collected_by.value,
            proxy_name_enc=cipher.encrypt(proxy.full_name, context=f"pickup.proxy_name:{pickup_id}") if proxy else None,
            proxy_nik_enc=cipher.encrypt(proxy.nik, context=f"pickup.proxy_nik:{pickup_id}") if proxy else None,
            proxy_letter_reference=proxy.letter_reference if proxy else None,
        )
    )
    await conn.execute(
        update(application)
        .where(application.c.receipt_number == row.receipt_number)
        .values(status=Status.COLLECTED.value, active=False, collected_at=now, updated_at=now)
    )
    v = await get_visit(conn, pickup_id)
    if v is not None and v.state != DONE:
        await end_stage(conn, v.id, "COMPLETED", now)
        await conn.execute(update(visit).where(visit.c.id == v.id).values(state=DONE, completed_at=now, counter=None))
    await add_timeline(conn, row.receipt_number, "COLLECTED", now, detail={"collected_by": body.collected_by.value})
    await add_audit(
        conn,
        principal,
        "passport.handed_over",
        now,
        receipt_number=row.receipt_number,
        detail={"collected_by": body.collected_by.value, "letter_reference": proxy.letter_reference if proxy else None},
    )
    passport_number = cipher.decrypt(
        row.passport_number_enc, context=f"application.passport_number:{row.receipt_number}"
    )
    uow.emit(
        PassportCollected(
            receipt_number=row.receipt_number,
            passport_number=passport_number,
            collected_at=now,
            officer_id=principal.sub,
            collected_by=body.collected_by,
        )
    )
    await uow.commit()
    return {
        "pickup_id": pickup_id,
        "receipt_number": row.receipt_number,
        "collected_by": body.collected_by.value,
        "collected_at": now.isoformat(),
        "status": Status.COLLECTED.value,
    }
