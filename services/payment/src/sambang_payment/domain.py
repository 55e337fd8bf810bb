"""Pure payment rules: fee schedule, bill amounts and validity, office rules, bank signatures and
partner keys, payment outcomes, settlement files. No database, HTTP, bus or wall clock here: the
current instant comes in as an argument, and broken rules raise ``DomainError`` codes (errors.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import hashlib
import hmac
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator
from sambang_contracts import (
    DiscrepancyKind,
    PassportType,
    PaymentChannel,
    PaymentSource,
    PriorityCategory,
    ServiceType,
)
from sambang_contracts.values import InvalidValue, validate_ntpn
from sambang_runtime.errors import DomainError

# --- fee schedule (tarif PNBP) ------------------------------------------------------------------

Rupiah = Annotated[StrictInt, Field(gt=0, le=1_000_000_000)]
RupiahOrZero = Annotated[StrictInt, Field(ge=0, le=1_000_000_000)]
ItemCode = Annotated[str, Field(pattern=r"^[A-Z0-9_]{1,64}$")]
Description = Annotated[str, Field(min_length=1, max_length=300)]


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

    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str, Field(max_length=2000)] = ""
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


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Completed years of age on a date (a 29 February birthday counts on 1 March in common years)."""
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def default_validity_years(birth_date: dt.date, registered_on: dt.date, *, min_age: int = 17) -> int:
    """Validity billed when the application does not say: 10 years from ``min_age`` (17) on, else 5.

    Registrations of producers older than contracts v1.1 carry neither the requested validity nor
    marital status, so we bill the longest validity the applicant is certainly entitled to by age at
    registration. A married minor (also entitled to 10 years) is billed 5 years in that case only.
    """
    return 10 if age_on(birth_date, registered_on) >= min_age else 5


def ten_years_allowed(birth_date: dt.date, on: dt.date, *, married: bool | None, min_age: int = 17) -> bool:
    """Ten-year validity only for applicants aged 17 or over, or married.

    ``married=None`` means the producer of the request already applied this rule with the marital
    status it holds and we do not (queue's registration: the application form asks it, the event
    does not carry it): the request is trusted.
    """
    return married is None or married or age_on(birth_date, on) >= min_age


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


def bill_lines(schedule: FeeScheduleDocument, request: BillRequest) -> list[BillLine]:
    """Itemise the state fee (PNBP) of one application; zero lines (waived) are left out."""
    years = request.validity_years
    if years is None:
        years = default_validity_years(request.birth_date, request.registered_on, min_age=schedule.ten_year_min_age)
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


# --- bill validity ------------------------------------------------------------------------------


def is_priority(priority_category: PriorityCategory, walk_in: bool) -> bool:
    """Priority and walk-in applicants may pay after the interview, so their bills live longer."""
    return priority_category is not PriorityCategory.NONE or walk_in


def bill_validity_seconds(*, priority: bool, ordinary_seconds: int, priority_seconds: int) -> int:
    """Seconds a bill stays payable: the office's two rules (2 hours, 7 days by default)."""
    return priority_seconds if priority else ordinary_seconds


# --- office rules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficeRules:
    """What this service needs of an office's settings (copied from ``queue.office.updated``)."""

    timezone: dt.tzinfo
    bill_validity_seconds: int
    priority_bill_validity_seconds: int


def zone(name: str, fallback: str = "Asia/Jakarta") -> dt.tzinfo:
    """An IANA time zone; an unknown name falls back to the default instead of failing a bill."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


# --- issuing a bill -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BillDraft:
    """A bill decided but not stored yet: the lines, their total, and how long it stays payable."""

    lines: list[BillLine]
    amount: int
    schedule_name: str
    validity_years: int
    priority: bool
    issued_at: dt.datetime
    expires_at: dt.datetime


def draft_bill(
    schedule: FeeScheduleDocument,
    request: BillRequest,
    rules: OfficeRules,
    *,
    priority: bool,
    now: dt.datetime,
) -> BillDraft:
    """The bill of one application: itemised from the schedule, payable for the office's validity."""
    years = request.validity_years
    if years is None:
        years = default_validity_years(request.birth_date, request.registered_on, min_age=schedule.ten_year_min_age)
    lines = bill_lines(schedule, replace(request, validity_years=years))
    validity = bill_validity_seconds(
        priority=priority,
        ordinary_seconds=rules.bill_validity_seconds,
        priority_seconds=rules.priority_bill_validity_seconds,
    )
    return BillDraft(
        lines=lines,
        amount=sum(line.amount for line in lines),
        schedule_name=schedule.name,
        validity_years=years,
        priority=priority,
        issued_at=now,
        expires_at=now + dt.timedelta(seconds=validity),
    )


