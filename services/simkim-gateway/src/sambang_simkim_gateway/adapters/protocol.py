"""SIMKIM's HTTP protocol as the gateway speaks it and the simulator serves it.

SIMKIM (the national immigration information system) is reachable only from a government network and
publishes no API; these models are the adapter's side of that contract, written once so the gateway and
the simulator cannot drift apart.

- ``POST /simkim/v1/applications`` with ``Idempotency-Key: <receipt number>``: 201 the first time, 200 with
  the same answer for a repeat; the application is ACCEPTED, or HELD (watch list or active passport).
- ``GET /simkim/v1/applications/{reference}``: status, and the passport once ISSUED.
- ``POST /simkim/v1/applications/{reference}/decision``: the head of office's RELEASE or DENY of a hold.
- ``POST /simkim/v1/violations`` with ``Idempotency-Key: <violation id>``: a violation seen by an officer.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from sambang_contracts.bundles import Base64Data
from sambang_contracts.enums import (
    CaptureItemKind,
    HoldDecision,
    HoldKind,
    PassportType,
    PriorityCategory,
    ServiceType,
)
from sambang_contracts.values import Text

IDEMPOTENCY_KEY = "Idempotency-Key"
#: A receipt number and an office code on the wire (SIMKIM's own checks are its business: these only say
#: the shape, so no free text without the no-control-characters pattern crosses the simulator's door).
RECEIPT_PATTERN = r"^[A-Z]{3}[0-9]{13}$"
OFFICE_PATTERN = r"^[A-Z]{3}$"
#: Standard base64, as ``Base64Data`` reads it (the schema says so; the validator enforces it).
BASE64_SCHEMA: dict[str, JsonValue] = {"pattern": r"^[A-Za-z0-9+/]*={0,2}$"}


class WireModel(BaseModel):
    """Base of the protocol's bodies: unknown fields ignored (SIMKIM may add some)."""

    model_config = ConfigDict(extra="ignore")


class ApplicationStatus(StrEnum):
    """An application's status in SIMKIM."""

    ACCEPTED = "ACCEPTED"
    HELD = "HELD"
    ISSUED = "ISSUED"
    DENIED = "DENIED"


class Biodata(WireModel):
    """The applicant as SIMKIM records them."""

    full_name: Text = Field(min_length=1, max_length=200)
    nik: str = Field(pattern=r"^[0-9]{16}$")
    birth_date: dt.date


class Biometric(WireModel):
    """One biometric item with its bytes and hash."""

    kind: CaptureItemKind
    position: int | None = Field(default=None, ge=1, le=10)
    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    content_type: Text = Field(min_length=1, max_length=100)
    data: Base64Data = Field(json_schema_extra=BASE64_SCHEMA)


class BiometricException(WireModel):
    """An item that could not be captured (an amputated finger, an applicant who cannot sign)."""

    kind: CaptureItemKind
    position: int | None = Field(default=None, ge=1, le=10)
    reason: Text = Field(min_length=1, max_length=200)


class Interview(WireModel):
    """Who approved the application at interview, and when."""

    officer_id: Text = Field(min_length=1, max_length=200)
    completed_at: dt.datetime


class ApplicationSubmission(WireModel):
    """``POST /simkim/v1/applications``: one application with its biodata and biometrics."""

    receipt_number: str = Field(pattern=RECEIPT_PATTERN)
    office: str = Field(pattern=OFFICE_PATTERN)
    service_type: ServiceType
    passport_type: PassportType
    priority_category: PriorityCategory
    validity_years: int = Field(ge=1, le=10)
    applicant: Biodata
    interview: Interview
    biometrics: list[Biometric] = Field(min_length=1)
    exceptions: list[BiometricException] = Field(default_factory=list)


class Hold(WireModel):
    """Why SIMKIM holds an application, with SIMKIM's case reference."""

    kind: HoldKind
    reference: str = Field(min_length=1, max_length=64)


class Passport(WireModel):
    """The issued passport."""

    number: str = Field(min_length=1, max_length=20)
    issued_at: dt.datetime
    expires_at: dt.datetime


class ApplicationRecord(WireModel):
    """SIMKIM's answer about one application (to a submission, a repeat of it, or a status query)."""

    reference: str = Field(min_length=1, max_length=64)
    receipt_number: str
    status: ApplicationStatus
    hold: Hold | None = None
    passport: Passport | None = None
    received_at: dt.datetime


class DecisionRequest(WireModel):
    """``POST /simkim/v1/applications/{reference}/decision``."""

    decision: HoldDecision
    reason: Text = Field(min_length=1, max_length=2000)
    decided_by: Text = Field(min_length=1, max_length=200)


class ViolationReport(WireModel):
    """``POST /simkim/v1/violations``: a violation an officer flagged, keyed by its id."""

    violation_id: Text = Field(min_length=1, max_length=64)
    receipt_number: str = Field(pattern=RECEIPT_PATTERN)
    office: str = Field(pattern=OFFICE_PATTERN)
    category: Text = Field(min_length=1, max_length=200)
    detail: Text = Field(min_length=1, max_length=2000)
    officer_id: Text = Field(min_length=1, max_length=200)
    flagged_at: dt.datetime


class ViolationReceipt(WireModel):
    """SIMKIM's acknowledgement of a violation report."""

    violation_id: str
    reference: str
    received_at: dt.datetime
