"""Value types (receipt number, NIK, billing code, NTPN, ticket, office code) and their pure checks.

Each type is an `Annotated[str, ...]` alias that pydantic validates; the plain functions raise
`InvalidValue`, whose `code` is stable and whose messages are bilingual and never echo the value
(a NIK is personal data).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import lru_cache
from random import Random
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from sambang_contracts.enums import Lane

__all__ = [
    "BIOMETRIC_RETENTION_MAX_DAYS",
    "NO_CONTROL_CHARS",
    "TEN_YEARS_FROM_AGE",
    "BillingCode",
    "InvalidValue",
    "IsHoliday",
    "Nik",
    "Ntpn",
    "OfficeCode",
    "ReceiptNumber",
    "ReceiptParts",
    "Text",
    "Ticket",
    "UtcDateTime",
    "add_working_days",
    "age_on",
    "format_ticket",
    "generate_billing_code",
    "generate_receipt_number",
    "indonesian_public_holidays",
    "is_working_day",
    "luhn_check_digit",
    "luhn_valid",
    "parse_receipt_number",
    "ten_years_allowed",
    "ticket_letter",
    "validate_billing_code",
    "validate_nik",
    "validate_ntpn",
    "validate_office_code",
    "validate_receipt_number",
    "validate_ticket",
    "validity_years",
    "working_days_between",
]

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_OFFICE = re.compile(r"[A-Z]{3}", re.ASCII)
_NTPN = re.compile(r"[0-9A-Z]{16}", re.ASCII)
_TICKET = re.compile(r"[APC][0-9]{3}", re.ASCII)
_RECEIPT_SHAPE = re.compile(r"[A-Z]{3}[0-9]{13}", re.ASCII)
_DOUBLED = str.maketrans("0123456789", "0246813579")  # digit -> digit sum of its double

#: Free text without control characters: tab, line feed and carriage return are text; NUL (which
#: PostgreSQL refuses), the other C0 controls, DEL and the C1 controls are not (terminal escapes, log
#: forging). One pattern, so the JSON Schema says it and clients and fuzzers read it there.
NO_CONTROL_CHARS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"

#: Every free-text field of every request: ``note: Text = Field(max_length=500)``; a control character
#: answers 422 (``string_pattern_mismatch``) naming the field, never a 500 from the database.
Text = Annotated[str, StringConstraints(pattern=NO_CONTROL_CHARS)]

#: The national maximum an office may keep biometrics after a final outcome (UU 27/2022: no longer
#: than their purpose needs); an office's ``biometric_retention_days`` may be lower, never higher.
BIOMETRIC_RETENTION_MAX_DAYS = 90

RECEIPT_NUMBER_LENGTH = 16
BILLING_CODE_LENGTH = 15
NIK_LENGTH = 16

_TICKET_LETTERS: dict[Lane, str] = {Lane.REGULAR: "A", Lane.PRIORITY: "P", Lane.PICKUP: "C"}


class InvalidValue(ValueError):
    """A value of a Sambang value type is malformed.

    `code` is stable (`invalid_receipt_number`, `invalid_nik`, …), `reason` says which rule failed
    (`length`, `lowercase`, `check_digit`, …); the messages never contain the value itself.
    """

    def __init__(self, code: str, reason: str, message_id: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.reason = reason
        self.message_id = message_id
        self.message_en = message_en


# --- Luhn -------------------------------------------------------------------------------------


def luhn_check_digit(digits: str) -> str:
    """Return the Luhn check digit to append to `digits` (ASCII digits only)."""
    if not digits or not _DIGITS.fullmatch(digits):
        raise ValueError("luhn_check_digit needs a non-empty string of ASCII digits")
    return _luhn_digit(digits)


def _luhn_digit(digits: str) -> str:
    """Luhn check digit of digits already known to be ASCII digits (hot path: no checks)."""
    # The rightmost payload digit is doubled, because the check digit will sit to its right.
    return str(-sum(map(int, digits[-1::-2].translate(_DOUBLED) + digits[-2::-2])) % 10)


def luhn_valid(number: str) -> bool:
    """Tell whether `number` (ASCII digits, check digit last) passes the Luhn check."""
    if len(number) < 2 or not _DIGITS.fullmatch(number):
        return False
    return _luhn_digit(number[:-1]) == number[-1]


# --- receipt number ---------------------------------------------------------------------------

_RECEIPT = "invalid_receipt_number"
_RECEIPT_ID = "Nomor tanda terima tidak valid"
_RECEIPT_EN = "Invalid receipt number"


def _receipt_error(reason: str, detail_id: str, detail_en: str) -> InvalidValue:
    return InvalidValue(_RECEIPT, reason, f"{_RECEIPT_ID}: {detail_id}", f"{_RECEIPT_EN}: {detail_en}")


@dataclass(frozen=True, slots=True)
class ReceiptParts:
    """The parts of a pre-application receipt number (nomor tanda terima pra-permohonan)."""

    office: str
    registered_on: dt.date
    serial: str


def generate_receipt_number(office: str, on: dt.date, rng: Random | None = None) -> str:
    """Make a new receipt number for `office` registered `on` (random serial, Luhn check digit)."""
    validate_office_code(office)
    if not 2000 <= on.year <= 2099:
        raise ValueError("receipt numbers carry a two-digit year: 2000-2099 only")
    serial_number = secrets.randbelow(1_000_000) if rng is None else rng.randrange(1_000_000)
    payload = f"{on:%y%m%d}{serial_number:06d}"
    return f"{office}{payload}{luhn_check_digit(payload)}"


def parse_receipt_number(value: str, *, known_offices: Collection[str] | None = None) -> ReceiptParts:
    """Check a receipt number and split it; `known_offices` also refuses other offices' codes."""
    if not isinstance(value, str) or not _RECEIPT_SHAPE.fullmatch(value):
        raise _receipt_shape_error(value)
    payload = value[3:]
    try:
        registered_on = dt.date(2000 + int(payload[0:2]), int(payload[2:4]), int(payload[4:6]))
    except ValueError:
        raise _receipt_error(
            "date",
            "tanggal pendaftaran (YYMMDD) tidak ada",
            "the registration date (YYMMDD) does not exist",
        ) from None
    if _luhn_digit(payload[:-1]) != payload[-1]:
        raise _receipt_error("check_digit", "digit pemeriksa salah", "wrong check digit")
    office = value[:3]
    if known_offices is not None and office not in known_offices:
        raise _receipt_error("foreign_office", "kode kantor tidak dikenal di sini", "foreign office code")
    return ReceiptParts(office=office, registered_on=registered_on, serial=payload[6:12])


