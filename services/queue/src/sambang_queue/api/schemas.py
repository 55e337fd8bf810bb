"""Request bodies and response models shared by several routers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from sambang_contracts import Language, PassportType, PriorityCategory, ServiceType, Stage
from sambang_contracts.enums import ApprovalAction
from sambang_contracts.values import NO_CONTROL_CHARS, Nik, Text

from ..domain.booking import ApplicantData, Booking
from ..stores.visits import VisitRecord


def _one_line(text: str) -> str:
    if any(c in text for c in "\t\n\r"):
        raise ValueError("a name is one line: no tab or line break")
    return text


# Any printable text: quotes, SQL or HTML are a name like any other (stored and returned verbatim);
# control characters are refused by Text (422), and a name is one line.
Name = Annotated[Text, Field(min_length=1, max_length=200), AfterValidator(_one_line)]

#: An instant as this API has always written it: ISO 8601 with its offset (``+00:00``, not ``Z``).
Instant = Annotated[
    dt.datetime,
    PlainSerializer(lambda v: v.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


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
    #: Only decides the passport's validity (a 10-year passport below 17); not stored.
    married: bool = False

    def data(self) -> ApplicantData:
        """As the booking domain takes it."""
        return ApplicantData(
            self.full_name, self.nik, self.birth_date, self.email, self.phone, self.language, self.married
        )


class MemberIn(Strict):
    """One applicant of a booking: what is asked for, and who asks."""

    service_type: ServiceType
    passport_type: PassportType
    priority_category: PriorityCategory = PriorityCategory.NONE
    #: 5 or 10 years; by default 10 from age 17 or when married, else 5.
    validity_years: Literal[5, 10] | None = None
    #: Same-day service.
    express: bool = False
    applicant: ApplicantIn

    def booking(self) -> Booking:
        """As the booking domain takes it (validity not settled yet)."""
        return Booking(
            self.service_type,
            self.passport_type,
            self.priority_category,
            self.applicant.data(),
            self.validity_years,
            self.express,
        )


def _at_a_counter(stage: Stage) -> Stage:
    if stage == Stage.SAMBANG:
        raise ValueError("SAMBANG is served at the priority seat, never at a counter")
    return stage


class StageIn(Strict):
    """A stage of the regular or pickup lane (SAMBANG, served at the seat, is refused: 422)."""

    stage: Annotated[Stage, AfterValidator(_at_a_counter)]


class SlotView(BaseModel):
    """The appointment of an application."""

    slot_id: int | None
    date: dt.date
    start: dt.time
    end: dt.time


class TicketView(BaseModel):
    """A visit and its ticket, as the counters, kiosks and tablets see it."""

    visit_id: str
    ticket_id: str
    receipt_number: str
    ticket: str
    lane: str
    seat: str | None
    priority_category: str
    stage: str
    state: str
    counter: str | None
    calls: int
    claimed_by: str | None
    checked_in_at: Instant
    #: Place among the tickets waiting at the same stage (0: not waiting; null: not asked).
    position: int | None

    @classmethod
    def of(cls, v: VisitRecord, position: int | None = None) -> TicketView:
        """The view of a visit row."""
        return cls(
            visit_id=v.id,
            ticket_id=v.id,
            receipt_number=v.receipt_number,
            ticket=v.ticket,
            lane=v.lane,
            seat=v.seat,
            priority_category=v.priority_category,
            stage=v.stage,
            state=v.state,
            counter=v.counter,
            calls=v.calls,
            claimed_by=v.claimed_by,
            checked_in_at=v.checked_in_at,
            position=position,
        )


class ApprovalIn(Strict):
    """`POST /v1/approvals`: the approver's consent to one action on one subject (and finger)."""

    action: ApprovalAction
    #: A receipt number (fingerprint_exception), a partner id (partner_*), or the sha256 hex of a
    #: settlement file's body (settlement_apply).
    subject: Text = Field(min_length=1, max_length=200)
    #: The finger (1-10) of a fingerprint exception; none for other actions.
    position: int | None = Field(default=None, ge=1, le=10)


class ApprovalIssued(BaseModel):
    """The approval token (shown once: the approver hands it over, nobody stores it) and what it allows."""

    token: str
    jti: str
    action: ApprovalAction
    subject: str
    position: int | None
    expires_at: Instant


#: An office code in a path: unknown codes answer 404 `office_not_found`; control characters 422.
OfficePath = Annotated[str, Path(min_length=1, max_length=16, pattern=NO_CONTROL_CHARS)]
#: A visit's, ticket's or pickup's id in a path: unknown ids answer their 404; control characters 422.
IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=NO_CONTROL_CHARS)]
