"""Pre-applications: booking, status and timeline, cancellation, arrival confirmation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sambang_contracts import ApplicationCancelled, CancelReason, PriorityCategory, WaitEstimate
from sambang_contracts.values import Text
from sambang_runtime.auth import OptionalPrincipal, Principal
from sambang_runtime.errors import DomainError
from sambang_runtime.http import ReceiptPath
from sambang_runtime.service import UowDep, request_uow
from sambang_runtime.uow import UnitOfWork

from ..context import QueueContext
from ..domain.lanes import lane_for
from ..domain.status import NOT_YET_ARRIVED, Status, public_status
from ..stores import applications, offices, trail, visits
from ..stores.applications import ApplicationRecord
from ..usecases import arrival
from ..usecases.estimates import estimated_wait_of
from ..usecases.registration import register_applications
from .deps import (
    ContextDep,
    IdempotencyKey,
    Officer,
    RateLimited,
    born_on,
    ensure_unlocked,
    idempotency_of,
    is_officer,
    no_birth_date_in_url,
    officer_of_office,
    registered_response,
)
from .schemas import Instant, MemberIn, SlotView, Strict

router = APIRouter(prefix="/v1/applications", tags=["applications"])


class ApplicationIn(MemberIn):
    """`POST /v1/applications`."""

    office: str = Field(pattern=r"^[A-Z]{3}$")
    slot_id: int = Field(ge=1, le=2**62)


class ApplicationCreated(BaseModel):
    """A booked pre-application."""

    receipt_number: str
    status: str
    office: str
    slot: SlotView
    priority_category: str
    lane: str


@router.post("", status_code=201, response_model=ApplicationCreated)
async def create_application(body: ApplicationIn, request: Request, key: IdempotencyKey = None) -> JSONResponse:
    """Book a place and register a pre-application; `Idempotency-Key` honoured."""
    idempotency = idempotency_of(key, "applications", body)
    # The endpoint of a booking rush opens its unit of work itself: as a dependency (UowDep) it costs
    # FastAPI an exit stack and a cancel scope per request (bench/booking.py).
    async with request_uow(request) as uow:
        registered = await register_applications(
            uow,
            office_code=body.office,
            slot_id=body.slot_id,
            bookings=[body.booking()],
            group=False,
            idempotency=idempotency,
            now=uow.now(),
        )
        return registered_response(registered)


async def _proven(
    uow: UnitOfWork,
    ctx: QueueContext,
    receipt: str,
    principal: Principal | None,
    birth_date: dt.date | None,
    *,
    lock: bool = False,
) -> ApplicationRecord:
    """The application, for an officer of its office or for whoever knows its birth date.

    An unknown receipt and a wrong birth date answer the same 404, so neither can be probed; too many
    wrong birth dates for one receipt lock it (429 `receipt_locked`), checked before the row is read.
    """
    if birth_date is None and is_officer(principal):
        assert principal is not None
        officer_of_office(principal, receipt[:3])
        row = await applications.find(uow, receipt, lock=lock)
    elif birth_date is None:
        raise DomainError("application_not_found")
    else:
        ensure_unlocked(ctx, receipt)
        row = await applications.find(uow, receipt, lock=lock)
        if not born_on(ctx, uow.cipher, receipt, row, birth_date):
            raise DomainError("application_not_found")
    if row is None:
        raise DomainError("application_not_found")
    return row


class ApplicantView(BaseModel):
    """What the status page shows of the applicant."""

    full_name: str | None


class BillView(BaseModel):
    """The bill's summary, as payment reported it."""

    billing_code: str | None
    amount: int | None
    expires_at: Instant | None
    status: str | None
    paid_at: Instant | None


class VisitTicket(BaseModel):
    """The applicant's latest ticket."""

    visit_id: str
    ticket: str
    lane: str
    seat: str | None
    stage: str
    state: str
    counter: str | None
    position: int


