"""Every event of the catalogue (EVENTS.md) as a pydantic model, and the registry by type.

Data models ignore unknown fields, because v1 changes are additive: a consumer built against an
older version of this library still reads newer events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from sambang_contracts.enums import (
    CancelReason,
    CaptureItemKind,
    CaptureMode,
    CollectedBy,
    DiscrepancyKind,
    DocumentKind,
    DocumentStatus,
    HoldDecision,
    HoldKind,
    InterviewDecision,
    Lane,
    Language,
    NotificationChannel,
    PassportType,
    PaymentChannel,
    PaymentSource,
    PriorityCategory,
    ServiceType,
    Stage,
    VoidReason,
)
from sambang_contracts.errors import UnknownEventType
from sambang_contracts.values import (
    BIOMETRIC_RETENTION_MAX_DAYS,
    NO_CONTROL_CHARS,
    BillingCode,
    Nik,
    Ntpn,
    OfficeCode,
    ReceiptNumber,
    Ticket,
    UtcDateTime,
)

__all__ = [
    "PERSONAL_DATA_FIELDS",
    "PERSONAL_DATA_MARK",
    "REGISTRY",
    "Applicant",
    "ApplicationCancelled",
    "ApplicationRegistered",
    "ArrivalConfirmed",
    "ArrivalLinkIssued",
    "BillExpired",
    "BillIssued",
    "BillItem",
    "BillVoided",
    "CaptureCompleted",
    "CaptureException",
    "CaptureItem",
    "ContractModel",
    "DiscrepancyDetected",
    "DocumentCheck",
    "DocumentsVerified",
    "EventData",
    "HoldDecided",
    "HoldRaised",
    "InterviewCompleted",
    "NonconformanceRecorded",
    "NotificationFailed",
    "NotificationSent",
    "OfficeSettings",
    "OfficeUpdated",
    "PassportCollected",
    "PassportIssued",
    "PaymentConfirmed",
    "SambangClaimed",
    "SambangReleased",
    "Slot",
    "SubmissionAccepted",
    "SubmissionFailed",
    "TicketCalled",
    "TicketNearTurn",
    "TicketNoShow",
    "TicketTransferred",
    "ViolationFlagged",
    "VisitCheckedIn",
    "VisitCompleted",
    "event_model",
    "routing_keys",
]

PERSONAL_DATA_MARK = "x-personal-data"
_PERSONAL: JsonDict = {PERSONAL_DATA_MARK: True}

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Identifier = Annotated[str, Field(min_length=1, max_length=200)]
Count = Annotated[int, Field(ge=0)]
Attempts = Annotated[int, Field(ge=1)]
Rupiah = Annotated[int, Field(gt=0, description="Integer rupiah, greater than zero")]
Sha256 = Annotated[str, Field(pattern="^[0-9a-f]{64}$", description="Lowercase hex SHA-256")]


class ContractModel(BaseModel):
    """Base of every model in the contracts: immutable, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class EventData(ContractModel):
    """Base of every event's `data`; `event_type` is the CloudEvents type and routing key."""

    event_type: ClassVar[str]


# --- nested models ------------------------------------------------------------------------------


class Slot(ContractModel):
    """An appointment slot in the office's local time."""

    date: dt.date
    start: dt.time
    end: dt.time

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.end <= self.start:
            raise ValueError("slot end must be after its start")
        return self


class Applicant(ContractModel):
    """The applicant's identity and contact data — all personal data."""

    full_name: str = Field(min_length=1, max_length=200, json_schema_extra=_PERSONAL)
    nik: Nik = Field(json_schema_extra=_PERSONAL)
    birth_date: dt.date = Field(json_schema_extra=_PERSONAL)
    email: str | None = Field(default=None, max_length=254, json_schema_extra=_PERSONAL)
    phone: str | None = Field(default=None, max_length=32, json_schema_extra=_PERSONAL)
    language: Language


def _default_priority_seats() -> list[str]:
    return [f"P{n}" for n in range(1, 13)]