# --- bank signatures ----------------------------------------------------------------------------

SIGNATURE_WINDOW_SECONDS = 300
_SIGNATURE_PART = re.compile(r"^(t|v1)=([^,=\s]+)$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class SignatureError(DomainError):
    """A bank notification whose signature cannot be trusted (401)."""


def _missing() -> SignatureError:
    return SignatureError("missing_signature")


def _forged() -> SignatureError:
    # One code for an unknown key, a revoked key and a wrong signature: an attacker learns nothing.
    return SignatureError("invalid_signature")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<t>.<raw body>"`` under the partner's secret."""
    return hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Signature`` value a bank sends."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


@dataclass(frozen=True)
class ParsedSignature:
    """The parts of an ``X-Signature`` header."""

    timestamp: int
    candidates: tuple[str, ...]


def parse_signature_header(header: str | None) -> ParsedSignature:
    """Read ``t=<unix seconds>,v1=<hex>[,v1=<hex>…]``; anything else is a missing/invalid signature."""
    if header is None or not header.strip():
        raise _missing()
    timestamp: int | None = None
    candidates: list[str] = []
    for raw in header.split(","):
        match = _SIGNATURE_PART.match(raw.strip())
        if match is None:
            raise _forged()
        name, value = match.groups()
        if name == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit() or len(value) > 12:
                raise _forged()
            timestamp = int(value)
        elif _HEX64.match(value):
            candidates.append(value)
    if timestamp is None or not candidates or len(candidates) > 4:
        raise _forged()
    return ParsedSignature(timestamp, tuple(candidates))


def verify_signature(
    secrets: Sequence[str],
    header: str | None,
    body: bytes,
    *,
    now: float,
    window_seconds: int = SIGNATURE_WINDOW_SECONDS,
    future_skew_seconds: int = 30,
) -> int:
    """Check a notification against the partner key's secret(s); returns the signed timestamp.

    The HMAC is checked first, with ``hmac.compare_digest`` against every candidate, so a stale
    answer is only given to a genuinely signed request. Then the time window: older than
    ``window_seconds`` or further in the future than ``future_skew_seconds`` (clock drift) is stale.
    """
    parsed = parse_signature_header(header)
    ok = False
    for secret in secrets:
        expected = sign(secret, parsed.timestamp, body)
        for candidate in parsed.candidates:
            # Keep comparing after a match: the time taken must not depend on which one matched.
            ok |= hmac.compare_digest(expected, candidate)
    if not ok:
        raise _forged()
    age = now - parsed.timestamp
    if age > window_seconds or age < -future_skew_seconds:
        raise SignatureError("stale_signature", window_seconds=window_seconds)
    return parsed.timestamp


def missing_signature() -> SignatureError:
    """The error for a request without the signature headers."""
    return _missing()


def invalid_signature() -> SignatureError:
    """The error for an unknown, revoked or expired key, or a wrong signature."""
    return _forged()


# --- partner keys -------------------------------------------------------------------------------

PARTNER_ID = re.compile(r"^[A-Z0-9_]{3,32}$")


class KeyState(enum.StrEnum):
    """Whether a partner key signs today."""

    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


def key_state(*, revoked_at: dt.datetime | None, valid_until: dt.datetime | None, now: dt.datetime) -> KeyState:
    """A revoked key never signs again; a rotated key signs until its grace period ends."""
    if revoked_at is not None:
        return KeyState.REVOKED
    if valid_until is not None and valid_until <= now:
        return KeyState.EXPIRED
    return KeyState.ACTIVE


def grace_until(now: dt.datetime, grace_seconds: int) -> dt.datetime:
    """When the keys open at a rotation stop working (0 seconds: now)."""
    return now + dt.timedelta(seconds=grace_seconds)


# --- payment outcomes ---------------------------------------------------------------------------


class BillStatus(enum.StrEnum):
    """Where a bill is: payable, paid, expired unpaid, or voided by a cancellation."""

    UNPAID = "UNPAID"
    PAID = "PAID"
    EXPIRED = "EXPIRED"
    VOID = "VOID"


class Outcome(enum.StrEnum):
    """What a bank notification (or a settlement row) did."""

    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"
    DISCREPANCY = "DISCREPANCY"


@dataclass(frozen=True)
class BillState:
    """What the outcome of a payment depends on, read under the bill's row lock."""

    billing_code: str
    status: BillStatus
    amount: int
    expires_at: dt.datetime


@dataclass(frozen=True)
class KnownPayment:
    """A payment already recorded under the same NTPN."""

    billing_code: str
    amount: int


@dataclass(frozen=True)
class Verdict:
    """An outcome, with the discrepancy kind and an explanation when it is one."""

    outcome: Outcome
    kind: DiscrepancyKind | None = None
    detail: str = ""


@dataclass(frozen=True)
class IncomingPayment:
    """A payment as a bank reports it (webhook body or settlement row)."""

    billing_code: str
    ntpn: str
    amount: int
    paid_at: dt.datetime
    channel: PaymentChannel
    bank_reference: str
    source: PaymentSource
    partner_id: str


@dataclass(frozen=True)
class Recorded:
    """What recording a payment did, and the bill it concerned (None: unknown billing code)."""

    verdict: Verdict
    receipt_number: str | None
    office: str | None


def dedupe_key(verdict: Verdict, payment: IncomingPayment) -> str:
    """The same problem with the same money is one discrepancy, however often the bank resends it."""
    assert verdict.kind is not None
    return f"{verdict.kind.value}:{payment.ntpn}:{payment.billing_code}:{payment.amount}"


def judge_payment(
    *,
    billing_code: str,
    amount: int,
    paid_at: dt.datetime,
    bill: BillState | None,
    known: KnownPayment | None,
) -> Verdict:
    """Decide what one payment (NTPN) means for its bill: money is counted exactly once.

    - the same NTPN again for the same bill and amount is a DUPLICATE (nothing happens);
    - the same NTPN with another bill or amount is a DOUBLE_PAYMENT / AMOUNT_MISMATCH discrepancy;
    - unknown billing code, wrong amount, a second NTPN on a paid bill, payment after expiry or on a
      voided bill are discrepancies the office resolves;
    - a payment made before the bill expired is APPLIED even if our expiry sweep already marked the
      bill EXPIRED (the bank accepted it in time; only its notice was late).
    """
    if known is not None:
        if known.billing_code == billing_code and known.amount == amount:
            return Verdict(Outcome.DUPLICATE)
        if known.billing_code != billing_code:
            return Verdict(
                Outcome.DISCREPANCY,
                DiscrepancyKind.DOUBLE_PAYMENT,
                "NTPN already recorded for another billing code",
            )
        return Verdict(
            Outcome.DISCREPANCY,
            DiscrepancyKind.AMOUNT_MISMATCH,
            f"NTPN already recorded with amount {known.amount}, now reported as {amount}",
        )
    if bill is None:
        return Verdict(Outcome.DISCREPANCY, DiscrepancyKind.UNKNOWN_BILL, "No bill has this billing code")
    if bill.status is BillStatus.PAID:
        return Verdict(
            Outcome.DISCREPANCY, DiscrepancyKind.DOUBLE_PAYMENT, "The bill was already paid with another NTPN"
        )
    if amount != bill.amount:
        return Verdict(
            Outcome.DISCREPANCY,
            DiscrepancyKind.AMOUNT_MISMATCH,
            f"Paid {amount} for a bill of {bill.amount}",
        )
    if bill.status is BillStatus.VOID:
        return Verdict(Outcome.DISCREPANCY, DiscrepancyKind.LATE_PAYMENT, "The application was cancelled; bill void")
    if paid_at > bill.expires_at:
        return Verdict(
            Outcome.DISCREPANCY,
            DiscrepancyKind.LATE_PAYMENT,
            f"Paid at {paid_at.isoformat()} after the bill expired at {bill.expires_at.isoformat()}",
        )
    return Verdict(Outcome.APPLIED)


# --- settlement file (rekonsiliasi) -------------------------------------------------------------

SETTLEMENT_HEADER = ("billing_code", "ntpn", "amount", "paid_at", "channel", "bank_reference")
_BILLING_CODE_SHAPE = re.compile(r"^[0-9]{15}$", re.ASCII)
_AMOUNT = re.compile(r"^[1-9][0-9]{0,11}$", re.ASCII)
_REFERENCE = re.compile(r"^[\x21-\x7e][\x20-\x7e]{0,199}$")


class SettlementFileError(DomainError):
    """The settlement file as a whole cannot be read (422)."""


@dataclass(frozen=True)
class SettlementRow:
    """One well-formed row of a bank's daily settlement file."""

    line: int
    billing_code: str
    ntpn: str
    amount: int
    paid_at: dt.datetime
    channel: PaymentChannel
    bank_reference: str


@dataclass(frozen=True)
class RowError:
    """A malformed row, by line number (the header is line 1)."""

    line: int
    errors: tuple[str, ...]


@dataclass
class SettlementFile:
    """The rows that can be applied and the rows that cannot."""

    rows: list[SettlementRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _parse_row(line: int, values: list[str]) -> SettlementRow | RowError:
    if len(values) != len(SETTLEMENT_HEADER):
        return RowError(line, (f"expected {len(SETTLEMENT_HEADER)} fields, found {len(values)}",))
    billing_code, ntpn, amount, paid_at, channel, reference = (v.strip() for v in values)
    errors: list[str] = []
    if not _BILLING_CODE_SHAPE.match(billing_code):
        errors.append("billing_code: must be 15 digits")
    try:
        validate_ntpn(ntpn)
    except InvalidValue:
        errors.append("ntpn: must be 16 digits or capital letters")
    if not _AMOUNT.match(amount):
        errors.append("amount: must be a positive whole number of rupiah")
    when: dt.datetime | None = None
    try:
        when = dt.datetime.fromisoformat(paid_at)
        if when.tzinfo is None:
            errors.append("paid_at: must carry a time zone (e.g. 2026-12-01T10:00:00+07:00)")
    except ValueError:
        errors.append("paid_at: must be an ISO 8601 date-time")
    try:
        chan = PaymentChannel(channel)
    except ValueError:
        errors.append(f"channel: must be one of {', '.join(c.value for c in PaymentChannel)}")
    if not _REFERENCE.match(reference):
        errors.append("bank_reference: must be 1-200 printable characters")
    if errors or when is None:
        return RowError(line, tuple(errors))
    return SettlementRow(line, billing_code, ntpn, int(amount), when.astimezone(dt.UTC), chan, reference)


def parse_settlement(raw: bytes) -> SettlementFile:
    """Read a settlement CSV: exact header, CRLF or LF, optional UTF-8 BOM; bad rows are listed by line."""
    if not raw.strip():
        raise SettlementFileError("empty_settlement_file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SettlementFileError("settlement_not_utf8") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        header = []
    if tuple(h.strip() for h in header) != SETTLEMENT_HEADER:
        raise SettlementFileError("wrong_settlement_header")
    result = SettlementFile()
    seen: dict[str, int] = {}
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.errors.append(RowError(reader.line_num, (f"unreadable CSV: {exc}",)))
            continue
        line = reader.line_num
        if not values or all(not v.strip() for v in values):
            continue  # blank lines (a trailing newline) are not rows
        parsed = _parse_row(line, values)
        if isinstance(parsed, RowError):
            result.errors.append(parsed)
        elif parsed.ntpn in seen:
            result.errors.append(RowError(line, (f"ntpn: repeats line {seen[parsed.ntpn]}",)))
        else:
            seen[parsed.ntpn] = line
            result.rows.append(parsed)
    return result


def settlement_days(file: SettlementFile, settlement_date: dt.date | None, tz: dt.tzinfo) -> list[dt.date]:
    """The office-local days a settlement file covers: the day named, else the days of its rows."""
    if settlement_date is not None:
        return [settlement_date]
    return sorted({r.paid_at.astimezone(tz).date() for r in file.rows})


def missing_detail(ntpn: str, amount: int) -> str:
    """Why a payment we recorded is a MISSING_IN_SETTLEMENT discrepancy."""
    return f"Payment {ntpn} of {amount} is not in the partner's settlement file"


def settlement_sha256(raw: bytes) -> str:
    """The identity of an uploaded file: the same bytes twice are the same file."""
    return hashlib.sha256(raw).hexdigest()


# --- bank notification body ---------------------------------------------------------------------


class NotificationBody(BaseModel):
    """What a bank notifies: unknown extra fields are ignored, known ones are strict."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    billing_code: Annotated[str, Field(pattern=r"^[0-9]{15}$")]
    amount: Rupiah
    ntpn: Annotated[str, Field(pattern=r"^[0-9A-Z]{16}$")]
    bank_reference: Annotated[str, Field(min_length=1, max_length=200)]
    channel: PaymentChannel
    paid_at: dt.datetime

    @model_validator(mode="after")
    def _aware_time(self) -> Self:
        if self.paid_at.tzinfo is None:
            raise ValueError("paid_at must carry a time zone")
        return self


def parse_notification(body: bytes) -> NotificationBody:
    """Validate a notification body (raises pydantic ``ValidationError``)."""
    return NotificationBody.model_validate_json(body)


def as_utc(value: dt.datetime) -> dt.datetime:
    """An instant in UTC; SQLite hands back naive datetimes, which we always store as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def local_day_bounds(days: Sequence[dt.date], tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants from the start of the first to the end of the last of some office-local days."""
    first, last = min(days), max(days)
    start = dt.datetime.combine(first, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    return start, end