def _receipt_shape_error(value: object) -> InvalidValue:
    """Say which shape rule a malformed receipt number breaks (only called on failure)."""
    if not isinstance(value, str):
        return _receipt_error("type", "harus berupa teks", "must be a string")
    if len(value) != RECEIPT_NUMBER_LENGTH:
        return _receipt_error("length", "harus 16 karakter", f"must be {RECEIPT_NUMBER_LENGTH} characters")
    if any(char.islower() for char in value):
        return _receipt_error("lowercase", "huruf harus kapital", "letters must be capitals")
    if not _OFFICE.fullmatch(value[:3]):
        return _receipt_error(
            "office_format", "harus diawali kode kantor 3 huruf", "must start with a 3-letter office code"
        )
    return _receipt_error(
        "non_digit",
        "13 karakter setelah kode kantor harus angka",
        "the 13 characters after the office code must be digits",
    )


def validate_receipt_number(value: str) -> str:
    """Return `value` if it is a well-formed receipt number, else raise `InvalidValue`."""
    parse_receipt_number(value)
    return value


# --- NIK, billing code, NTPN, ticket, office code ----------------------------------------------


def validate_nik(value: str) -> str:
    """Return `value` if it is a NIK (exactly 16 ASCII digits), else raise `InvalidValue`."""
    if not isinstance(value, str) or len(value) != NIK_LENGTH or not _DIGITS.fullmatch(value):
        raise InvalidValue(
            "invalid_nik",
            "format",
            "NIK tidak valid: harus tepat 16 angka",
            "Invalid NIK: must be exactly 16 digits",
        )
    return value