class TimelineStep(BaseModel):
    """One step of the journey."""

    at: Instant
    step: str
    detail: dict[str, Any] | None


class ApplicationView(BaseModel):
    """`GET /v1/applications/{receipt_number}`: status, slot, bill, ticket, pickup date and the timeline."""

    receipt_number: str
    office: str
    status: str
    applicant: ApplicantView
    service_type: str
    passport_type: str
    priority_category: str
    lane: str
    walk_in: bool
    #: 5 or 10 years (null: booked before the applicant could choose).
    validity_years: int | None
    express: bool
    slot: SlotView
    bill: BillView | None
    paid: bool
    arrival_confirmed_at: Instant | None
    ticket: VisitTicket | None
    #: The ticket's estimated wait at its stage, a range of whole minutes ({low_minutes, high_minutes});
    #: null when no ticket is waiting or too few tickets were served at its lane and stage today.
    estimated_wait: WaitEstimate | None
    pickup_from: dt.date | None
    timeline: list[TimelineStep]


async def _view(uow: UnitOfWork, ctx: QueueContext, row: ApplicationRecord, *, officer: bool) -> ApplicationView:
    """What the officer (everything) or the applicant (no hold) sees of the application."""
    receipt = row.receipt_number
    status = Status(row.status)
    timeline = [
        TimelineStep(at=row.created_at, step="WALK_IN_REGISTERED" if row.walk_in else "REGISTERED", detail=None)
    ]
    timeline += [
        TimelineStep(at=e.at, step=e.kind, detail=e.detail)
        for e in await trail.timeline_of(uow, receipt)
        if officer or e.public
    ]
    v = await visits.latest_of(uow, receipt)
    ticket = None
    estimate = None
    if v is not None:
        position = await visits.position_of(uow, v)
        ticket = VisitTicket(
            visit_id=v.id,
            ticket=v.ticket,
            lane=v.lane,
            seat=v.seat,
            stage=v.stage,
            state=v.state,
            counter=v.counter,
            position=position,
        )
        info = await offices.office_or_404(uow, ctx.offices, v.office)
        estimate = await estimated_wait_of(uow, info, v, uow.now(), position)
    bill = None
    if row.billing_code is not None or row.paid_at is not None:
        bill = BillView(
            billing_code=row.billing_code,
            amount=row.bill_amount,
            expires_at=row.bill_expires_at,
            status=row.bill_status or ("PAID" if row.paid_at else None),
            paid_at=row.paid_at,
        )
    return ApplicationView(
        receipt_number=receipt,
        office=row.office,
        status=status.value if officer else public_status(status),
        applicant=ApplicantView(full_name=applications.decrypt(uow.cipher, row, "full_name")),
        service_type=row.service_type,
        passport_type=row.passport_type,
        priority_category=row.priority_category,
        lane=lane_for(PriorityCategory(row.priority_category)).value,
        walk_in=row.walk_in,
        validity_years=row.validity_years,
        express=row.express,
        slot=SlotView(slot_id=row.slot_id, date=row.slot_date, start=row.slot_start, end=row.slot_end),
        bill=bill,
        paid=row.paid_at is not None,
        arrival_confirmed_at=row.arrival_confirmed_at,
        ticket=ticket,
        estimated_wait=estimate,
        pickup_from=row.pickup_from,
        timeline=timeline,
    )


@router.get("/{receipt_number}", dependencies=[Depends(no_birth_date_in_url)])
async def get_application(receipt: ReceiptPath, uow: UowDep, ctx: ContextDep, principal: Officer) -> ApplicationView:
    """For an officer of the application's office: status (holds included), slot, bill, ticket, pickup
    date and the whole timeline; the read is audited. Applicants use `POST .../lookup`; a `birth_date`
    in the URL answers 400 `birth_date_in_url` (URLs end up in access logs)."""
    row = await _proven(uow, ctx, receipt, principal, None)
    view = await _view(uow, ctx, row, officer=True)
    await trail.add_audit(uow, principal, "application.viewed", uow.now(), receipt_number=receipt)
    await uow.commit()
    return view