class OfficeSettings(ContractModel):
    """An office's rules (API.md `GET /v1/offices/{office}/settings`), each with its default.

    Every rule has bounds (#16): an office cannot keep biometrics longer than the national maximum, set
    a quality threshold above 100 or a booking window of years. Only bounds: a message of an older
    producer (within them) still validates, and no rule is required.
    """

    booking_window_days: int = Field(default=30, ge=1, le=365)
    first_bookable_offset_days: int = Field(default=1, ge=0, le=90)
    checkin_early_minutes: int = Field(default=30, ge=0, le=1440)  # at most a day: check-in is on the slot's day anyway
    checkin_late_minutes: int = Field(default=60, ge=0, le=1440)
    priority_seats: list[Annotated[str, Field(min_length=1, max_length=200, pattern=NO_CONTROL_CHARS)]] = Field(
        default_factory=_default_priority_seats, max_length=100
    )
    no_show_after_calls: int = Field(default=3, ge=1, le=10)
    near_turn_position: int = Field(default=3, ge=0, le=50)
    #: At most 30 days (the lower bound stays 1 s: older producers sent any positive value).
    bill_validity_seconds: int = Field(default=7200, ge=1, le=30 * 86_400)
    priority_bill_validity_seconds: int = Field(default=604800, ge=1, le=30 * 86_400)
    pickup_working_days: int = Field(default=5, ge=0, le=60)
    fingerprint_quality_threshold: int = Field(default=40, ge=0, le=100)
    biometric_retention_days: int = Field(
        default=30,
        ge=0,
        le=BIOMETRIC_RETENTION_MAX_DAYS,
        description="Days biometrics are kept after a final outcome; at most the national maximum",
    )
    # v1.2: the reminder the day before and the estimated wait; defaults keep v1.1 messages valid.
    reminder_enabled: bool = Field(default=True, description="Send the reminder the working day before a visit")
    reminder_hour: int = Field(
        default=16, ge=0, le=23, description="Office-local hour at which reminders go out (16 = 16:00)"
    )
    estimate_window: int = Field(
        default=20, ge=3, le=500, description="Completed tickets per lane and stage the estimated wait is drawn from"
    )
    estimate_min_served: int = Field(
        default=5, ge=1, le=500, description="Fewer tickets served today than this: no estimate is shown"
    )


class BillItem(ContractModel):
    """One line of a bill."""

    code: Identifier
    description: Text
    amount: Rupiah


class DocumentCheck(ContractModel):
    """The result of checking one supporting document."""

    kind: DocumentKind
    status: DocumentStatus
    note: str | None = Field(default=None, max_length=2000)


class CaptureItem(ContractModel):
    """A captured biometric item, described by its hash — never its bytes."""

    kind: CaptureItemKind
    position: int | None = Field(default=None, ge=1, le=10, description="Finger position 1-10 (ISO/IEC 19794-4)")
    sha256: Sha256
    bytes: int = Field(ge=1, description="Size of the stored item in bytes")
    quality: float = Field(ge=0)


class CaptureException(ContractModel):
    """An item that could not be captured, e.g. an amputated finger or an applicant who cannot sign."""

    kind: CaptureItemKind
    position: int | None = Field(default=None, ge=1, le=10)
    reason: Identifier


# --- queue --------------------------------------------------------------------------------------


class OfficeUpdated(EventData):
    """An office was created or its settings changed; services keep their own copy."""

    event_type: ClassVar[str] = "queue.office.updated"
    office: OfficeCode
    name: Identifier
    timezone: Identifier = Field(description="IANA time zone, e.g. Asia/Jakarta")
    settings: OfficeSettings = Field(default_factory=OfficeSettings)


class ApplicationRegistered(EventData):
    """A pre-application was registered (online, or a priority walk-in at customer care)."""

    event_type: ClassVar[str] = "queue.application.registered"
    receipt_number: ReceiptNumber
    office: OfficeCode
    slot: Slot
    service_type: ServiceType
    passport_type: PassportType
    priority_category: PriorityCategory
    walk_in: bool
    # v1.1 fields have defaults so that a message of a v1.0 producer, which lacks them, still validates.
    validity_years: Literal[5, 10] | None = Field(
        default=None,
        description=(
            "Passport validity in years the applicant chose: 10 only from age 17 or when married, and "
            "anyone may choose 5. Absent (null) in messages of producers older than v1.1, which did not "
            "say; consumers then fall back to the age rule (10 from age 17, else 5)."
        ),
    )
    express: bool = Field(
        default=False,
        description="Same-day service was requested; absent (false) in messages of producers older than v1.1",
    )
    applicant: Applicant

    @model_validator(mode="after")
    def _receipt_belongs_to_office(self) -> Self:
        if self.receipt_number[:3] != self.office:
            raise ValueError("receipt number does not start with the office code")
        return self


