"""Arrival at the office: check-in at a kiosk or customer care, and priority walk-ins."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sambang_contracts import Lane, PriorityCategory, VisitCheckedIn
from sambang_contracts.values import ticket_letter
from sambang_runtime.auth import Principal
from sambang_runtime.crypto import DecryptionError
from sambang_runtime.entropy import uuid4
from sambang_runtime.service import UowDep
from sqlalchemy import Row, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..booking import Appointment, application_row, new_receipt_number, registered_event, violated
from ..context import QueueContext
from ..domain import (
    FINAL,
    NOT_YET_ARRIVED,
    Status,
    check_birth_date,
    check_checkin_time,
    check_priority_category,
    first_stage,
    lane_for,
    local_today,
    zone,
)
from ..errors import problem
from ..models import application, visit
from ..offices import OfficeInfo
from ..trail import add_audit, add_timeline
from ..visits import SERVICE, WAITING, allocate_seat, next_ticket, position_of, set_status, visit_view
from .deps import Ctx, CustomerCare, DeskOrKiosk, office_or_404, officer_of_office, valid_receipt
from .deps import application_row as load_application
from .schemas import MemberIn, Strict

router = APIRouter(prefix="/v1/offices", tags=["check-in"])


class CheckInIn(Strict):
    """`POST /v1/offices/{office}/check-ins`."""

    receipt_number: str
    birth_date: dt.date | None = None
    priority_category: PriorityCategory | None = None


async def _admit(
    conn: AsyncConnection,
    uow: UowDep,
    info: OfficeInfo,
    *,
    receipt_number: str,
    category: PriorityCategory,
    paid: bool,
    channel: str,
    principal: Principal | None,
    now: dt.datetime,
) -> Row[Any]:
    """Give a ticket (and a priority seat), queue the visit and tell the tablets and the boards."""
    today = local_today(now, info.timezone)
    lane = lane_for(category)
    visit_id = uuid4().hex
    ticket = await next_ticket(conn, info.code, today, ticket_letter(lane))
    seat = (
        await allocate_seat(conn, info.code, today, info.settings.priority_seats, visit_id)
        if lane == Lane.PRIORITY
        else None
    )
    await conn.execute(
        insert(visit).values(
            id=visit_id,
            receipt_number=receipt_number,
            office=info.code,
            day=today,
            purpose=SERVICE,
            lane=lane.value,
            ticket=ticket,
            seat=seat,
            priority_category=category.value,
            channel=channel,
            paid=paid,
            stage=first_stage(lane),
            state=WAITING,
            calls=0,
            checked_in_at=now,
        )
    )
    await set_status(conn, receipt_number, Status.CHECKED_IN, now, priority_category=category.value)
    await add_timeline(
        conn, receipt_number, "CHECKED_IN", now, detail={"ticket": ticket, "lane": lane.value, "seat": seat}
    )
    if principal is not None and principal.has_any("customer_care"):
        await add_audit(
            conn,
            principal,
            "visit.checked_in",
            now,
            receipt_number=receipt_number,
            detail={"ticket": ticket, "priority_category": category.value, "channel": channel},
        )
    uow.emit(
        VisitCheckedIn(
            receipt_number=receipt_number,
            visit_id=visit_id,
            ticket=ticket,
            lane=lane,
            seat=seat,
            priority_category=category,
            paid=paid,
            checked_in_at=now,
        )
    )
    row = (await conn.execute(select(visit).where(visit.c.id == visit_id))).first()
    assert row is not None
    return row


def _birth_date(ctx: QueueContext, row: Row[Any]) -> dt.date:
    try:
        text = ctx.cipher.decrypt(row.birth_date_enc, context=f"application.birth_date:{row.receipt_number}")
    except DecryptionError:  # pragma: no cover - only with a lost key
        raise problem("application_not_found") from None
    return dt.date.fromisoformat(text)


@router.post("/{office_code}/check-ins", status_code=201)
async def check_in(office_code: str, body: CheckInIn, principal: DeskOrKiosk, ctx: Ctx, uow: UowDep) -> JSONResponse:
    """Check in with a booking: a ticket, and a priority seat on the priority lane. Twice: the same ticket."""
    officer_of_office(principal, office_code)
    conn = await uow.session.connection()
    info = await office_or_404(ctx, conn, office_code)
    receipt = valid_receipt(body.receipt_number)
    at_kiosk = not principal.has_any("customer_care")
    if at_kiosk and body.birth_date is None:
        raise problem("birth_date_required")
    if at_kiosk and body.priority_category is not None:
        raise problem("priority_category_officer_only")
    row = await load_application(conn, receipt, lock=True)
    if row is None or (at_kiosk and row.birth_hash != ctx.birth_hash(receipt, body.birth_date)):  # type: ignore[arg-type]
        raise problem("application_not_found")
    if row.office != info.code:
        raise problem("booked_at_other_office")
    now = ctx.now()
    today = local_today(now, info.timezone)
    existing = (
        await conn.execute(
            select(visit).where(visit.c.receipt_number == receipt, visit.c.purpose == SERVICE, visit.c.day == today)
        )
    ).first()
    if existing is not None:
        return JSONResponse(visit_view(existing, await position_of(conn, existing)), status_code=200)
    status = Status(row.status)
    if status in FINAL:
        raise problem("application_closed")
    if status not in NOT_YET_ARRIVED:
        raise problem("not_checkable_in")
    category = body.priority_category or PriorityCategory(row.priority_category)
    check_priority_category(category, _birth_date(ctx, row), today, by_officer=not at_kiosk)
    check_checkin_time(now, row.slot_date, row.slot_start, row.slot_end, info.timezone, info.settings)
    paid = row.paid_at is not None
    # Priority applicants may pay after the interview; the regular lane pays first.
    if lane_for(category) == Lane.REGULAR and not paid:
        raise problem("not_paid")
    v = await _admit(
        conn,
        uow,
        info,
        receipt_number=receipt,
        category=category,
        paid=paid,
        channel="KIOSK" if at_kiosk else "CUSTOMER_CARE",
        principal=principal,
        now=now,
    )
    position = await position_of(conn, v)
    await uow.commit()
    return JSONResponse(visit_view(v, position), status_code=201)


class WalkInIn(MemberIn):
    """`POST /v1/offices/{office}/walk-ins`: a priority applicant without a booking."""


def _walk_in_appointment(now: dt.datetime, tz: str) -> Appointment:
    local = now.astimezone(zone(tz))
    start = local.time().replace(second=0, microsecond=0)
    end_dt = dt.datetime.combine(local.date(), start) + dt.timedelta(hours=1)
    end = end_dt.time() if end_dt.date() == local.date() else dt.time(23, 59, 59)
    return Appointment(None, local.date(), start, end)


@router.post("/{office_code}/walk-ins", status_code=201)
async def walk_in(office_code: str, body: WalkInIn, principal: CustomerCare, ctx: Ctx, uow: UowDep) -> JSONResponse:
    """Register a priority applicant who came without a booking and check them in at once."""
    officer_of_office(principal, office_code)
    conn = await uow.session.connection()
    info = await office_or_404(ctx, conn, office_code)
    if body.priority_category == PriorityCategory.NONE:
        raise problem("priority_required")
    now = ctx.now()
    today = local_today(now, info.timezone)
    check_birth_date(body.applicant.birth_date, today)
    check_priority_category(body.priority_category, body.applicant.birth_date, today, by_officer=True)
    appointment = _walk_in_appointment(now, info.timezone)
    booking = body.booking()
    for _attempt in range(4):
        receipt = new_receipt_number(info.code, today)
        row = application_row(
            ctx,
            receipt_number=receipt,
            office=info.code,
            appointment=appointment,
            booking=booking,
            walk_in=True,
            status=Status.BOOKED,
            group_id=None,
            now=now,
        )
        try:
            await conn.execute(insert(application).values(**row))
            uow.emit(
                registered_event(
                    receipt_number=receipt, office=info.code, appointment=appointment, booking=booking, walk_in=True
                )
            )
            v = await _admit(
                conn,
                uow,
                info,
                receipt_number=receipt,
                category=body.priority_category,
                paid=False,
                channel="WALK_IN",
                principal=principal,
                now=now,
            )
            position = await position_of(conn, v)
            await uow.commit()
        except IntegrityError as exc:
            await uow.rollback()
            kind = violated(exc)
            if kind == "nik":
                raise problem("active_application_exists") from None
            if kind != "receipt":
                raise
            conn = await uow.session.connection()
            continue
        view = visit_view(v, position)
        return JSONResponse(view, status_code=201)
    raise RuntimeError("could not draw a free receipt number")
