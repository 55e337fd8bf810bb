"""Applications (pre-applications): registering them and taking their slot's places, their status,
personal data at rest, and the answers kept for an Idempotency-Key.

A place is taken by one conditional update (``booked + n <= quota``) in the same transaction as the
applications and their outbox rows, so no concurrency can oversell a slot. On PostgreSQL the update,
the inserts and the events are one statement (``UnitOfWork.run_atomic``): one round trip for all.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any, Literal

from sambang_runtime.crypto import DecryptionError, PiiCipher
from sambang_runtime.errors import DomainError
from sambang_runtime.uow import AtomicChange, UniqueViolation, UnitOfWork
from sqlalchemy import Row, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.booking import Appointment, Booking
from ..domain.status import Status, advanced, is_active
from ..models import application, idempotency_record, slot
from . import connection_of


class ReceiptTaken(Exception):
    """A freshly drawn receipt number is already taken (nothing was written): draw new ones."""


@dataclass(frozen=True, slots=True)
class ApplicationRecord:
    """One application as stored: every column of `application` (personal data as encrypted tokens:
    read them with `decrypt`, `birth_date_of`, `passport_number_of`)."""

    receipt_number: str
    office: str
    slot_id: int | None
    group_id: str | None
    slot_date: dt.date
    slot_start: dt.time
    slot_end: dt.time
    service_type: str
    passport_type: str
    priority_category: str
    walk_in: bool
    status: str
    active: bool
    nik_hash: str
    birth_hash: str
    nik_enc: str
    full_name_enc: str
    birth_date_enc: str
    email_enc: str | None
    phone_enc: str | None
    language: str
    validity_years: int | None
    express: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    billing_code: str | None
    bill_amount: int | None
    bill_expires_at: dt.datetime | None
    bill_status: str | None
    paid_at: dt.datetime | None
    ntpn: str | None
    arrival_expires_at: dt.datetime | None
    arrival_confirmed_at: dt.datetime | None
    capture_completed_at: dt.datetime | None
    interview_completed_at: dt.datetime | None
    interview_decision: str | None
    simkim_reference: str | None
    pickup_from: dt.date | None
    passport_number_enc: str | None
    issued_at: dt.datetime | None
    collected_at: dt.datetime | None
    closed_at: dt.datetime | None
    close_reason: str | None
    reminder_sent_at: dt.datetime | None


def _record(row: Row[Any]) -> ApplicationRecord:
    """A row of `select(application)` (the record's fields are the table's columns: a unit test holds it)."""
    return ApplicationRecord(**row._mapping)


@dataclass(frozen=True, slots=True)
class ApplicationUpdate:
    """Columns of an application to set, from what payment, capture, SIMKIM and the office report;
    None leaves a column as it is (none of these is ever set back to NULL)."""

    billing_code: str | None = None
    bill_amount: int | None = None
    bill_expires_at: dt.datetime | None = None
    bill_status: str | None = None
    paid_at: dt.datetime | None = None
    ntpn: str | None = None
    arrival_expires_at: dt.datetime | None = None
    arrival_confirmed_at: dt.datetime | None = None
    capture_completed_at: dt.datetime | None = None
    interview_completed_at: dt.datetime | None = None
    interview_decision: str | None = None
    simkim_reference: str | None = None
    priority_category: str | None = None
    pickup_from: dt.date | None = None
    passport_number_enc: str | None = None
    issued_at: dt.datetime | None = None
    close_reason: str | None = None
    updated_at: dt.datetime | None = None


NO_CHANGES = ApplicationUpdate()


def _columns(changes: ApplicationUpdate) -> dict[str, Any]:
    """The columns an update sets."""
    return {f.name: v for f in fields(changes) if (v := getattr(changes, f.name)) is not None}


@dataclass(frozen=True, slots=True)
class Idempotency:
    """An Idempotency-Key and the hash of the request it came with."""

    key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class KeptAnswer:
    """The answer given to an Idempotency-Key before."""

    status_code: int
    body: dict[str, Any]


def nik_hash(cipher: PiiCipher, nik: str) -> str:
    """The blind index of a NIK (look-ups and the one-active-application rule)."""
    return cipher.blind_index(nik, purpose="nik")


def birth_hash(cipher: PiiCipher, receipt_number: str, birth_date: dt.date) -> str:
    """A keyed hash of the birth date bound to the receipt, so equal birth dates are unlinkable."""
    return cipher.blind_index(f"{receipt_number}|{birth_date.isoformat()}", purpose="birth_date")


def born_on(cipher: PiiCipher, app: ApplicationRecord, birth_date: dt.date) -> bool:
    """Whether the applicant of this application was born on that day (the applicant's proof)."""
    return app.birth_hash == birth_hash(cipher, app.receipt_number, birth_date)


def _encrypt(cipher: PiiCipher, receipt_number: str, field: str, value: str | None) -> str | None:
    """Personal data at rest, bound to its receipt and field (a token cannot be moved to another row)."""
    return None if value is None else cipher.encrypt(value, context=f"application.{field}:{receipt_number}")


PersonalField = Literal["nik", "full_name", "birth_date", "email", "phone"]


def decrypt(cipher: PiiCipher, app: ApplicationRecord, field: PersonalField) -> str | None:
    """A personal field of an application in clear, None if absent or unreadable."""
    token = {
        "nik": app.nik_enc,
        "full_name": app.full_name_enc,
        "birth_date": app.birth_date_enc,
        "email": app.email_enc,
        "phone": app.phone_enc,
    }[field]
    if token is None:
        return None
    try:
        return cipher.decrypt(token, context=f"application.{field}:{app.receipt_number}")
    except DecryptionError:
        return None


def birth_date_of(cipher: PiiCipher, app: ApplicationRecord) -> dt.date:
    """The applicant's birth date (only with a lost key unreadable: then as if unknown)."""
    text = decrypt(cipher, app, "birth_date")
    if text is None:  # pragma: no cover - only with a lost key
        raise DomainError("application_not_found")
    return dt.date.fromisoformat(text)


def passport_number_of(cipher: PiiCipher, app: ApplicationRecord) -> str:
    """The issued passport's number (only asked once the passport is issued)."""
    if app.passport_number_enc is None:
        raise DomainError("not_ready")
    return cipher.decrypt(app.passport_number_enc, context=f"application.passport_number:{app.receipt_number}")


def encrypted_passport_number(cipher: PiiCipher, receipt_number: str, passport_number: str) -> str:
    """The passport number as stored."""
    return cipher.encrypt(passport_number, context=f"application.passport_number:{receipt_number}")


def _application_row(
    cipher: PiiCipher,
    *,
    receipt_number: str,
    office: str,
    appointment: Appointment,
    booking: Booking,
    walk_in: bool,
    group_id: str | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """The row of a new application, personal data encrypted with the receipt as context."""
    a = booking.applicant
    return {
        "receipt_number": receipt_number,
        "office": office,
        "slot_id": appointment.slot_id,
        "group_id": group_id,
        "slot_date": appointment.date,
        "slot_start": appointment.start,
        "slot_end": appointment.end,
        "service_type": booking.service_type.value,
        "passport_type": booking.passport_type.value,
        "priority_category": booking.priority_category.value,
        "walk_in": walk_in,
        "status": Status.BOOKED.value,
        "active": True,
        "nik_hash": nik_hash(cipher, a.nik),
        "birth_hash": birth_hash(cipher, receipt_number, a.birth_date),
        "nik_enc": _encrypt(cipher, receipt_number, "nik", a.nik),
        "full_name_enc": _encrypt(cipher, receipt_number, "full_name", a.full_name),
        "birth_date_enc": _encrypt(cipher, receipt_number, "birth_date", a.birth_date.isoformat()),
        "email_enc": _encrypt(cipher, receipt_number, "email", a.email),
        "phone_enc": _encrypt(cipher, receipt_number, "phone", a.phone),
        "language": a.language.value,
        "validity_years": booking.validity_years,
        "express": booking.express,
        "created_at": now,
        "updated_at": now,
    }


# --- booking: take places and register, all or nothing --------------------------------------------

_BOOKED_COLUMNS = (
    "receipt_number",
    "office",
    "slot_id",
    "group_id",
    "slot_date",
    "slot_start",
    "slot_end",
    "service_type",
    "passport_type",
    "priority_category",
    "walk_in",
    "status",
    "active",
    "nik_hash",
    "birth_hash",
    "nik_enc",
    "full_name_enc",
    "birth_date_enc",
    "email_enc",
    "phone_enc",
    "language",
    "validity_years",
    "express",
    "created_at",
    "updated_at",
)
_IDEMPOTENCY_COLUMNS = ("key", "request_hash", "status_code", "body", "created_at")


def _pg_types(table_columns: Any, names: Sequence[str]) -> list[str]:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return [str(table_columns[name].type.compile(dialect=dialect)) for name in names]


@lru_cache(maxsize=16)
def _booking_ctes(n: int, with_key: bool) -> str:
    """PostgreSQL: take n places ($1 slot, $2 office, $3 places), insert the n applications (and the
    idempotency record) FROM taken: when the slot is full, `taken` is empty and nothing is written."""
    counter = iter(range(4, 10_000))

    def select_of(types: list[str]) -> str:
        # INSERT … SELECT gives parameters no type from the target columns: cast each one.
        return "SELECT " + ", ".join(f"CAST(${next(counter)} AS {t})" for t in types) + " FROM taken"

    app_types = _pg_types(application.c, _BOOKED_COLUMNS)
    parts = [
        "taken AS (UPDATE slot SET booked = booked + $3 WHERE id = $1 AND office = $2 AND booked + $3 <= quota"
        " RETURNING id)",
        f"apps AS (INSERT INTO application ({', '.join(_BOOKED_COLUMNS)})"
        f" {' UNION ALL '.join(select_of(app_types) for _ in range(n))} RETURNING 1)",
    ]
    if with_key:
        idem_types = _pg_types(idempotency_record.c, _IDEMPOTENCY_COLUMNS)
        parts.append(
            f"idem AS (INSERT INTO idempotency_record ({', '.join(_IDEMPOTENCY_COLUMNS)}) {select_of(idem_types)}"
            " RETURNING 1)"
        )
    return ", ".join(parts)


async def _take_places_and_insert(
    conn: AsyncConnection,
    *,
    office: str,
    slot_id: int,
    rows: Sequence[dict[str, Any]],
    idempotency: dict[str, Any] | None,
) -> bool:
    """SQLite (embedded mode): the conditional update and the inserts in the unit of work's transaction."""
    if idempotency is not None:
        # First: a concurrent retry with the same key waits here for this one, then replays it.
        await conn.execute(insert(idempotency_record).values(**idempotency))
    n = len(rows)
    # SQLite serialises writers; the condition still guards the quota.
    result = await conn.execute(
        update(slot)
        .where(slot.c.id == slot_id, slot.c.office == office, slot.c.booked + n <= slot.c.quota)
        .values(booked=slot.c.booked + n)
    )
    if result.rowcount != 1:
        return False
    await conn.execute(insert(application), list(rows))
    return True


async def kept_answer(uow: UnitOfWork, idempotency: Idempotency) -> KeptAnswer | None:
    """The answer given to this key before, or None; idempotency_key_reused when it came with another request."""
    conn = await connection_of(uow)
    row = (await conn.execute(select(idempotency_record).where(idempotency_record.c.key == idempotency.key))).first()
    if row is None:
        return None
    if row.request_hash != idempotency.request_hash:
        raise DomainError("idempotency_key_reused")
    return KeptAnswer(row.status_code, row.body)


async def refuse_active_niks(uow: UnitOfWork, niks: Sequence[str]) -> None:
    """active_application_exists naming the members (by index) whose NIK has an active application."""
    hashes = [nik_hash(uow.cipher, nik) for nik in niks]
    conn = await connection_of(uow)
    taken = set(
        (
            await conn.execute(
                select(application.c.nik_hash).where(application.c.nik_hash.in_(hashes), application.c.active.is_(True))
            )
        ).scalars()
    )
    if taken:
        raise DomainError("active_application_exists", members=[i for i, h in enumerate(hashes) if h in taken])


async def book(
    uow: UnitOfWork,
    *,
    office: str,
    appointment: Appointment,
    receipts: Sequence[str],
    bookings: Sequence[Booking],
    group_id: str | None,
    now: dt.datetime,
    idempotency: Idempotency | None,
    answer: dict[str, Any],
) -> KeptAnswer | None:
    """Take the places and register the applications with the events emitted so far, and commit.

    Returns None when booked, or the answer a concurrent request with the same key already gave.
    slot_full, active_application_exists; ReceiptTaken when a receipt number was taken meanwhile.
    """
    assert appointment.slot_id is not None
    rows = [
        _application_row(
            uow.cipher,
            receipt_number=r,
            office=office,
            appointment=appointment,
            booking=b,
            walk_in=False,
            group_id=group_id,
            now=now,
        )
        for r, b in zip(receipts, bookings, strict=True)
    ]
    record = (
        None
        if idempotency is None
        else {
            "key": idempotency.key,
            "request_hash": idempotency.request_hash,
            "status_code": 201,
            "body": answer,
            "created_at": now,
        }
    )
    args: list[Any] = [appointment.slot_id, office, len(rows)]
    for row in rows:
        args += [row[name] for name in _BOOKED_COLUMNS]
    if record is not None:
        args += [json.dumps(record[name]) if name == "body" else record[name] for name in _IDEMPOTENCY_COLUMNS]
    slot_id = appointment.slot_id

    async def portable(conn: AsyncConnection) -> bool:
        return await _take_places_and_insert(conn, office=office, slot_id=slot_id, rows=rows, idempotency=record)

    change = AtomicChange(
        ctes=_booking_ctes(len(rows), record is not None), args=args, guard="taken", portable=portable
    )
    try:
        if not await uow.run_atomic(change):
            raise DomainError("slot_full")
    except UniqueViolation as exc:
        rule = exc.constraint
        if idempotency is not None and rule in ("pk_idempotency_record", "uq_application_active_nik"):
            # The same key committed concurrently: answer what it answered.
            kept = await kept_answer(uow, idempotency)
            if kept is not None:
                return kept
        if rule == "uq_application_active_nik":
            raise DomainError("active_application_exists") from None
        if rule == "pk_application":
            raise ReceiptTaken from None
        raise
    return None


async def insert_walk_in(
    uow: UnitOfWork,
    *,
    receipt_number: str,
    office: str,
    appointment: Appointment,
    booking: Booking,
    now: dt.datetime,
) -> None:
    """Register a walk-in's application in the unit of work's transaction.

    active_application_exists; ReceiptTaken (the unit of work rolled back) when the receipt was taken.
    """
    row = _application_row(
        uow.cipher,
        receipt_number=receipt_number,
        office=office,
        appointment=appointment,
        booking=booking,
        walk_in=True,
        group_id=None,
        now=now,
    )
    try:
        await uow.execute_unique(insert(application).values(**row))
    except UniqueViolation as exc:
        if exc.constraint == "uq_application_active_nik":
            raise DomainError("active_application_exists") from None
        if exc.constraint == "pk_application":
            raise ReceiptTaken from None
        raise


# --- one application ------------------------------------------------------------------------------


async def find(uow: UnitOfWork, receipt_number: str, *, lock: bool = False) -> ApplicationRecord | None:
    """An application by receipt (row-locked on PostgreSQL when asked)."""
    conn = await connection_of(uow)
    stmt = select(application).where(application.c.receipt_number == receipt_number)
    if lock:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).first()
    return None if row is None else _record(row)


async def _set(conn: AsyncConnection, receipt_number: str, values: dict[str, Any]) -> None:
    await conn.execute(update(application).where(application.c.receipt_number == receipt_number).values(**values))


async def update_application(uow: UnitOfWork, receipt_number: str, changes: ApplicationUpdate) -> None:
    """Set columns of an application (its status moves only through `set_status`, `close`, `collect`)."""
    values = _columns(changes)
    if values:
        await _set(await connection_of(uow), receipt_number, values)


async def note_reminder_sent(uow: UnitOfWork, receipt_number: str, at: dt.datetime) -> bool:
    """The reminder the day before reached the applicant at `at`: kept the first time only (the
    notifier reports each channel, and events may come twice); whether this call noted it."""
    conn = await connection_of(uow)
    noted = await conn.execute(
        update(application)
        .where(application.c.receipt_number == receipt_number, application.c.reminder_sent_at.is_(None))
        .values(reminder_sent_at=at)
    )
    return bool(noted.rowcount)


async def set_status(
    uow: UnitOfWork, receipt_number: str, new: Status, now: dt.datetime, changes: ApplicationUpdate = NO_CHANGES
) -> Status:
    """Move an application forward (never back, events come in any order), with other columns to set;
    returns the status kept."""
    conn = await connection_of(uow)
    row = (
        await conn.execute(select(application.c.status).where(application.c.receipt_number == receipt_number))
    ).first()
    if row is None:
        return new
    current = Status(row.status)
    target = advanced(current, new)
    values = _columns(changes)
    if target != current:
        values["status"] = target.value
        values["active"] = is_active(target)
        if not is_active(target) and target != Status.COLLECTED:
            values.setdefault("closed_at", now)
    if values:
        values["updated_at"] = now
        await _set(conn, receipt_number, values)
    return target


async def close(uow: UnitOfWork, receipt_number: str, status: Status, reason: str, now: dt.datetime) -> None:
    """Close an application (cancelled by the applicant or an officer): inactive, with its reason."""
    values = {"status": status.value, "active": False, "closed_at": now, "close_reason": reason, "updated_at": now}
    await _set(await connection_of(uow), receipt_number, values)


async def collect(uow: UnitOfWork, receipt_number: str, now: dt.datetime) -> None:
    """The passport was handed over: the application is COLLECTED, and no longer active."""
    values = {"status": Status.COLLECTED.value, "active": False, "collected_at": now, "updated_at": now}
    await _set(await connection_of(uow), receipt_number, values)


async def give_place_back(uow: UnitOfWork, slot_id: int | None) -> None:
    """Free one place of a slot (cancellation, bill expiry, no-show)."""
    if slot_id is None:
        return
    conn = await connection_of(uow)
    await conn.execute(update(slot).where(slot.c.id == slot_id, slot.c.booked > 0).values(booked=slot.c.booked - 1))