class ApplicationCancelled(EventData):
    """An application was cancelled and its slot freed."""

    event_type: ClassVar[str] = "queue.application.cancelled"
    receipt_number: ReceiptNumber
    reason: CancelReason
    detail: str | None = Field(default=None, max_length=2000)


class ArrivalLinkIssued(EventData):
    """A paid applicant gets a link to confirm arrival; `url` and `token` are secrets."""

    event_type: ClassVar[str] = "queue.arrival.link_issued"
    receipt_number: ReceiptNumber
    url: str = Field(min_length=1, max_length=2000)
    token: str = Field(min_length=1, max_length=500)
    expires_at: UtcDateTime


class ArrivalConfirmed(EventData):
    """The applicant confirmed they will come."""

    event_type: ClassVar[str] = "queue.arrival.confirmed"
    receipt_number: ReceiptNumber
    confirmed_at: UtcDateTime


class VisitCheckedIn(EventData):
    """The applicant checked in and got a ticket (and a priority seat on the priority lane)."""

    event_type: ClassVar[str] = "queue.visit.checked_in"
    receipt_number: ReceiptNumber
    visit_id: Identifier
    ticket: Ticket
    lane: Lane
    seat: Identifier | None = None
    priority_category: PriorityCategory
    paid: bool
    checked_in_at: UtcDateTime


class TicketCalled(EventData):
    """A ticket was called to a counter (or a seat); `recall` counts repeated calls."""

    event_type: ClassVar[str] = "queue.ticket.called"
    receipt_number: ReceiptNumber
    ticket: Ticket
    stage: Stage
    counter: Identifier
    called_at: UtcDateTime
    recall: Count = 0


class TicketNoShow(EventData):
    """A called ticket did not come after the allowed number of calls (SAMBANG: not at the seat)."""

    event_type: ClassVar[str] = "queue.ticket.no_show"
    receipt_number: ReceiptNumber
    ticket: Ticket
    stage: Stage


class SambangClaimed(EventData):
    """A tablet officer claimed a priority visit and goes to the seat."""

    event_type: ClassVar[str] = "queue.sambang.claimed"
    receipt_number: ReceiptNumber
    visit_id: Identifier
    officer_id: Identifier
    seat: Identifier | None = Field(default=None, description="The priority seat; absent when it has none yet")


class SambangReleased(EventData):
    """A tablet officer gave a claimed priority visit back; the visit waits again."""

    event_type: ClassVar[str] = "queue.sambang.released"
    receipt_number: ReceiptNumber
    visit_id: Identifier
    officer_id: Identifier


class TicketTransferred(EventData):
    """A ticket was sent to another stage of its lane, e.g. back to verification for a document."""

    event_type: ClassVar[str] = "queue.ticket.transferred"
    receipt_number: ReceiptNumber
    ticket: Ticket
    from_stage: Stage
    to_stage: Stage


class WaitEstimate(ContractModel):
    """An estimated wait as a range of whole minutes ("sekitar 20-30 menit"), never a false precision."""

    low_minutes: int = Field(ge=0)
    high_minutes: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.high_minutes < self.low_minutes:
            raise ValueError("high_minutes must not be below low_minutes")
        return self


class TicketNearTurn(EventData):
    """A waiting ticket reached the office's `near_turn_position`; once per ticket and stage."""

    event_type: ClassVar[str] = "queue.ticket.near_turn"
    receipt_number: ReceiptNumber
    ticket: Ticket
    stage: Stage
    position: int = Field(ge=1, description="1-based place among the tickets waiting at the stage (1 = next)")
    estimated_wait: WaitEstimate | None = Field(
        default=None,
        description="v1.2: the estimated wait at the stage; absent when too few tickets were served to estimate",
    )