def generate_billing_code(rng: Random | None = None) -> str:
    """Make a new 15-digit billing code whose last digit is a Luhn check digit."""
    number = secrets.randbelow(10**14) if rng is None else rng.randrange(10**14)
    payload = f"{number:014d}"
    return payload + luhn_check_digit(payload)


def validate_billing_code(value: str) -> str:
    """Return `value` if it is a billing code (15 digits, Luhn check digit last)."""
    if not isinstance(value, str) or len(value) != BILLING_CODE_LENGTH or not _DIGITS.fullmatch(value):
        raise InvalidValue(
            "invalid_billing_code",
            "format",
            "Kode billing tidak valid: harus tepat 15 angka",
            "Invalid billing code: must be exactly 15 digits",
        )
    if not luhn_valid(value):
        raise InvalidValue(
            "invalid_billing_code",
            "check_digit",
            "Kode billing tidak valid: digit pemeriksa salah",
            "Invalid billing code: wrong check digit",
        )
    return value


def validate_ntpn(value: str) -> str:
    """Return `value` if it is an NTPN (16 characters 0-9 or A-Z), else raise `InvalidValue`."""
    if not isinstance(value, str) or not _NTPN.fullmatch(value):
        raise InvalidValue(
            "invalid_ntpn",
            "format",
            "NTPN tidak valid: harus 16 karakter angka atau huruf kapital",
            "Invalid NTPN: must be 16 digits or capital letters",
        )
    return value


def ticket_letter(lane: Lane) -> str:
    """Return the ticket letter of a lane: A regular, P priority, C pickup."""
    return _TICKET_LETTERS[lane]


def format_ticket(lane_letter: str, n: int) -> str:
    """Format ticket number `n` (1-999) of a lane letter (A, P or C), e.g. `P007`."""
    if lane_letter not in ("A", "P", "C") or not 1 <= n <= 999:
        raise InvalidValue(
            "invalid_ticket",
            "format",
            "Nomor antrean tidak valid: huruf A/P/C dan nomor 1-999",
            "Invalid ticket: letter A/P/C and a number 1-999",
        )
    return f"{lane_letter}{n:03d}"


def validate_ticket(value: str) -> str:
    """Return `value` if it is a ticket (A, P or C and 3 digits), else raise `InvalidValue`."""
    if not isinstance(value, str) or not _TICKET.fullmatch(value):
        raise InvalidValue(
            "invalid_ticket",
            "format",
            "Nomor antrean tidak valid: huruf A/P/C diikuti 3 angka",
            "Invalid ticket: letter A/P/C followed by 3 digits",
        )
    return value


def validate_office_code(value: str) -> str:
    """Return `value` if it is an office code (3 capital letters), else raise `InvalidValue`."""
    if not isinstance(value, str) or not _OFFICE.fullmatch(value):
        raise InvalidValue(
            "invalid_office_code",
            "format",
            "Kode kantor tidak valid: harus 3 huruf kapital",
            "Invalid office code: must be 3 capital letters",
        )
    return value


# --- pydantic types -----------------------------------------------------------------------------


def _pydantic(check: Callable[[str], str]) -> Callable[[str], str]:
    """Turn an `InvalidValue` into a pydantic error whose type is the stable code."""

    def validate(value: str) -> str:
        try:
            return check(value)
        except InvalidValue as exc:
            raise PydanticCustomError(
                exc.code,
                exc.message_en,
                {"reason": exc.reason, "message_id": exc.message_id},
            ) from None

    return validate


def _schema(pattern: str, description: str, example: str) -> WithJsonSchema:
    schema: dict[str, Any] = {
        "type": "string",
        "pattern": pattern,
        "description": description,
        "examples": [example],
    }
    return WithJsonSchema(schema)


def _to_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


