"""Arrival at the office: check-in at a kiosk or customer care, priority walk-ins, pickup tickets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Response
from sambang_contracts import Lane, PriorityCategory, VisitCheckedIn
from sambang_contracts.values import ticket_letter
from sambang_runtime.auth import Principal
from sambang_runtime.entropy import SYSTEM_RANDOM, uuid4
from sambang_runtime.errors import DomainError
from sambang_runtime.service import UowDep
from sambang_runtime.uow import UnitOfWork

from ..domain.booking import draw_receipts, registered_event, settle_validity, walk_in_appointment
from ..domain.lanes import check_birth_date, check_priority_category, first_stage, lane_for
from ..domain.status import FINAL, NOT_YET_ARRIVED, Status
from ..domain.times import check_checkin_time, local_today
from ..domain.visits import PICKUP, SERVICE, WAITING
from ..keyed import birth_hash
from ..stores import Record, applications, offices, pickups, trail, visits
from ..stores.applications import ReceiptTaken
from ..stores.offices import OfficeInfo
from .deps import ContextDep, CustomerCare, DeskOrKiosk, officer_of_office, valid_receipt
from .lines import announce_near_turn
from .schemas import MemberIn, Strict, TicketView

router = APIRouter(prefix="/v1/offices", tags=["check-in"])

_REPEATED: dict[int | str, dict[str, Any]] = {
    200: {"model": TicketView, "description": "Already checked in today: the same ticket"}
}


class CheckInIn(Strict):
    """`POST /v1/offices/{office}/check-ins`."""

    receipt_number: str
    birth_date: dt.date | None = None
    priority_category: PriorityCategory | None = None


async def _admit(
    uow: UnitOfWork,
    info: OfficeInfo,
    *,
    receipt_number: str,
    category: PriorityCategory,
    paid: bool,
    channel: str,
    principal: Principal | None,
    now: dt.datetime,
) -> Record:
    """Give a ticket (and a priority seat), queue the visit and tell the tablets and the boards."""
    today = local_today(now, info.timezone)
    lane = lane_for(category)
    visit_id = uuid4().hex
    ticket = await visits.next_ticket(uow, info.code, today, ticket_letter(lane))
    seat = (
        await visits.allocate_seat(uow, info.code, today, info.settings.priority_seats, visit_id)
        if lane == Lane.PRIORITY
        else None
    )
    row = await visits.add(
        uow,
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
    await applications.set_status(uow, receipt_number, Status.CHECKED_IN, now, priority_category=category.value)
    await trail.add_timeline(
        uow, receipt_number, "CHECKED_IN", now, detail={"ticket": ticket, "lane": lane.value, "seat": seat}
    )
    if principal is not None and principal.has_any("customer_care"):
        await trail.add_audit(
            uow,
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
    return row


def _at_kiosk(principal: Principal, birth_date: dt.date | None) -> bool:
    """Whether a kiosk asks (not customer care); a kiosk must show the applicant's birth date."""
    at_kiosk = not principal.has_any("customer_care")
    if at_kiosk and birth_date is None:
        raise DomainError("birth_date_required")
    return at_kiosk


async def _proven_at_desk(
    uow: UnitOfWork, receipt: str, birth_date: dt.date | None, info: OfficeInfo, *, at_kiosk: bool
) -> Record:
    """The application (row-locked), proven by its birth date at a kiosk, booked at this office."""
    row = await applications.find(uow, receipt, lock=True)
    proven = not at_kiosk or (
        birth_date is not None and row is not None and row.birth_hash == birth_hash(uow.cipher, receipt, birth_date)
    )
    if row is None or not proven:
        raise DomainError("application_not_found")
    if row.office != info.code:
        raise DomainError("booked_at_other_office")
    return row


@router.post("/{office_code}/check-ins", status_code=201, responses=_REPEATED)
async def check_in(
    office_code: str, body: CheckInIn, principal: DeskOrKiosk, ctx: ContextDep, uow: UowDep, response: Response
) -> TicketView:
    """Check in with a booking: a ticket, and a priority seat on the priority lane. Twice: the same ticket."""
    officer_of_office(principal, office_code)
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    receipt = valid_receipt(body.receipt_number)
    at_kiosk = _at_kiosk(principal, body.birth_date)
    if at_kiosk and body.priority_category is not None:
        raise DomainError("priority_category_officer_only")
    row = await _proven_at_desk(uow, receipt, body.birth_date, info, at_kiosk=at_kiosk)
    now = uow.now()
    today = local_today(now, info.timezone)
    existing = await visits.of_the_day(uow, receipt, SERVICE, today)
    if existing is not None:
        response.status_code = 200
        return TicketView.of(existing, await visits.position_of(uow, existing))
    status = Status(row.status)
    if status in FINAL:
        raise DomainError("application_closed")
    if status not in NOT_YET_ARRIVED:
        raise DomainError("not_checkable_in")
    category = body.priority_category or PriorityCategory(row.priority_category)
    birth_date = applications.birth_date_of(uow.cipher, row)
    check_priority_category(category, birth_date, today, by_officer=not at_kiosk)
    check_checkin_time(now, row.slot_date, row.slot_start, row.slot_end, info.timezone, info.settings)
    paid = row.paid_at is not None
    # Priority applicants may pay after the interview; the regular lane pays first.
    if lane_for(category) == Lane.REGULAR and not paid:
        raise DomainError("not_paid")
    v = await _admit(
        uow,
        info,
        receipt_number=receipt,
        category=category,
        paid=paid,
        channel="KIOSK" if at_kiosk else "CUSTOMER_CARE",
        principal=principal,
        now=now,
    )
    position = await visits.position_of(uow, v)
    await announce_near_turn(uow, info.code, v.day, v.stage)
    await uow.commit()
    return TicketView.of(v, position)