class VisitCompleted(EventData):
    """A visit ended; the times feed the office reports."""

    event_type: ClassVar[str] = "queue.visit.completed"
    receipt_number: ReceiptNumber
    visit_id: Identifier
    waited_seconds: Count
    served_seconds: Count


class PassportCollected(EventData):
    """The passport was handed over."""

    event_type: ClassVar[str] = "queue.passport.collected"
    receipt_number: ReceiptNumber
    passport_number: Identifier = Field(json_schema_extra=_PERSONAL)
    collected_at: UtcDateTime
    officer_id: Identifier
    collected_by: CollectedBy


# --- payment ------------------------------------------------------------------------------------


class BillIssued(EventData):
    """A bill with a billing code was issued for an application."""

    event_type: ClassVar[str] = "payment.bill.issued"
    receipt_number: ReceiptNumber
    billing_code: BillingCode
    amount: Rupiah
    items: list[BillItem] = Field(min_length=1)
    expires_at: UtcDateTime

    @model_validator(mode="after")
    def _items_add_up(self) -> Self:
        if sum(item.amount for item in self.items) != self.amount:
            raise ValueError("the items do not add up to the amount")
        return self


class PaymentConfirmed(EventData):
    """A bill was paid (bank webhook or settlement file)."""

    event_type: ClassVar[str] = "payment.confirmed"
    receipt_number: ReceiptNumber
    billing_code: BillingCode
    amount: Rupiah
    ntpn: Ntpn
    bank_reference: Identifier
    channel: PaymentChannel
    paid_at: UtcDateTime
    source: PaymentSource


class BillExpired(EventData):
    """A bill expired unpaid."""

    event_type: ClassVar[str] = "payment.bill.expired"
    receipt_number: ReceiptNumber
    billing_code: BillingCode
    expired_at: UtcDateTime


class BillVoided(EventData):
    """A bill was voided: its application was cancelled, or a new bill replaced it."""

    event_type: ClassVar[str] = "payment.bill.voided"
    receipt_number: ReceiptNumber
    billing_code: BillingCode
    reason: VoidReason
    voided_at: UtcDateTime


class DiscrepancyDetected(EventData):
    """A payment did not match its bill, or the settlement file and the webhooks disagree.

    `billing_code` is what the bank sent, so it is only required to be non-empty: an unknown bill
    may carry a malformed code.
    """

    event_type: ClassVar[str] = "payment.discrepancy.detected"
    receipt_number: ReceiptNumber | None = None
    billing_code: str = Field(min_length=1, max_length=64)
    kind: DiscrepancyKind
    detail: Text


# --- capture ------------------------------------------------------------------------------------


class DocumentsVerified(EventData):
    """Supporting documents were checked (verifikasi berkas)."""

    event_type: ClassVar[str] = "capture.documents.verified"
    receipt_number: ReceiptNumber
    documents: list[DocumentCheck] = Field(min_length=1)
    officer_id: Identifier


class NonconformanceRecorded(EventData):
    """A nonconformance (ketidaksesuaian) was recorded."""

    event_type: ClassVar[str] = "capture.nonconformance.recorded"
    receipt_number: ReceiptNumber
    kind: Identifier
    detail: Text
    officer_id: Identifier


class CaptureCompleted(EventData):
    """Photo, fingerprints and signature are complete; hashes only, no biometric bytes."""

    event_type: ClassVar[str] = "capture.completed"
    receipt_number: ReceiptNumber
    mode: CaptureMode
    officer_id: Identifier
    device_id: Identifier | None = None
    seat: Identifier | None = None
    items: list[CaptureItem]
    exceptions: list[CaptureException] = Field(default_factory=list)
    completed_at: UtcDateTime


class InterviewCompleted(EventData):
    """The interview (wawancara) was decided."""

    event_type: ClassVar[str] = "capture.interview.completed"
    receipt_number: ReceiptNumber
    decision: InterviewDecision
    officer_id: Identifier
    mode: CaptureMode
    completed_at: UtcDateTime


class ViolationFlagged(EventData):
    """An officer flagged a violation seen during service."""

    event_type: ClassVar[str] = "capture.violation.flagged"
    receipt_number: ReceiptNumber
    category: Identifier
    detail: Text
    officer_id: Identifier


# --- simkim -------------------------------------------------------------------------------------


