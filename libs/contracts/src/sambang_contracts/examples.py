"""One example of every event's data, fixed and fictional: for documentation and for tests.

The identities are invented; the NIK and names belong to no one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType

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
from sambang_contracts.events import (
    Applicant,
    ApplicationCancelled,
    ApplicationRegistered,
    ArrivalConfirmed,
    ArrivalLinkIssued,
    BillExpired,
    BillIssued,
    BillItem,
    BillVoided,
    CaptureCompleted,
    CaptureException,
    CaptureItem,
    DiscrepancyDetected,
    DocumentCheck,
    DocumentsVerified,
    EventData,
    HoldDecided,
    HoldRaised,
    InterviewCompleted,
    NonconformanceRecorded,
    NotificationFailed,
    NotificationSent,
    OfficeSettings,
    OfficeUpdated,
    PassportCollected,
    PassportIssued,
    PaymentConfirmed,
    SambangClaimed,
    SambangReleased,
    Slot,
    SubmissionAccepted,
    SubmissionFailed,
    TicketCalled,
    TicketNearTurn,
    TicketNoShow,
    TicketTransferred,
    ViolationFlagged,
    VisitCheckedIn,
    VisitCompleted,
)

__all__ = ["EXAMPLES", "example_data"]

RECEIPT = "BLT2612010421733"
BILLING_CODE = "820261201000011"
_UTC = dt.UTC


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=_UTC)


def _sha(char: str) -> str:
    return char * 64


_ALL: tuple[EventData, ...] = (
    OfficeUpdated(
        office="BLT",
        name="Kantor Imigrasi Kelas II Non TPI Blitar",
        timezone="Asia/Jakarta",
        settings=OfficeSettings(),
    ),
    ApplicationRegistered(
        receipt_number=RECEIPT,
        office="BLT",
        slot=Slot(date=dt.date(2026, 12, 8), start=dt.time(8, 0), end=dt.time(9, 0)),
        service_type=ServiceType.NEW,
        passport_type=PassportType.ELECTRONIC,
        priority_category=PriorityCategory.ELDERLY,
        walk_in=False,
        validity_years=10,
        express=False,
        applicant=Applicant(
            full_name="Siti Contoh",
            nik="3505010101500001",
            birth_date=dt.date(1950, 1, 1),
            email="siti@example.org",
            phone="+6281200000000",
            language=Language.ID,
        ),
    ),
    ApplicationCancelled(receipt_number=RECEIPT, reason=CancelReason.APPLICANT, detail=None),
    ArrivalLinkIssued(
        receipt_number=RECEIPT,
        url=f"https://sambang.example.org/arrival?receipt={RECEIPT}&token=example-token",
        token="example-token",  # noqa: S106 - a fictional example, not a credential
        expires_at=_at(8, 9),
    ),
    ArrivalConfirmed(receipt_number=RECEIPT, confirmed_at=_at(2, 5)),
    VisitCheckedIn(
        receipt_number=RECEIPT,
        visit_id="v-0001",
        ticket="P007",
        lane=Lane.PRIORITY,
        seat="P3",
        priority_category=PriorityCategory.ELDERLY,
        paid=True,
        checked_in_at=_at(8, 0, 40),
    ),
    TicketCalled(
        receipt_number=RECEIPT,
        ticket="P007",
        stage=Stage.VERIFICATION,
        counter="P3",
        called_at=_at(8, 0, 45),
        recall=0,
    ),
    TicketNoShow(receipt_number=RECEIPT, ticket="A012", stage=Stage.INTERVIEW),
    SambangClaimed(receipt_number=RECEIPT, visit_id="v-0001", officer_id="officer-7", seat="P3"),
    SambangReleased(receipt_number=RECEIPT, visit_id="v-0001", officer_id="officer-7"),
    TicketTransferred(receipt_number=RECEIPT, ticket="A012", from_stage=Stage.INTERVIEW, to_stage=Stage.VERIFICATION),
    TicketNearTurn(receipt_number=RECEIPT, ticket="A012", stage=Stage.VERIFICATION, position=3),
    VisitCompleted(receipt_number=RECEIPT, visit_id="v-0001", waited_seconds=300, served_seconds=900),
    PassportCollected(
        receipt_number=RECEIPT,
        passport_number="X1234567",
        collected_at=_at(15, 2),
        officer_id="officer-2",
        collected_by=CollectedBy.SELF,
    ),
    BillIssued(
        receipt_number=RECEIPT,
        billing_code=BILLING_CODE,
        amount=650000,
        items=[BillItem(code="PASPOR-EL-48", description="Paspor elektronik 48 halaman", amount=650000)],
        expires_at=_at(1, 6),
    ),
    PaymentConfirmed(
        receipt_number=RECEIPT,
        billing_code=BILLING_CODE,
        amount=650000,
        ntpn="0F1E2D3C4B5A6978",
        bank_reference="BNI-20261201-0001",
        channel=PaymentChannel.ATM,
        paid_at=_at(1, 4, 30),
        source=PaymentSource.WEBHOOK,
    ),
    BillExpired(receipt_number=RECEIPT, billing_code=BILLING_CODE, expired_at=_at(1, 6)),
    BillVoided(
        receipt_number=RECEIPT,
        billing_code=BILLING_CODE,
        reason=VoidReason.APPLICATION_CANCELLED,
        voided_at=_at(1, 5),
    ),
    DiscrepancyDetected(
        receipt_number=RECEIPT,
        billing_code=BILLING_CODE,
        kind=DiscrepancyKind.AMOUNT_MISMATCH,
        detail="paid 600000, billed 650000",
    ),
    DocumentsVerified(
        receipt_number=RECEIPT,
        documents=[
            DocumentCheck(kind=DocumentKind.KTP, status=DocumentStatus.OK),
            DocumentCheck(kind=DocumentKind.KK, status=DocumentStatus.OK),
        ],
        officer_id="officer-7",
    ),
    NonconformanceRecorded(
        receipt_number=RECEIPT,
        kind="DATA_MISMATCH",
        detail="birth place differs between KTP and KK",
        officer_id="officer-7",
    ),
    CaptureCompleted(
        receipt_number=RECEIPT,
        mode=CaptureMode.SAMBANG,
        officer_id="officer-7",
        device_id="tablet-03",
        seat="P3",
        items=[
            CaptureItem(kind=CaptureItemKind.PHOTO, sha256=_sha("a"), bytes=182044, quality=0.93),
            *(
                CaptureItem(
                    kind=CaptureItemKind.FINGERPRINT,
                    position=position,
                    sha256=_sha(format(position, "x")),
                    bytes=40960,
                    quality=62,
                )
                for position in range(1, 10)
            ),
            CaptureItem(kind=CaptureItemKind.SIGNATURE, sha256=_sha("b"), bytes=9120, quality=1),
        ],
        exceptions=[CaptureException(kind=CaptureItemKind.FINGERPRINT, position=10, reason="BANDAGED")],
        completed_at=_at(8, 1, 5),
    ),
    InterviewCompleted(
        receipt_number=RECEIPT,
        decision=InterviewDecision.APPROVED,
        officer_id="officer-7",
        mode=CaptureMode.SAMBANG,
        completed_at=_at(8, 1, 10),
    ),
    ViolationFlagged(
        receipt_number=RECEIPT,
        category="BROKER",
        detail="an intermediary offered to speed up the process",
        officer_id="officer-7",
    ),
    SubmissionAccepted(
        receipt_number=RECEIPT,
        simkim_reference="SIMKIM-2026-000123",
        submitted_at=_at(8, 1, 12),
        attempts=1,
    ),
    SubmissionFailed(receipt_number=RECEIPT, reason="SIMKIM unavailable (503)", attempts=3, permanent=False),
    HoldRaised(receipt_number=RECEIPT, kind=HoldKind.CEKAL, reference="HOLD-2026-0042"),
    HoldDecided(
        receipt_number=RECEIPT,
        decision=HoldDecision.RELEASE,
        decided_by="head-of-office",
        reason="namesake, different person",
    ),
    PassportIssued(
        receipt_number=RECEIPT,
        passport_number="X1234567",
        issued_at=_at(8, 3),
        expires_at=dt.datetime(2036, 12, 8, 3, 0, tzinfo=_UTC),
        pickup_from=dt.date(2026, 12, 15),
    ),
    NotificationSent(
        receipt_number=RECEIPT,
        notification_id="n-0001",
        channel=NotificationChannel.EMAIL,
        template="arrival_link",
    ),
    NotificationFailed(
        receipt_number=RECEIPT,
        notification_id="n-0002",
        channel=NotificationChannel.SMS,
        template="passport_ready",
        reason="provider rejected the number",
        permanent=True,
    ),
)

EXAMPLES: Mapping[str, EventData] = MappingProxyType({data.event_type: data for data in _ALL})
"""Event type to an example of its data."""


def example_data(type: str) -> EventData:
    """Return the example data of an event type, or raise `UnknownEventType`."""
    try:
        return EXAMPLES[type]
    except KeyError:
        raise UnknownEventType(type) from None