class WalkInIn(MemberIn):
    """`POST /v1/offices/{office}/walk-ins`: a priority applicant without a booking."""


@router.post("/{office_code}/walk-ins", status_code=201)
async def walk_in(
    office_code: str, body: WalkInIn, principal: CustomerCare, ctx: ContextDep, uow: UowDep
) -> TicketView:
    """Register a priority applicant who came without a booking and check them in at once."""
    officer_of_office(principal, office_code)
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    if body.priority_category == PriorityCategory.NONE:
        raise DomainError("priority_required")
    now = uow.now()
    today = local_today(now, info.timezone)
    check_birth_date(body.applicant.birth_date, today)
    check_priority_category(body.priority_category, body.applicant.birth_date, today, by_officer=True)
    appointment = walk_in_appointment(now, info.timezone)
    booking = settle_validity(body.booking(), today)
    for _attempt in range(4):
        (receipt,) = draw_receipts(info.code, today, 1, SYSTEM_RANDOM)
        row = applications.application_row(
            uow.cipher,
            receipt_number=receipt,
            office=info.code,
            appointment=appointment,
            booking=booking,
            walk_in=True,
            group_id=None,
            now=now,
        )
        try:
            await applications.insert_walk_in(uow, row)
        except ReceiptTaken:
            continue  # rolled back: draw a new receipt number
        uow.emit(
            registered_event(
                receipt_number=receipt, office=info.code, appointment=appointment, booking=booking, walk_in=True
            )
        )
        v = await _admit(
            uow,
            info,
            receipt_number=receipt,
            category=body.priority_category,
            paid=False,
            channel="WALK_IN",
            principal=principal,
            now=now,
        )
        position = await visits.position_of(uow, v)
        await announce_near_turn(uow, info.code, v.day, v.stage)
        await uow.commit()
        return TicketView.of(v, position)
    raise RuntimeError("could not draw a free receipt number")


class PickupIn(Strict):
    """`POST /v1/offices/{office}/pickups`."""

    receipt_number: str
    birth_date: dt.date | None = None


class PickupTicketView(TicketView):
    """A pickup ticket (C): the visit's id is the pickup's."""

    pickup_id: str

    @classmethod
    def of_pickup(cls, v: Record, position: int | None) -> PickupTicketView:
        """The view of a pickup visit row."""
        return cls(pickup_id=v.id, **TicketView.of(v, position).model_dump())


_PICKUP_REPEATED: dict[int | str, dict[str, Any]] = {
    200: {"model": PickupTicketView, "description": "Already taken today: the same ticket"}
}


@router.post("/{office_code}/pickups", status_code=201, responses=_PICKUP_REPEATED)
async def take_pickup_ticket(
    office_code: str, body: PickupIn, principal: DeskOrKiosk, ctx: ContextDep, uow: UowDep, response: Response
) -> PickupTicketView:
    """A pickup ticket (C) once the passport is issued and `pickup_from` has come; twice: the same ticket."""
    officer_of_office(principal, office_code)
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    receipt = valid_receipt(body.receipt_number)
    at_kiosk = _at_kiosk(principal, body.birth_date)
    row = await _proven_at_desk(uow, receipt, body.birth_date, info, at_kiosk=at_kiosk)
    status = Status(row.status)
    if status == Status.COLLECTED:
        raise DomainError("already_collected")
    if status in FINAL:
        raise DomainError("application_closed")
    now = uow.now()
    today = local_today(now, info.timezone)
    if status != Status.ISSUED or row.pickup_from is None or today < row.pickup_from:
        raise DomainError("not_ready", pickup_from=row.pickup_from.isoformat() if row.pickup_from else None)
    existing = await visits.of_the_day(uow, receipt, PICKUP, today)
    if existing is not None:
        response.status_code = 200
        return PickupTicketView.of_pickup(existing, await visits.position_of(uow, existing))
    visit_id = uuid4().hex
    ticket = await visits.next_ticket(uow, info.code, today, "C")
    v = await visits.add(
        uow,
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
    await pickups.add(uow, visit_id, receipt, info.code, now)
    await trail.add_timeline(uow, receipt, "PICKUP_TICKET", now, detail={"ticket": ticket})
    if not at_kiosk:
        await trail.add_audit(
            uow, principal, "pickup.ticket_issued", now, receipt_number=receipt, detail={"ticket": ticket}
        )
    position = await visits.position_of(uow, v)
    await announce_near_turn(uow, info.code, today, PICKUP)
    await uow.commit()
    return PickupTicketView.of_pickup(v, position)
