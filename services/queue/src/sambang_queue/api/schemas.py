"""Request bodies shared by several routers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sambang_contracts import Language, PassportType, PriorityCategory, ServiceType
from sambang_contracts.values import Nik

from ..booking import ApplicantData, Booking

# Any printable text: quotes, SQL or HTML are a name like any other (stored and returned verbatim).
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=_NO_CONTROL)]


class Strict(BaseModel):
    """Unknown fields are refused: a misspelt field must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid")


class ApplicantIn(Strict):
    """The applicant's identity and contact data."""

    full_name: Name
    nik: Nik
    birth_date: dt.date
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9][0-9 .()-]{5,31}$")
    language: Language = Language.ID

    def data(self) -> ApplicantData:
        """As the booking domain takes it."""
        return ApplicantData(self.full_name, self.nik, self.birth_date, self.email, self.phone, self.language)


class MemberIn(Strict):
    """One applicant of a booking: what is asked for, and who asks."""

    service_type: ServiceType
    passport_type: PassportType
    priority_category: PriorityCategory = PriorityCategory.NONE
    applicant: ApplicantIn

    def booking(self) -> Booking:
        """As the booking domain takes it."""
        return Booking(self.service_type, self.passport_type, self.priority_category, self.applicant.data())


class ApplicationIn(MemberIn):
    """`POST /v1/applications`."""

    office: str = Field(pattern=r"^[A-Z]{3}$")
    slot_id: int = Field(ge=1, le=2**62)


class GroupIn(Strict):
    """`POST /v1/application-groups`: a family books one slot together, 1-5 members."""

    office: str = Field(pattern=r"^[A-Z]{3}$")
    slot_id: int = Field(ge=1, le=2**62)
    members: list[MemberIn] = Field(min_length=1, max_length=5)


class BirthDateIn(Strict):
    """Proof of a receipt by the applicant."""

    birth_date: dt.date
