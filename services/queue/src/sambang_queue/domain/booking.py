"""Booking: who applies, the appointment, the passport's validity, receipts and the registered event."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sambang_contracts import (
    Applicant,
    ApplicationRegistered,
    Language,
    OfficeSettings,
    PassportType,
    PriorityCategory,
    ServiceType,
)
from sambang_contracts import Slot as SlotValue
from sambang_contracts.values import (
    TEN_YEARS_FROM_AGE,
    generate_receipt_number,
    ten_years_allowed,
    validity_years,
)
from sambang_runtime.errors import DomainError

from .lanes import check_birth_date, check_priority_category
from .times import check_bookable, zone


@dataclass(frozen=True, slots=True)
class ApplicantData:
    """Who applies (personal data: encrypted before it is stored)."""

    full_name: str
    nik: str
    birth_date: dt.date
    email: str | None
    phone: str | None
    language: Language
    #: Only decides the passport's validity (never stored).
    married: bool = False


@dataclass(frozen=True, slots=True)
class Booking:
    """One applicant's request for a place."""

    service_type: ServiceType
    passport_type: PassportType
    priority_category: PriorityCategory
    applicant: ApplicantData
    #: 5 or 10 years; None until settled by `settle_validity` (the applicant may leave it to the rule).
    validity_years: int | None = None
    #: Same-day service asked for.
    express: bool = False


@dataclass(frozen=True, slots=True)
class Appointment:
    """When the applicant is expected (a slot, or the walk-in's own time)."""

    slot_id: int | None
    date: dt.date
    start: dt.time
    end: dt.time

    def value(self) -> SlotValue:
        """As the events carry it."""
        return SlotValue(date=self.date, start=self.start, end=self.end)


def settle_validity(booking: Booking, on: dt.date) -> Booking:
    """The booking with its passport validity decided for the day of the application (the contracts'
    rule: 10 years by default from age 17 or when married, else 5); 10 asked below 17 unmarried is
    refused."""
    a = booking.applicant
    if booking.validity_years is None:
        return replace(booking, validity_years=validity_years(None, a.birth_date, on, married=a.married))
    if booking.validity_years == 10 and not ten_years_allowed(a.birth_date, on, married=a.married):
        raise DomainError("validity_years_not_allowed", min_age=TEN_YEARS_FROM_AGE)
    return booking


def check_bookings(
    bookings: Sequence[Booking], slot_date: dt.date, today: dt.date, settings: OfficeSettings
) -> list[Booking]:
    """Refuse a booking (alone or as a family) the office's rules do not allow; returns the bookings
    with their passport validity settled for the appointment day."""
    check_bookable(slot_date, today, settings)
    niks = [b.applicant.nik for b in bookings]
    if len(set(niks)) != len(niks):
        raise DomainError("duplicate_nik_in_group")
    settled = []
    for b in bookings:
        check_birth_date(b.applicant.birth_date, today)
        check_priority_category(b.priority_category, b.applicant.birth_date, slot_date, by_officer=False)
        settled.append(settle_validity(b, slot_date))
    return settled


def draw_receipts(office: str, registered_on: dt.date, n: int, rng: random.Random) -> list[str]:
    """n distinct fresh receipt numbers (libs/contracts) of an office and registration day."""
    receipts: list[str] = []
    while len(receipts) < n:
        receipt = generate_receipt_number(office, registered_on, rng)
        if receipt not in receipts:
            receipts.append(receipt)
    return receipts


def registered_event(
    *, receipt_number: str, office: str, appointment: Appointment, booking: Booking, walk_in: bool
) -> ApplicationRegistered:
    """`queue.application.registered`: carries the applicant's personal data by design (EVENTS.md)."""
    a = booking.applicant
    return ApplicationRegistered(
        receipt_number=receipt_number,
        office=office,
        slot=appointment.value(),
        service_type=booking.service_type,
        passport_type=booking.passport_type,
        priority_category=booking.priority_category,
        walk_in=walk_in,
        validity_years=booking.validity_years,
        express=booking.express,
        applicant=Applicant(
            full_name=a.full_name,
            nik=a.nik,
            birth_date=a.birth_date,
            email=a.email,
            phone=a.phone,
            language=a.language,
        ),
    )


def walk_in_appointment(now: dt.datetime, tz: str) -> Appointment:
    """A walk-in is expected from the minute they came, for an hour (to the end of the day at most)."""
    local = now.astimezone(zone(tz))
    start = local.time().replace(second=0, microsecond=0)
    end_dt = dt.datetime.combine(local.date(), start) + dt.timedelta(hours=1)
    end = end_dt.time() if end_dt.date() == local.date() else dt.time(23, 59, 59)
    return Appointment(None, local.date(), start, end)