class LookupIn(Strict):
    """`POST /v1/applications/{receipt_number}/lookup`: the applicant proves the receipt by birth date."""

    birth_date: dt.date


@router.post("/{receipt_number}/lookup", dependencies=[RateLimited])
async def look_up_application(
    receipt: ReceiptPath, body: LookupIn, uow: UowDep, ctx: ContextDep, principal: OptionalPrincipal
) -> ApplicationView:
    """The applicant's status page: status, slot, bill, ticket, pickup date and the timeline. The applicant
    never sees a hold: it reads IN_PROCESS and its steps are left out. An unknown receipt and a wrong birth
    date answer the same 404; after too many wrong birth dates the receipt answers 429 `receipt_locked`
    (Retry-After) for a while. Limited per client address and per device."""
    row = await _proven(uow, ctx, receipt, None, body.birth_date)
    view = await _view(uow, ctx, row, officer=False)
    if principal is not None and is_officer(principal):
        # An officer's read of personal data is audited, whichever door it came through.
        await trail.add_audit(uow, principal, "application.looked_up", uow.now(), receipt_number=receipt)
        await uow.commit()
    return view


class CancelIn(Strict):
    """`POST /v1/applications/{receipt_number}/cancel`: the applicant proves the receipt by birth date."""

    birth_date: dt.date | None = None
    detail: Text | None = Field(default=None, max_length=500)


class StatusView(BaseModel):
    """An application's status after a change."""

    receipt_number: str
    status: str


@router.post("/{receipt_number}/cancel", dependencies=[RateLimited])
async def cancel_application(
    receipt: ReceiptPath, body: CancelIn, uow: UowDep, ctx: ContextDep, principal: OptionalPrincipal
) -> StatusView:
    """Cancel before check-in and give the place back (officers cancel with reason OFFICER)."""
    row = await _proven(uow, ctx, receipt, principal, body.birth_date, lock=True)
    status = Status(row.status)
    if status == Status.CANCELLED:
        return StatusView(receipt_number=receipt, status=status.value)
    if status not in NOT_YET_ARRIVED:
        raise DomainError("not_cancellable", status=public_status(status))
    by_officer = body.birth_date is None and principal is not None
    reason = CancelReason.OFFICER if by_officer else CancelReason.APPLICANT
    now = uow.now()
    await applications.close(uow, receipt, Status.CANCELLED, reason.value, now)
    await applications.give_place_back(uow, row.slot_id)
    await trail.add_timeline(uow, receipt, "CANCELLED", now, detail={"reason": reason.value})
    if by_officer:
        assert principal is not None
        await trail.add_audit(uow, principal, "application.cancelled", now, receipt_number=receipt)
    uow.emit(ApplicationCancelled(receipt_number=receipt, reason=reason, detail=body.detail))
    await uow.commit()
    return StatusView(receipt_number=receipt, status=Status.CANCELLED.value)


class ArrivalIn(Strict):
    """`POST /v1/applications/{receipt_number}/arrival-confirmation`."""

    token: Text = Field(min_length=1, max_length=200)


class ArrivalView(BaseModel):
    """When the applicant confirmed they will come."""

    receipt_number: str
    confirmed_at: Instant


@router.post("/{receipt_number}/arrival-confirmation", dependencies=[RateLimited])
async def confirm_arrival(receipt: ReceiptPath, body: ArrivalIn, uow: UowDep) -> ArrivalView:
    """The applicant confirms they will come; idempotent. Bad token 403, expired 410."""
    confirmed_at = await arrival.confirm_arrival(uow, receipt, body.token, uow.now())
    await uow.commit()
    return ArrivalView(receipt_number=receipt, confirmed_at=confirmed_at)
