"""Enumerations of the event catalogue (EVENTS.md) and the REST surface (API.md).

Every member's value equals its name except `Language`, whose values are the ISO 639-1 codes.
"""

from enum import StrEnum

__all__ = [
    "CancelReason",
    "CaptureItemKind",
    "CaptureMode",
    "CollectedBy",
    "DiscrepancyKind",
    "DocumentKind",
    "DocumentStatus",
    "HoldDecision",
    "HoldKind",
    "InterviewDecision",
    "Lane",
    "Language",
    "NotificationChannel",
    "PassportType",
    "PaymentChannel",
    "PaymentSource",
    "PriorityCategory",
    "ServiceType",
    "Stage",
    "VoidReason",
]


class ServiceType(StrEnum):
    """What the applicant asks for."""

    NEW = "NEW"
    RENEWAL = "RENEWAL"
    REPLACEMENT_LOST = "REPLACEMENT_LOST"
    REPLACEMENT_DAMAGED = "REPLACEMENT_DAMAGED"


class PassportType(StrEnum):
    """The passport booklet requested."""

    REGULAR = "REGULAR"
    ELECTRONIC = "ELECTRONIC"
    ELECTRONIC_POLYCARBONATE = "ELECTRONIC_POLYCARBONATE"


class PriorityCategory(StrEnum):
    """Why an applicant is served at a priority seat (sambang), or NONE."""

    NONE = "NONE"
    ELDERLY = "ELDERLY"
    DISABLED = "DISABLED"
    PREGNANT = "PREGNANT"
    CHILD = "CHILD"
    OTHER = "OTHER"


class Lane(StrEnum):
    """Queue lane; its ticket letter is A (regular), P (priority) or C (pickup)."""

    REGULAR = "REGULAR"
    PRIORITY = "PRIORITY"
    PICKUP = "PICKUP"


class Stage(StrEnum):
    """Stage of a visit: called at a counter, or SAMBANG, served at the priority seat by a claiming officer."""

    VERIFICATION = "VERIFICATION"
    INTERVIEW = "INTERVIEW"
    PICKUP = "PICKUP"
    # v1.1: lets `queue.ticket.no_show` say that a claimed applicant was not at the seat.
    SAMBANG = "SAMBANG"


class CaptureMode(StrEnum):
    """Where capture happened: at the priority seat (SAMBANG) or at a counter."""

    SAMBANG = "SAMBANG"
    COUNTER = "COUNTER"


class InterviewDecision(StrEnum):
    """Outcome of the interview (wawancara)."""

    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    NEEDS_DOCUMENTS = "NEEDS_DOCUMENTS"


class CancelReason(StrEnum):
    """Why an application was cancelled."""

    APPLICANT = "APPLICANT"
    BILL_EXPIRED = "BILL_EXPIRED"
    NO_SHOW = "NO_SHOW"
    OFFICER = "OFFICER"


class CollectedBy(StrEnum):
    """Who collected the passport."""

    SELF = "SELF"
    PROXY = "PROXY"


class PaymentChannel(StrEnum):
    """Where the applicant paid."""

    BANK = "BANK"
    ATM = "ATM"
    TELLER = "TELLER"
    POST = "POST"
    ONLINE = "ONLINE"


class PaymentSource(StrEnum):
    """How the payment became known: bank webhook or daily settlement file."""

    WEBHOOK = "WEBHOOK"
    SETTLEMENT = "SETTLEMENT"


class VoidReason(StrEnum):
    """Why a bill was voided."""

    APPLICATION_CANCELLED = "APPLICATION_CANCELLED"
    REPLACED = "REPLACED"


class DiscrepancyKind(StrEnum):
    """Kind of payment discrepancy found while applying or reconciling payments."""

    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    DOUBLE_PAYMENT = "DOUBLE_PAYMENT"
    LATE_PAYMENT = "LATE_PAYMENT"
    UNKNOWN_BILL = "UNKNOWN_BILL"
    MISSING_IN_SETTLEMENT = "MISSING_IN_SETTLEMENT"


class DocumentKind(StrEnum):
    """Supporting document checked at verification (verifikasi berkas)."""

    KTP = "KTP"
    KK = "KK"
    BIRTH_CERTIFICATE = "BIRTH_CERTIFICATE"
    MARRIAGE_CERTIFICATE = "MARRIAGE_CERTIFICATE"
    DIPLOMA = "DIPLOMA"
    OLD_PASSPORT = "OLD_PASSPORT"
    POLICE_REPORT = "POLICE_REPORT"
    #: The application form (formulir Perdim 11), which API.md's checklist names (v1.1).
    PERDIM_11 = "PERDIM_11"
    #: The signed statement letter (surat pernyataan), which API.md's checklist names (v1.1).
    STATEMENT_LETTER = "STATEMENT_LETTER"
    OTHER = "OTHER"


class DocumentStatus(StrEnum):
    """Result of checking one document."""

    OK = "OK"
    MISSING = "MISSING"
    MISMATCH = "MISMATCH"


class CaptureItemKind(StrEnum):
    """Kind of biometric item captured."""

    PHOTO = "PHOTO"
    FINGERPRINT = "FINGERPRINT"
    SIGNATURE = "SIGNATURE"


class HoldKind(StrEnum):
    """Why SIMKIM held an application: watch list (cekal) or an active passport."""

    CEKAL = "CEKAL"
    DUPLICATE_PASSPORT = "DUPLICATE_PASSPORT"


class HoldDecision(StrEnum):
    """The head of office's decision on a hold."""

    RELEASE = "RELEASE"
    DENY = "DENY"


class NotificationChannel(StrEnum):
    """Channel a notification went out on."""

    EMAIL = "EMAIL"
    SMS = "SMS"
    TABLET = "TABLET"
    DISPLAY = "DISPLAY"


class Language(StrEnum):
    """Applicant's language: Bahasa Indonesia or English."""

    ID = "id"
    EN = "en"


class ApprovalAction(StrEnum):
    """What a supervisor's (or a second national admin's) approval allows, once (API.md "Approvals")."""

    #: A finger that cannot be captured; subject = receipt number, position = finger 1-10.
    FINGERPRINT_EXCEPTION = "fingerprint_exception"
    #: A new bank partner; subject = the partner id to be created.
    PARTNER_CREATE = "partner_create"
    #: A new webhook key for a partner; subject = partner id.
    PARTNER_ROTATE = "partner_rotate"
    #: A partner's keys withdrawn; subject = partner id.
    PARTNER_REVOKE = "partner_revoke"
    #: Payments applied from an uploaded settlement file; subject = sha256 hex of the file's bytes.
    SETTLEMENT_APPLY = "settlement_apply"
