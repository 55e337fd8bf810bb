"""Arrival at the office: admitting an applicant (a ticket, a priority seat, the visit queued), for a
booking checked in at a kiosk or customer care, for a priority walk-in, and pickup tickets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sambang_contracts import Lane, PriorityCategory, VisitCheckedIn, WaitEstimate
from sambang_contracts.values import ticket_letter
from sambang_runtime.auth import Principal
from sambang_runtime.entropy import uuid4
from sambang_runtime.errors import DomainError
from sambang_runtime.uow import UnitOfWork

from ..domain.lanes import check_priority_category, first_stage, lane_for
from ..domain.status import FINAL, NOT_YET_ARRIVED, Status
from ..domain.times import check_checkin_time, local_today
from ..domain.visits import PICKUP, SERVICE
from ..stores import applications, pickups, trail, visits
from ..stores.applications import ApplicationRecord, ApplicationUpdate
from ..stores.offices import OfficeInfo
from ..stores.visits import VisitRecord
from .estimates import estimated_wait_of
from .lines import announce_near_turn


@dataclass(frozen=True, slots=True)
class Admitted:
    """A visit, its place in its stage's line and its estimated wait there (None: not waiting, or too
    few served today to estimate); `repeated` when it was taken earlier today."""

    visit: VisitRecord
    position: int
    estimated_wait: WaitEstimate | None
    repeated: bool = False


async def admit(
    uow: UnitOfWork,
    info: OfficeInfo,
    *,
    receipt_number: str,
    category: PriorityCategory,
    paid: bool,
    channel: str,
    principal: Principal | None,
    now: dt.datetime,
) -> Admitted:
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
    v = await visits.add(
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
        now=now,
    )
    await applications.set_status(
        uow, receipt_number, Status.CHECKED_IN, now, ApplicationUpdate(priority_category=category.value)
    )
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
    return await _queued(uow, info, v, now)


async def _queued(uow: UnitOfWork, info: OfficeInfo, v: VisitRecord, now: dt.datetime) -> Admitted:
    """The new visit's place and estimated wait (kept with the ticket, to be measured against the actual
    wait); the line it joined may now owe someone the near-turn notice."""
    position = await visits.position_of(uow, v)
    estimate = await estimated_wait_of(uow, info, v, now, position)
    if estimate is not None:
        await visits.record_estimate(uow, v.id, estimate)
    await announce_near_turn(uow, v.office, v.day, v.stage, now)
    return Admitted(v, position, estimate)


async def _of_the_day(
    uow: UnitOfWork, info: OfficeInfo, receipt_number: str, purpose: str, now: dt.datetime
) -> Admitted | None:
    """The visit of this purpose taken earlier today, if any (asking twice gives the same ticket, its
    place and estimated wait as they are now)."""
    existing = await visits.of_the_day(uow, receipt_number, purpose, local_today(now, info.timezone))
    if existing is None:
        return None
    position = await visits.position_of(uow, existing)
    return Admitted(existing, position, await estimated_wait_of(uow, info, existing, now, position), repeated=True)


async def check_in(
    uow: UnitOfWork,
    info: OfficeInfo,
    app: ApplicationRecord,
    *,
    category: PriorityCategory | None,
    at_kiosk: bool,
    principal: Principal,
    now: dt.datetime,
) -> Admitted:
    """Check in a booked applicant on the appointment day (the category may be set by an officer on
    sight); the regular lane must have paid, priority applicants may pay after the interview."""
    today = local_today(now, info.timezone)
    existing = await _of_the_day(uow, info, app.receipt_number, SERVICE, now)
    if existing is not None:
        return existing
    status = Status(app.status)
    if status in FINAL:
        raise DomainError("application_closed")
    if status not in NOT_YET_ARRIVED:
        raise DomainError("not_checkable_in")
    category = category or PriorityCategory(app.priority_category)
    birth_date = applications.birth_date_of(uow.cipher, app)
    check_priority_category(category, birth_date, today, by_officer=not at_kiosk)
    check_checkin_time(now, app.slot_date, app.slot_start, app.slot_end, info.timezone, info.settings)
    paid = app.paid_at is not None
    if lane_for(category) == Lane.REGULAR and not paid:
        raise DomainError("not_paid")
    return await admit(
        uow,
        info,
        receipt_number=app.receipt_number,
        category=category,
        paid=paid,
        channel="KIOSK" if at_kiosk else "CUSTOMER_CARE",
        principal=principal,
        now=now,
    )


async def take_pickup_ticket(
    uow: UnitOfWork, info: OfficeInfo, app: ApplicationRecord, *, at_kiosk: bool, principal: Principal, now: dt.datetime
) -> Admitted:
    """A pickup ticket (C) once the passport is issued and `pickup_from` has come."""
    status = Status(app.status)
    if status == Status.COLLECTED:
        raise DomainError("already_collected")
    if status in FINAL:
        raise DomainError("application_closed")
    today = local_today(now, info.timezone)
    if status != Status.ISSUED or app.pickup_from is None or today < app.pickup_from:
        raise DomainError("not_ready", pickup_from=app.pickup_from.isoformat() if app.pickup_from else None)
    receipt = app.receipt_number
    existing = await _of_the_day(uow, info, receipt, PICKUP, now)
    if existing is not None:
        return existing
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
        priority_category=app.priority_category,
        channel="KIOSK" if at_kiosk else "CUSTOMER_CARE",
        paid=app.paid_at is not None,
        stage=PICKUP,
        now=now,
    )
    await pickups.add(uow, visit_id, receipt, info.code, now)
    await trail.add_timeline(uow, receipt, "PICKUP_TICKET", now, detail={"ticket": ticket})
    if not at_kiosk:
        await trail.add_audit(
            uow, principal, "pickup.ticket_issued", now, receipt_number=receipt, detail={"ticket": ticket}
        )
    return await _queued(uow, info, v, now)