class SubmissionAccepted(EventData):
    """SIMKIM accepted the application."""

    event_type: ClassVar[str] = "simkim.submission.accepted"
    receipt_number: ReceiptNumber
    simkim_reference: Identifier
    submitted_at: UtcDateTime
    attempts: Attempts


class SubmissionFailed(EventData):
    """A submission to SIMKIM failed; `permanent` says whether retries stopped."""

    event_type: ClassVar[str] = "simkim.submission.failed"
    receipt_number: ReceiptNumber
    reason: Text
    attempts: Attempts
    permanent: bool


class HoldRaised(EventData):
    """SIMKIM held the application (cekal or duplicate passport); never shown to the applicant."""

    event_type: ClassVar[str] = "simkim.hold.raised"
    receipt_number: ReceiptNumber
    kind: HoldKind
    reference: Identifier


class HoldDecided(EventData):
    """The head of office released or denied a held application."""

    event_type: ClassVar[str] = "simkim.hold.decided"
    receipt_number: ReceiptNumber
    decision: HoldDecision
    decided_by: Identifier
    reason: Text


class PassportIssued(EventData):
    """SIMKIM issued the passport; it can be picked up from `pickup_from`."""

    event_type: ClassVar[str] = "simkim.passport.issued"
    receipt_number: ReceiptNumber
    passport_number: Identifier = Field(json_schema_extra=_PERSONAL)
    issued_at: UtcDateTime
    expires_at: UtcDateTime
    pickup_from: dt.date


# --- notifier -----------------------------------------------------------------------------------


class NotificationSent(EventData):
    """A notification was delivered to its channel."""

    event_type: ClassVar[str] = "notifier.notification.sent"
    receipt_number: ReceiptNumber
    notification_id: Identifier
    channel: NotificationChannel
    template: Identifier


class NotificationFailed(EventData):
    """A notification could not be delivered; `permanent` says whether retries stopped."""

    event_type: ClassVar[str] = "notifier.notification.failed"
    receipt_number: ReceiptNumber
    notification_id: Identifier
    channel: NotificationChannel
    template: Identifier
    reason: Text
    permanent: bool


# --- registry -----------------------------------------------------------------------------------

_MODELS: tuple[type[EventData], ...] = (
    OfficeUpdated,
    ApplicationRegistered,
    ApplicationCancelled,
    ArrivalLinkIssued,
    ArrivalConfirmed,
    VisitCheckedIn,
    TicketCalled,
    TicketNoShow,
    SambangClaimed,
    SambangReleased,
    TicketTransferred,
    TicketNearTurn,
    VisitCompleted,
    PassportCollected,
    BillIssued,
    PaymentConfirmed,
    BillExpired,
    BillVoided,
    DiscrepancyDetected,
    DocumentsVerified,
    NonconformanceRecorded,
    CaptureCompleted,
    InterviewCompleted,
    ViolationFlagged,
    SubmissionAccepted,
    SubmissionFailed,
    HoldRaised,
    HoldDecided,
    PassportIssued,
    NotificationSent,
    NotificationFailed,
)

REGISTRY: Mapping[str, type[EventData]] = MappingProxyType({model.event_type: model for model in _MODELS})
"""Event type (= routing key) to its data model."""


def routing_keys() -> list[str]:
    """Return every event type, which is also its routing key, sorted."""
    return sorted(REGISTRY)


def event_model(type: str) -> type[EventData]:
    """Return the data model of an event type, or raise `UnknownEventType`."""
    try:
        return REGISTRY[type]
    except KeyError:
        raise UnknownEventType(type) from None


def _personal_fields(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[str]:
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get(PERSONAL_DATA_MARK) is True:
            names.add(name)
        names |= _nested_personal_fields(info.annotation, seen)
    return names


def _nested_personal_fields(annotation: Any, seen: set[type[BaseModel]]) -> set[str]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _personal_fields(annotation, seen)
    names: set[str] = set()
    for argument in getattr(annotation, "__args__", ()):
        names |= _nested_personal_fields(argument, seen)
    return names


PERSONAL_DATA_FIELDS: frozenset[str] = frozenset(name for model in _MODELS for name in _personal_fields(model, set()))
"""Names of every field marked `x-personal-data`, for log redaction."""
