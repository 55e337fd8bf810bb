"""A bank's daily settlement file (rekonsiliasi): reading it, and the days it covers."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field
from sambang_contracts import PaymentChannel
from sambang_contracts.values import NO_CONTROL_CHARS, InvalidValue, validate_ntpn
from sambang_runtime.errors import DomainError

from .payments import Discrepancy

SETTLEMENT_HEADER = ("billing_code", "ntpn", "amount", "paid_at", "channel", "bank_reference")
_BILLING_CODE_SHAPE = re.compile(r"^[0-9]{15}$", re.ASCII)
_AMOUNT = re.compile(r"^[1-9][0-9]{0,11}$", re.ASCII)
_REFERENCE = re.compile(r"^[\x21-\x7e][\x20-\x7e]{0,199}$")
_TEXT = re.compile(NO_CONTROL_CHARS)


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


def _refuse_control_characters(text: str) -> None:
    """422 ``settlement_control_characters`` naming the first line (the header is line 1) whose text
    holds a control character (NUL, escapes, DEL, C1): the whole file is refused, nothing is read.
    Tab and the line ends (CR, LF) are not refused here; a cell still has to fit its column."""
    for number, line in enumerate(text.split("\n"), start=1):
        if not _TEXT.match(line):
            raise SettlementFileError("settlement_control_characters", line=number)


def parse_settlement(raw: bytes) -> SettlementFile:
    """Read a settlement CSV: exact header, CRLF or LF, optional UTF-8 BOM; bad rows are listed by line.

    A control character anywhere refuses the whole file (422 ``settlement_control_characters`` with
    the ``line``)."""
    if not raw.strip():
        raise SettlementFileError("empty_settlement_file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SettlementFileError("settlement_not_utf8") from None
    _refuse_control_characters(text)
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


def settlement_sha256(raw: bytes) -> str:
    """The identity of an uploaded file: the same bytes twice are the same file."""
    return hashlib.sha256(raw).hexdigest()


# --- what a reconciliation found -----------------------------------------------------------------
# One shape for the use case's result, the stored answer to a repeated upload and the response body.


class SettlementDiscrepancy(BaseModel):
    """A row that disagrees with our ledger, or one of our payments the file lacks (line null)."""

    model_config = ConfigDict(frozen=True)

    line: int | None
    kind: str
    billing_code: str
    ntpn: str
    detail: str

    @classmethod
    def found(cls, line: int | None, discrepancy: Discrepancy) -> Self:
        """What the report says of one discrepancy (the line of its row; None: missing from the file)."""
        assert discrepancy.ntpn is not None
        return cls(
            line=line,
            kind=discrepancy.kind.value,
            billing_code=discrepancy.billing_code,
            ntpn=discrepancy.ntpn,
            detail=discrepancy.detail,
        )


class SettlementRowError(BaseModel):
    """A malformed row, by line number (the header is line 1)."""

    model_config = ConfigDict(frozen=True)

    line: int
    errors: list[str]


class ReconciliationResult(BaseModel):
    """What reconciling one file found; the same file again answers this with ``already_processed``."""

    model_config = ConfigDict(frozen=True)

    reconciliation_id: int
    partner: str
    office: str
    file_sha256: str
    uploaded_at: dt.datetime
    rows: int
    matched: int = Field(description="rows we already had (same NTPN, bill and amount)")
    applied: int = Field(description="payments we learnt of from the file")
    other_office: int = Field(description="rows for another office's bills, left to its supervisor")
    discrepancies: list[SettlementDiscrepancy]
    errors: list[SettlementRowError]
    already_processed: bool
    dry_run: Literal[False] = Field(default=False, description="false: the file was applied (with an approval)")


class ReconciliationPreview(BaseModel):
    """What a settlement file would do, answered without an approval: nothing is applied or recorded.

    ``approval_action`` and ``approval_subject`` say what a second person approves (``POST
    /v1/approvals``) for the same bytes to be applied.
    """

    model_config = ConfigDict(frozen=True)

    dry_run: Literal[True] = Field(default=True, description="true: nothing was applied")
    partner: str
    office: str
    file_sha256: str
    rows: int
    matched: int = Field(description="rows we already had (same NTPN, bill and amount)")
    would_apply: int = Field(description="payments the file would apply")
    other_office: int = Field(description="rows for another office's bills, left to its supervisor")
    discrepancies: list[SettlementDiscrepancy] = Field(description="what applying would record as discrepancies")
    errors: list[SettlementRowError]
    already_processed: bool = Field(description="these bytes were applied before: applying again does nothing")
    approval_action: Literal["settlement_apply"] = "settlement_apply"
    approval_subject: str = Field(description="the file's sha256 hex, the subject of the approval that applies it")
