"""Registering applications: places of a slot taken by one applicant or a family (all or none, the
booking rush's hot path), and a priority walk-in registered and checked in at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sambang_contracts import PriorityCategory
from sambang_runtime.auth import Principal
from sambang_runtime.entropy import SYSTEM_RANDOM, uuid4
from sambang_runtime.errors import DomainError
from sambang_runtime.uow import UnitOfWork

from ..context import context_of
from ..domain.booking import (
    Appointment,
    Booking,
    check_bookings,
    draw_receipts,
    registered_event,
    settle_validity,
    walk_in_appointment,
)
from ..domain.lanes import check_birth_date, check_priority_category, lane_for
from ..domain.status import Status
from ..domain.times import local_today
from ..stores import applications, offices
from ..stores.applications import Idempotency, ReceiptTaken
from ..stores.offices import OfficeInfo
from .checkin import Admitted, admit

#: Fresh receipt numbers are drawn again when one was taken meanwhile (a 1 in 10^9 chance each).
RECEIPT_ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class Registered:
    """The answer to a booking: its body (also kept for the Idempotency-Key) and whether it is the
    answer given to the same key before."""

    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def _slot_json(a: Appointment) -> dict[str, Any]:
    return {"slot_id": a.slot_id, "date": a.date.isoformat(), "start": a.start.isoformat(), "end": a.end.isoformat()}


async def register_applications(
    uow: UnitOfWork,
    *,
    office_code: str,
    slot_id: int,
    bookings: Sequence[Booking],
    group: bool,
    idempotency: Idempotency | None,
    now: dt.datetime,
) -> Registered:
    """Take the places and register the applications, all or none, and commit (uow.run_atomic).

    The answer is a plain body rather than a model: it is also the body kept for the Idempotency-Key,
    and the booking rush is the hot path (bench/booking.py).
    """
    ctx = context_of(uow)
    if idempotency is not None and (kept := await applications.kept_answer(uow, idempotency)) is not None:
        return Registered(kept.status_code, kept.body, replayed=True)
    # In a rush the office and the slot come from the cache: no connection is checked out before the booking.
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    found = await offices.find_slot(uow, ctx.offices, slot_id)
    if found is None:
        raise DomainError("slot_not_found")
    if found.office != info.code:
        raise DomainError("slot_of_other_office")
    today = local_today(now, info.timezone)
    settled = check_bookings(bookings, found.date, today, info.settings)
    if group:
        # Say which member is the problem; the unique index still guards the race.
        await applications.refuse_active_niks(uow, [b.applicant.nik for b in settled])
    appointment = Appointment(found.id, found.date, found.start, found.end)
    group_id = uuid4().hex if group else None
    for _attempt in range(RECEIPT_ATTEMPTS):
        receipts = draw_receipts(info.code, today, len(settled), SYSTEM_RANDOM)
        answer: dict[str, Any]
        if group:
            answer = {"group_id": group_id, "receipt_numbers": receipts, "slot": _slot_json(appointment)}
        else:
            answer = {
                "receipt_number": receipts[0],
                "status": Status.BOOKED.value,
                "office": info.code,
                "slot": _slot_json(appointment),
                "priority_category": settled[0].priority_category.value,
                "lane": lane_for(settled[0].priority_category).value,
            }
        for r, b in zip(receipts, settled, strict=True):
            uow.emit(
                registered_event(receipt_number=r, office=info.code, appointment=appointment, booking=b, walk_in=False)
            )
        try:
            kept = await applications.book(
                uow,
                office=info.code,
                appointment=appointment,
                receipts=receipts,
                bookings=settled,
                group_id=group_id,
                now=now,
                idempotency=idempotency,
                answer=answer,
            )
        except ReceiptTaken:
            continue  # nothing was written: draw new receipt numbers
        if kept is not None:
            return Registered(kept.status_code, kept.body, replayed=True)
        return Registered(201, answer)
    raise RuntimeError("could not draw a free receipt number")


async def register_walk_in(
    uow: UnitOfWork, info: OfficeInfo, booking: Booking, *, principal: Principal, now: dt.datetime
) -> Admitted:
    """Register a priority applicant who came without a booking and admit them at once."""
    if booking.priority_category == PriorityCategory.NONE:
        raise DomainError("priority_required")
    today = local_today(now, info.timezone)
    check_birth_date(booking.applicant.birth_date, today)
    check_priority_category(booking.priority_category, booking.applicant.birth_date, today, by_officer=True)
    appointment = walk_in_appointment(now, info.timezone)
    booking = settle_validity(booking, today)
    for _attempt in range(RECEIPT_ATTEMPTS):
        (receipt,) = draw_receipts(info.code, today, 1, SYSTEM_RANDOM)
        try:
            await applications.insert_walk_in(
                uow, receipt_number=receipt, office=info.code, appointment=appointment, booking=booking, now=now
            )
        except ReceiptTaken:
            continue  # rolled back: draw a new receipt number
        uow.emit(
            registered_event(
                receipt_number=receipt, office=info.code, appointment=appointment, booking=booking, walk_in=True
            )
        )
        return await admit(
            uow,
            info,
            receipt_number=receipt,
            category=booking.priority_category,
            paid=False,
            channel="WALK_IN",
            principal=principal,
            now=now,
        )
    raise RuntimeError("could not draw a free receipt number")