ReceiptNumber = Annotated[
    str,
    AfterValidator(_pydantic(validate_receipt_number)),
    _schema(
        "^[A-Z]{3}[0-9]{13}$",
        "Receipt number: office code + YYMMDD of registration + 6 digits + Luhn check digit over the 12 digits",
        "BLT2612010421733",
    ),
]
Nik = Annotated[
    str,
    AfterValidator(_pydantic(validate_nik)),
    _schema("^[0-9]{16}$", "NIK (Indonesian national identity number)", "3505010101900001"),
]
BillingCode = Annotated[
    str,
    AfterValidator(_pydantic(validate_billing_code)),
    _schema("^[0-9]{15}$", "Billing code: 14 digits + Luhn check digit", "820261201000011"),
]
Ntpn = Annotated[
    str,
    AfterValidator(_pydantic(validate_ntpn)),
    _schema("^[0-9A-Z]{16}$", "NTPN (state revenue receipt number)", "0F1E2D3C4B5A6978"),
]
Ticket = Annotated[
    str,
    AfterValidator(_pydantic(validate_ticket)),
    _schema("^[APC][0-9]{3}$", "Ticket: A regular, P priority, C pickup + 3 digits", "P007"),
]
OfficeCode = Annotated[
    str,
    AfterValidator(_pydantic(validate_office_code)),
    _schema("^[A-Z]{3}$", "Office code", "BLT"),
]
UtcDateTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware instant, normalised to UTC so that it serialises with `Z`."""


# --- age, passport validity and the working-day calendar ---------------------------------------------
# The rules every service applies to the same applicant and the same calendar, written once here so
# that queue (booking), payment (billing) and the gateway (pickup day) cannot drift apart.

#: Ten-year validity from this age on (Permenkumham 8/2014 as amended: 17, or married).
TEN_YEARS_FROM_AGE = 17


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Completed years of age on a day (a 29 February birthday counts on 1 March in common years)."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def ten_years_allowed(
    birth_date: dt.date, on: dt.date, *, married: bool | None, min_age: int = TEN_YEARS_FROM_AGE
) -> bool:
    """Ten-year validity only from ``min_age`` (17) on, or when married.

    ``married=None`` means the producer of the request already applied this rule with the marital
    status it holds (queue's registration form asks it, the event does not carry it): trusted.
    """
    return married is None or married or age_on(birth_date, on) >= min_age


def validity_years(
    chosen: int | None,
    birth_date: dt.date,
    on: dt.date,
    *,
    married: bool | None = False,
    min_age: int = TEN_YEARS_FROM_AGE,
) -> int:
    """Years a passport is valid: as chosen, else the longest the applicant is certainly entitled to
    (10 when ``ten_years_allowed``, else 5). A chosen value is returned as given; whether it is allowed
    is the caller's check (``ten_years_allowed``), which answers with its own error."""
    if chosen is not None:
        return chosen
    return 10 if ten_years_allowed(birth_date, on, married=bool(married), min_age=min_age) else 5


#: Whether a calendar day is a public holiday.
IsHoliday = Callable[[dt.date], bool]


@lru_cache(maxsize=64)
def _indonesian_holidays(year: int) -> frozenset[dt.date]:
    import holidays  # imported here: only the services that count working days pay for it

    return frozenset(holidays.country_holidays("ID", years=year))


def _is_indonesian_holiday(day: dt.date) -> bool:
    return day in _indonesian_holidays(day.year)


def indonesian_public_holidays() -> IsHoliday:
    """Indonesian public holidays (hari libur nasional), from the ``holidays`` package, cached per year."""
    return _is_indonesian_holiday


def is_working_day(day: dt.date, is_holiday: IsHoliday) -> bool:
    """Monday to Friday and not a holiday."""
    return day.isoweekday() <= 5 and not is_holiday(day)


def add_working_days(start: dt.date, n: int, is_holiday: IsHoliday) -> dt.date:
    """The n-th working day after ``start`` (n = 0 gives ``start`` itself)."""
    if n < 0:
        raise ValueError("n must not be negative")
    day, left = start, n
    while left > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day, is_holiday):
            left -= 1
    return day


def working_days_between(start: dt.date, end: dt.date, is_holiday: IsHoliday) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if is_working_day(day, is_holiday):
            count += 1
    return count
