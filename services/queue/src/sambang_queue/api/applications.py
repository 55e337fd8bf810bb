"""Pre-applications: booking, status and timeline, cancellation, arrival confirmation."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sambang_contracts import ApplicationCancelled, ArrivalConfirmed, CancelReason, PriorityCategory
from sambang_runtime.auth import OptionalPrincipal, Principal
from sambang_runtime.entropy import SYSTEM_RANDOM, uuid4
from sambang_runtime.errors import DomainError
from sambang_runtime.service import UowDep, request_uow
from sambang_runtime.uow import UnitOfWork

from ..context import context_of
from ..domain.arrival import verify_arrival_token
from ..domain.booking import Appointment, check_bookings, draw_receipts, registered_event
from ..domain.lanes import lane_for
from ..domain.status import NOT_YET_ARRIVED, Status, public_status
from ..domain.times import local_today
from ..keyed import birth_hash, mac, nik_hash
from ..stores import Record, applications, offices, trail, visits
from ..stores.applications import Idempotency, KeptAnswer, ReceiptTaken
from .deps import RateLimited, is_officer, officer_of_office, valid_receipt
from .schemas import Instant, MemberIn, SlotView, Strict

router = APIRouter(prefix="/v1/applications", tags=["applications"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
_RECEIPT_ATTEMPTS = 4


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


def check_key(key: str | None) -> str | None:
    """A usable Idempotency-Key, or idempotency_key_invalid."""
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not key.isprintable() or not key.isascii():
        raise DomainError("idempotency_key_invalid")
    return key


def _replayed(kept: KeptAnswer) -> JSONResponse:
    return JSONResponse(kept.body, status_code=kept.status_code, headers={"Idempotent-Replayed": "true"})


def _slot_json(a: Appointment) -> dict[str, Any]:
    return {"slot_id": a.slot_id, "date": a.date.isoformat(), "start": a.start.isoformat(), "end": a.end.isoformat()}


async def register(
    uow: UnitOfWork,
    *,
    office_code: str,
    slot_id: int,
    members: Sequence[MemberIn],
    group: bool,
    key: str | None,
    route: str,
    body: Strict,
) -> JSONResponse:
    """Take the places and register the applications, all or none, in one transaction.

    The answer is a JSONResponse built here rather than a model FastAPI validates: it is also the body
    kept for the Idempotency-Key, and the booking rush is the hot path (bench/booking.py).
    """
    ctx = context_of(uow)
    # The body's hash serves only an Idempotency-Key: a booking rush sends none.
    idempotency = (
        None
        if key is None
        else Idempotency(key, hashlib.sha256(f"{route}\n{body.model_dump_json()}".encode()).hexdigest())
    )
    if idempotency is not None and (kept := await applications.kept_answer(uow, idempotency)) is not None:
        return _replayed(kept)
    # In a rush the office and the slot come from the cache: no connection is checked out before the booking.
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    found = await offices.find_slot(uow, ctx.offices, slot_id)
    if found is None:
        raise DomainError("slot_not_found")
    if found.office != info.code:
        raise DomainError("slot_of_other_office")
    now = uow.now()
    today = local_today(now, info.timezone)
    bookings = check_bookings([m.booking() for m in members], found.date, today, info.settings)
    if group:
        # Say which member is the problem; the unique index still guards the race.
        await applications.refuse_active_niks(uow, [nik_hash(uow.cipher, b.applicant.nik) for b in bookings])
    appointment = Appointment(found.id, found.date, found.start, found.end)
    group_id = uuid4().hex if group else None
    for _attempt in range(_RECEIPT_ATTEMPTS):
        receipts = draw_receipts(info.code, today, len(bookings), SYSTEM_RANDOM)
        answer: dict[str, Any]
        if group:
            answer = {"group_id": group_id, "receipt_numbers": receipts, "slot": _slot_json(appointment)}
        else:
            answer = {
                "receipt_number": receipts[0],
                "status": Status.BOOKED.value,
                "office": info.code,
                "slot": _slot_json(appointment),
                "priority_category": bookings[0].priority_category.value,
                "lane": lane_for(bookings[0].priority_category).value,
            }
        for r, b in zip(receipts, bookings, strict=True):
            uow.emit(
                registered_event(receipt_number=r, office=info.code, appointment=appointment, booking=b, walk_in=False)
            )
        try:
            kept = await applications.book(
                uow,
                office=info.code,
                appointment=appointment,
                receipts=receipts,
                bookings=bookings,
                group_id=group_id,
                now=now,
                idempotency=idempotency,
                answer=answer,
            )
        except ReceiptTaken:
            continue  # nothing was written: draw new receipt numbers
        return JSONResponse(answer, status_code=201) if kept is None else _replayed(kept)
    raise RuntimeError("could not draw a free receipt number")


@router.post("", status_code=201, response_model=ApplicationCreated)
async def create_application(body: ApplicationIn, request: Request, key: IdempotencyKey = None) -> JSONResponse:
    """Book a place and register a pre-application; `Idempotency-Key` honoured."""
    key = check_key(key)
    # The endpoint of a booking rush opens its unit of work itself: as a dependency (UowDep) it costs
    # FastAPI an exit stack and a cancel scope per request (bench/booking.py).
    async with request_uow(request) as uow:
        return await register(
            uow,
            office_code=body.office,
            slot_id=body.slot_id,
            members=[body],
            group=False,
            key=key,
            route="applications",
            body=body,
        )


async def _proven(
    uow: UnitOfWork, receipt: str, principal: Principal | None, birth_date: dt.date | None, *, lock: bool = False
) -> Record:
    """The application, for an officer of its office or for whoever knows its birth date.

    An unknown receipt and a wrong birth date answer the same 404, so neither can be probed.
    """
    row = await applications.find(uow, receipt, lock=lock)
    if is_officer(principal) and birth_date is None:
        assert principal is not None
        officer_of_office(principal, receipt[:3])
    elif birth_date is None or row is None or row.birth_hash != birth_hash(uow.cipher, receipt, birth_date):
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
    """`GET /v1/applications/{receipt}`: status, slot, bill, ticket, pickup date and the timeline."""

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
    pickup_from: dt.date | None
    timeline: list[TimelineStep]


@router.get("/{receipt}", dependencies=[RateLimited])
async def get_application(
    receipt: str,
    uow: UowDep,
    principal: OptionalPrincipal,
    birth_date: dt.date | None = Query(default=None),
) -> ApplicationView:
    """Status, slot, bill, ticket, pickup date and the timeline of every step.

    The applicant never sees a hold: it reads IN_PROCESS and its steps are left out.
    """
    valid_receipt(receipt)
    row = await _proven(uow, receipt, principal, birth_date)
    officer = is_officer(principal) and birth_date is None
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
    if v is not None:
        ticket = VisitTicket(
            visit_id=v.id,
            ticket=v.ticket,
            lane=v.lane,
            seat=v.seat,
            stage=v.stage,
            state=v.state,
            counter=v.counter,
            position=await visits.position_of(uow, v),
        )
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
        pickup_from=row.pickup_from,
        timeline=timeline,
    )


class CancelIn(Strict):
    """`POST /v1/applications/{receipt}/cancel`: the applicant proves the receipt by birth date."""

    birth_date: dt.date | None = None
    detail: str | None = Field(default=None, max_length=500)


class StatusView(BaseModel):
    """An application's status after a change."""

    receipt_number: str
    status: str


