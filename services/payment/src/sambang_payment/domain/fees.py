"""The fee schedule (tarif PNBP) as data and the itemised state fee of one application.

Age and passport validity come from the contracts' values (one rule for queue, payment and the
gateway); the schedule carries the age from which ten years may be billed (``ten_year_min_age``).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator
from sambang_contracts import PassportType, ServiceType
from sambang_contracts.values import Text, ten_years_allowed, validity_years
from sambang_runtime.errors import DomainError

Rupiah = Annotated[StrictInt, Field(gt=0, le=1_000_000_000)]
RupiahOrZero = Annotated[StrictInt, Field(ge=0, le=1_000_000_000)]
ItemCode = Annotated[str, Field(pattern=r"^[A-Z0-9_]{1,64}$")]
Description = Annotated[Text, Field(min_length=1, max_length=300)]


class PassportFamily(enum.StrEnum):
    """How the schedule groups passport types: the fee depends only on electronic or not."""

    NON_ELECTRONIC = "NON_ELECTRONIC"
    ELECTRONIC = "ELECTRONIC"


class Surcharge(enum.StrEnum):
    """What a surcharge line is for."""

    EXPRESS = "EXPRESS"
    REPLACEMENT_LOST = "REPLACEMENT_LOST"
    REPLACEMENT_DAMAGED = "REPLACEMENT_DAMAGED"


class PassportFee(BaseModel):
    """The base fee of one passport family and validity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: ItemCode
    family: PassportFamily
    validity_years: Literal[5, 10]
    amount: Rupiah
    description: Description


class SurchargeFee(BaseModel):
    """A fee on top of the passport (express, replacement); `force_majeure_amount` if a letter waives it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: ItemCode
    applies_to: Surcharge
    amount: Rupiah
    force_majeure_amount: RupiahOrZero | None = None
    description: Description


class FeeScheduleDocument(BaseModel):
    """A fee schedule as data (the JSON shipped in ``fees/`` or loaded with ``PUT /v1/fees``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[Text, Field(min_length=1, max_length=100)]
    description: Annotated[Text, Field(max_length=2000)] = ""
    effective_from: dt.date
    ten_year_min_age: Annotated[StrictInt, Field(ge=0, le=100)] = 17
    passports: list[PassportFee]
    surcharges: list[SurchargeFee]

    @model_validator(mode="after")
    def _complete_and_unambiguous(self) -> Self:
        seen = {(p.family, p.validity_years) for p in self.passports}
        wanted = {(f, y) for f in PassportFamily for y in (5, 10)}
        if seen != wanted or len(self.passports) != len(wanted):
            raise ValueError("passports must list each family (NON_ELECTRONIC, ELECTRONIC) for 5 and 10 years once")
        kinds = [s.applies_to for s in self.surcharges]
        if sorted(kinds) != sorted(Surcharge):
            raise ValueError("surcharges must list EXPRESS, REPLACEMENT_LOST and REPLACEMENT_DAMAGED once each")
        codes = [p.code for p in self.passports] + [s.code for s in self.surcharges]
        if len(set(codes)) != len(codes):
            raise ValueError("item codes must be unique")
        return self

    def passport_fee(self, family: PassportFamily, validity_years: int) -> PassportFee:
        """The base line for a family and validity."""
        return next(p for p in self.passports if p.family == family and p.validity_years == validity_years)

    def surcharge(self, kind: Surcharge) -> SurchargeFee:
        """The surcharge line of one kind."""
        return next(s for s in self.surcharges if s.applies_to == kind)


def family_of(passport_type: PassportType) -> PassportFamily:
    """REGULAR is the non-electronic booklet; both electronic kinds cost the same."""
    if passport_type is PassportType.REGULAR:
        return PassportFamily.NON_ELECTRONIC
    return PassportFamily.ELECTRONIC


@dataclass(frozen=True)
class BillLine:
    """One line of a bill."""

    code: str
    description: str
    amount: int


@dataclass(frozen=True)
class BillRequest:
    """What a bill is computed from."""

    passport_type: PassportType
    service_type: ServiceType
    birth_date: dt.date
    registered_on: dt.date
    validity_years: int | None = None  # None: the default by age
    married: bool | None = False  # None: checked by the producer (see ten_years_allowed)
    express: bool = False
    force_majeure_letter: bool = False


def billed_validity_years(schedule: FeeScheduleDocument, request: BillRequest) -> int:
    """The validity billed: as chosen, else 10 years from the schedule's ``ten_year_min_age`` (17) on, else 5.

    Registrations of producers older than contracts v1.1 carry neither the requested validity nor
    marital status, so we bill the longest validity the applicant is certainly entitled to by age at
    registration. A married minor (also entitled to 10 years) is billed 5 years in that case only.
    """
    return validity_years(
        request.validity_years, request.birth_date, request.registered_on, min_age=schedule.ten_year_min_age
    )


def bill_lines(schedule: FeeScheduleDocument, request: BillRequest) -> list[BillLine]:
    """Itemise the state fee (PNBP) of one application; zero lines (waived) are left out."""
    years = billed_validity_years(schedule, request)
    if years not in (5, 10):
        raise DomainError("invalid_validity")
    if years == 10 and not ten_years_allowed(
        request.birth_date, request.registered_on, married=request.married, min_age=schedule.ten_year_min_age
    ):
        raise DomainError("ten_years_not_allowed")
    base = schedule.passport_fee(family_of(request.passport_type), years)
    lines = [BillLine(base.code, base.description, base.amount)]
    extras: list[tuple[Surcharge, bool]] = [
        (Surcharge.EXPRESS, request.express),
        (Surcharge.REPLACEMENT_LOST, request.service_type is ServiceType.REPLACEMENT_LOST),
        (Surcharge.REPLACEMENT_DAMAGED, request.service_type is ServiceType.REPLACEMENT_DAMAGED),
    ]
    for kind, applies in extras:
        if not applies:
            continue
        fee = schedule.surcharge(kind)
        amount = fee.amount
        if request.force_majeure_letter and fee.force_majeure_amount is not None:
            amount = fee.force_majeure_amount
        if amount > 0:
            lines.append(BillLine(fee.code, fee.description, amount))
    return lines


def schedule_on(schedules: Sequence[FeeScheduleDocument], on: dt.date) -> FeeScheduleDocument | None:
    """The schedule in force on a date: the latest whose effective date is not after it."""
    candidates = [s for s in schedules if s.effective_from <= on]
    return max(candidates, key=lambda s: s.effective_from) if candidates else None
