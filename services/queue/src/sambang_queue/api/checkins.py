"""Arrival at the office: check-in at a kiosk or customer care, priority walk-ins, pickup tickets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Response
from pydantic import Field
from sambang_contracts import PriorityCategory, WaitEstimate
from sambang_contracts.values import Text
from sambang_runtime.auth import Principal
from sambang_runtime.errors import DomainError
from sambang_runtime.http import valid_receipt
from sambang_runtime.service import UowDep
from sambang_runtime.uow import UnitOfWork

from ..context import QueueContext
from ..stores import applications, offices
from ..stores.applications import ApplicationRecord
from ..stores.offices import OfficeInfo
from ..usecases import checkin
from ..usecases.checkin import Admitted
from ..usecases.registration import register_walk_in
from .deps import ContextDep, CustomerCare, DeskOrKiosk, born_on, ensure_unlocked, officer_of_office
from .schemas import MemberIn, OfficePath, Strict, TicketView

router = APIRouter(prefix="/v1/offices", tags=["check-in"])


class ArrivalTicketView(TicketView):
    """A ticket as the kiosk or the desk hands it out, with its estimated wait at its stage."""

    #: A range of whole minutes ({low_minutes, high_minutes}); null when not waiting or when too few
    #: tickets were served at its lane and stage today to estimate.
    estimated_wait: WaitEstimate | None

    @classmethod
    def of_admitted(cls, admitted: Admitted) -> ArrivalTicketView:
        """The view of an admitted visit."""
        return cls(
            **TicketView.of(admitted.visit, admitted.position).model_dump(), estimated_wait=admitted.estimated_wait
        )


_REPEATED: dict[int | str, dict[str, Any]] = {
    200: {"model": ArrivalTicketView, "description": "Already checked in today: the same ticket"}
}


class CheckInIn(Strict):
    """`POST /v1/offices/{office}/check-ins`."""

    receipt_number: Text = Field(max_length=32)
    birth_date: dt.date | None = None
    priority_category: PriorityCategory | None = None


@dataclass(frozen=True, slots=True)
class _AtTheDesk:
    """The office, the application shown at its desk or kiosk, and whether a kiosk asks."""

    info: OfficeInfo
    app: ApplicationRecord
    at_kiosk: bool


async def _at_the_desk(
    uow: UnitOfWork,
    ctx: QueueContext,
    office_code: str,
    principal: Principal,
    receipt_number: str,
    birth_date: dt.date | None,
    *,
    sets_category: bool = False,
) -> _AtTheDesk:
    """The office and the application (row-locked), proven by its birth date at a kiosk (a kiosk may
    not set a priority category), booked at this office."""
    officer_of_office(principal, office_code)
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    receipt = valid_receipt(receipt_number)
    at_kiosk = not principal.has_any("customer_care")
    if at_kiosk and birth_date is None:
        raise DomainError("birth_date_required")
    if at_kiosk and sets_category:
        raise DomainError("priority_category_officer_only")
    if at_kiosk:
        # A wrong birth date at a kiosk counts towards the receipt's lock, as a look-up's does; the desk
        # (customer care, who sees the applicant) needs none and is never locked out.
        assert birth_date is not None
        ensure_unlocked(ctx, receipt)
        app = await applications.find(uow, receipt, lock=True)
        if not born_on(ctx, uow.cipher, receipt, app, birth_date):
            raise DomainError("application_not_found")
    else:
        app = await applications.find(uow, receipt, lock=True)
    if app is None:
        raise DomainError("application_not_found")
    if app.office != info.code:
        raise DomainError("booked_at_other_office")
    return _AtTheDesk(info, app, at_kiosk)


@router.post("/{office_code}/check-ins", status_code=201, responses=_REPEATED)
async def check_in(
    office_code: OfficePath, body: CheckInIn, principal: DeskOrKiosk, ctx: ContextDep, uow: UowDep, response: Response
) -> ArrivalTicketView:
    """Check in with a booking: a ticket, and a priority seat on the priority lane. Twice: the same ticket."""
    desk = await _at_the_desk(
        uow,
        ctx,
        office_code,
        principal,
        body.receipt_number,
        body.birth_date,
        sets_category=body.priority_category is not None,
    )
    admitted = await checkin.check_in(
        uow,
        desk.info,
        desk.app,
        category=body.priority_category,
        at_kiosk=desk.at_kiosk,
        principal=principal,
        now=uow.now(),
    )
    if admitted.repeated:
        response.status_code = 200
    else:
        await uow.commit()
    return ArrivalTicketView.of_admitted(admitted)


class WalkInIn(MemberIn):
    """`POST /v1/offices/{office}/walk-ins`: a priority applicant without a booking."""


@router.post("/{office_code}/walk-ins", status_code=201)
async def walk_in(
    office_code: OfficePath, body: WalkInIn, principal: CustomerCare, ctx: ContextDep, uow: UowDep
) -> ArrivalTicketView:
    """Register a priority applicant who came without a booking and check them in at once."""
    officer_of_office(principal, office_code)
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    admitted = await register_walk_in(uow, info, body.booking(), principal=principal, now=uow.now())
    await uow.commit()
    return ArrivalTicketView.of_admitted(admitted)


class PickupIn(Strict):
    """`POST /v1/offices/{office}/pickups`."""

    receipt_number: Text = Field(max_length=32)
    birth_date: dt.date | None = None


class PickupTicketView(ArrivalTicketView):
    """A pickup ticket (C): the visit's id is the pickup's."""

    pickup_id: str

    @classmethod
    def of_pickup(cls, admitted: Admitted) -> PickupTicketView:
        """The view of an admitted pickup visit."""
        return cls(pickup_id=admitted.visit.id, **ArrivalTicketView.of_admitted(admitted).model_dump())


_PICKUP_REPEATED: dict[int | str, dict[str, Any]] = {
    200: {"model": PickupTicketView, "description": "Already taken today: the same ticket"}
}


@router.post("/{office_code}/pickups", status_code=201, responses=_PICKUP_REPEATED)
async def take_pickup_ticket(
    office_code: OfficePath, body: PickupIn, principal: DeskOrKiosk, ctx: ContextDep, uow: UowDep, response: Response
) -> PickupTicketView:
    """A pickup ticket (C) once the passport is issued and `pickup_from` has come; twice: the same ticket."""
    desk = await _at_the_desk(uow, ctx, office_code, principal, body.receipt_number, body.birth_date)
    admitted = await checkin.take_pickup_ticket(
        uow, desk.info, desk.app, at_kiosk=desk.at_kiosk, principal=principal, now=uow.now()
    )
    if admitted.repeated:
        response.status_code = 200
    else:
        await uow.commit()
    return PickupTicketView.of_pickup(admitted)