@router.post("/{receipt}/cancel", dependencies=[RateLimited])
async def cancel_application(receipt: str, body: CancelIn, uow: UowDep, principal: OptionalPrincipal) -> StatusView:
    """Cancel before check-in and give the place back (officers cancel with reason OFFICER)."""
    valid_receipt(receipt)
    row = await _proven(uow, receipt, principal, body.birth_date, lock=True)
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
    """`POST /v1/applications/{receipt}/arrival-confirmation`."""

    token: str = Field(min_length=1, max_length=200)


class ArrivalView(BaseModel):
    """When the applicant confirmed they will come."""

    receipt_number: str
    confirmed_at: Instant


@router.post("/{receipt}/arrival-confirmation", dependencies=[RateLimited])
async def confirm_arrival(receipt: str, body: ArrivalIn, uow: UowDep) -> ArrivalView:
    """The applicant confirms they will come; idempotent. Bad token 403, expired 410."""
    valid_receipt(receipt)
    now = uow.now()
    # The token is checked before any look-up: a forged link learns nothing about the receipt.
    verify_arrival_token(receipt, body.token, now, mac(uow.cipher, "arrival"))
    row = await applications.find(uow, receipt, lock=True)
    if row is None:
        raise DomainError("invalid_token")
    status = Status(row.status)
    if row.arrival_confirmed_at is not None:
        return ArrivalView(receipt_number=receipt, confirmed_at=row.arrival_confirmed_at)
    if status not in NOT_YET_ARRIVED and status not in {Status.CHECKED_IN, Status.IN_SERVICE}:
        raise DomainError("application_closed")
    await applications.update_application(uow, receipt, arrival_confirmed_at=now, updated_at=now)
    if status in NOT_YET_ARRIVED:
        await applications.set_status(uow, receipt, Status.ARRIVAL_CONFIRMED, now)
    await trail.add_timeline(uow, receipt, "ARRIVAL_CONFIRMED", now)
    uow.emit(ArrivalConfirmed(receipt_number=receipt, confirmed_at=now))
    await uow.commit()
    return ArrivalView(receipt_number=receipt, confirmed_at=now)
