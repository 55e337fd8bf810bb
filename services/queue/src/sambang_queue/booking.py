"""Registering applications and taking their places: the hot path of a booking rush.

A place is taken by one conditional update (``booked + n <= quota``) in the same transaction as
the applications and their outbox rows, so no concurrency can oversell a slot. On PostgreSQL the
update and the inserts are one statement (a data-modifying CTE): one round trip for both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from sambang_contracts import (
    Applicant,
    ApplicationRegistered,
    Language,
    PassportType,
    PriorityCategory,
    ServiceType,
)
from sambang_contracts import Slot as SlotValue
from sambang_contracts.values import generate_receipt_number
from sambang_runtime.entropy import SYSTEM_RANDOM
from sqlalchemy import TextClause, insert, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from .context import QueueContext
from .domain import Status
from .models import application, slot


@dataclass(frozen=True, slots=True)
class ApplicantData:
    """Who applies (personal data: encrypted before it is stored)."""

    full_name: str
    nik: str
    birth_date: dt.date
    email: str | None
    phone: str | None
    language: Language


@dataclass(frozen=True, slots=True)
class Booking:
    """One applicant's request for a place."""

    service_type: ServiceType
    passport_type: PassportType
    priority_category: PriorityCategory
    applicant: ApplicantData


@dataclass(frozen=True, slots=True)
class Appointment:
    """When the applicant is expected (a slot, or the walk-in's own time)."""

    slot_id: int | None
    date: dt.date
    start: dt.time
    end: dt.time

    def value(self) -> SlotValue:
        """As the events carry it."""
        return SlotValue(date=self.date, start=self.start, end=self.end)


def new_receipt_number(office: str, registered_on: dt.date) -> str:
    """A fresh receipt number (libs/contracts) for an office and registration day."""
    return generate_receipt_number(office, registered_on, SYSTEM_RANDOM)


def application_row(
    ctx: QueueContext,
    *,
    receipt_number: str,
    office: str,
    appointment: Appointment,
    booking: Booking,
    walk_in: bool,
    status: Status,
    group_id: str | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """The row of a new application, personal data encrypted with the receipt as context."""
    cipher = ctx.cipher
    a = booking.applicant

    def enc(field: str, value: str | None) -> str | None:
        return None if value is None else cipher.encrypt(value, context=f"application.{field}:{receipt_number}")

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
        "status": status.value,
        "active": True,
        "nik_hash": ctx.nik_hash(a.nik),
        "birth_hash": ctx.birth_hash(receipt_number, a.birth_date),
        "nik_enc": enc("nik", a.nik),
        "full_name_enc": enc("full_name", a.full_name),
        "birth_date_enc": enc("birth_date", a.birth_date.isoformat()),
        "email_enc": enc("email", a.email),
        "phone_enc": enc("phone", a.phone),
        "language": a.language.value,
        "created_at": now,
        "updated_at": now,
    }


def registered_event(
    *, receipt_number: str, office: str, appointment: Appointment, booking: Booking, walk_in: bool
) -> ApplicationRegistered:
    """`queue.application.registered`: carries the applicant's personal data by design (EVENTS.md)."""
    a = booking.applicant
    return ApplicationRegistered(
        receipt_number=receipt_number,
        office=office,
        slot=appointment.value(),
        service_type=booking.service_type,
        passport_type=booking.passport_type,
        priority_category=booking.priority_category,
        walk_in=walk_in,
        applicant=Applicant(
            full_name=a.full_name,
            nik=a.nik,
            birth_date=a.birth_date,
            email=a.email,
            phone=a.phone,
            language=a.language,
        ),
    )


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
    "created_at",
    "updated_at",
)


@lru_cache(maxsize=8)
def _pg_take_and_insert(n: int) -> TextClause:
    """WITH taken AS (UPDATE slot … booked + n <= quota RETURNING id) INSERT n applications FROM taken."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    types = {name: application.c[name].type.compile(dialect=dialect) for name in _BOOKED_COLUMNS}
    # INSERT … SELECT gives parameters no type from the target columns: cast each one.
    selects = [
        "SELECT " + ", ".join(f"CAST(:{name}_{i} AS {types[name]})" for name in _BOOKED_COLUMNS) + " FROM taken"
        for i in range(n)
    ]
    sql = (
        "WITH taken AS (UPDATE slot SET booked = booked + :n"
        " WHERE id = :slot_id AND office = :office AND booked + :n <= quota RETURNING id) "
        f"INSERT INTO application ({', '.join(_BOOKED_COLUMNS)}) "
        + " UNION ALL ".join(selects)
        + " RETURNING receipt_number"
    )
    return text(sql)


async def take_places_and_insert(
    conn: AsyncConnection, *, office: str, slot_id: int, rows: Sequence[dict[str, Any]]
) -> bool:
    """Take len(rows) places of the slot and insert the applications; False (nothing written) if full."""
    n = len(rows)
    if conn.dialect.name == "postgresql":
        params: dict[str, Any] = {"n": n, "slot_id": slot_id, "office": office}
        for i, row in enumerate(rows):
            for name in _BOOKED_COLUMNS:
                params[f"{name}_{i}"] = row[name]
        inserted = (await conn.execute(_pg_take_and_insert(n), params)).all()
        return len(inserted) == n
    # Portable path (SQLite serialises writers; the condition still guards the quota).
    result = await conn.execute(
        update(slot)
        .where(slot.c.id == slot_id, slot.c.office == office, slot.c.booked + n <= slot.c.quota)
        .values(booked=slot.c.booked + n)
    )
    if result.rowcount != 1:
        return False
    await conn.execute(insert(application), list(rows))
    return True


async def give_place_back(conn: AsyncConnection, slot_id: int | None) -> None:
    """Free one place of a slot (cancellation, bill expiry, no-show)."""
    if slot_id is None:
        return
    await conn.execute(update(slot).where(slot.c.id == slot_id, slot.c.booked > 0).values(booked=slot.c.booked - 1))


Violation = Literal["nik", "receipt", "idempotency", "other"]


def violated(exc: IntegrityError) -> Violation:
    """Which unique rule a failed insert broke (PostgreSQL names the index, SQLite the columns)."""
    message = str(exc.orig)
    if "uq_application_active_nik" in message or "application.nik_hash" in message:
        return "nik"
    if "pk_application" in message or "application.receipt_number" in message:
        return "receipt"
    if "idempotency_record" in message:
        return "idempotency"
    return "other"


# --- PostgreSQL: the whole booking in one statement ------------------------------------------------

_OUTBOX_COLUMNS = ("event_id", "event_type", "subject", "office", "body", "created_at", "attempts")
_IDEMPOTENCY_COLUMNS = ("key", "request_hash", "status_code", "body", "created_at")


class PlacesTaken(Exception):
    """The slot had fewer free places than asked for (nothing was written)."""


@lru_cache(maxsize=16)
def _pg_booking_statement(n: int, with_key: bool, outbox_name: str) -> str:
    """One statement: take n places, insert n applications, their n outbox rows (and the idempotency
    record); data-modifying CTEs run as one atomic statement, so no BEGIN/COMMIT round trips.

    Every insert selects FROM taken: when the slot is full, `taken` is empty and nothing is written.
    """
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    app_types = {name: application.c[name].type.compile(dialect=dialect) for name in _BOOKED_COLUMNS}
    outbox_types = {
        "event_id": "VARCHAR(36)",
        "event_type": "VARCHAR(100)",
        "subject": "VARCHAR(64)",
        "office": "VARCHAR(8)",
        "body": "BYTEA",
        "created_at": "TIMESTAMP WITH TIME ZONE",
        "attempts": "INTEGER",
    }
    idem_types = {
        "key": "VARCHAR(200)",
        "request_hash": "VARCHAR(64)",
        "status_code": "INTEGER",
        "body": "JSON",
        "created_at": "TIMESTAMP WITH TIME ZONE",
    }
    counter = iter(range(4, 10_000))  # $1 slot, $2 office, $3 places

    def select_of(types: dict[str, str]) -> str:
        return "SELECT " + ", ".join(f"CAST(${next(counter)} AS {t})" for t in types.values()) + " FROM taken"

    app_selects = " UNION ALL ".join(select_of(app_types) for _ in range(n))
    outbox_selects = " UNION ALL ".join(select_of(outbox_types) for _ in range(n))
    parts = [
        "WITH taken AS (UPDATE slot SET booked = booked + $3"
        " WHERE id = $1 AND office = $2 AND booked + $3 <= quota RETURNING id)",
        f"apps AS (INSERT INTO application ({', '.join(_BOOKED_COLUMNS)}) {app_selects} RETURNING 1)",
        f"events AS (INSERT INTO {outbox_name} ({', '.join(_OUTBOX_COLUMNS)}) {outbox_selects} RETURNING 1)",
    ]
    if with_key:
        parts.append(
            f"idem AS (INSERT INTO idempotency_record ({', '.join(_IDEMPOTENCY_COLUMNS)}) {select_of(idem_types)}"
            " RETURNING 1)"
        )
    return ", ".join(parts) + " SELECT count(*) FROM apps"


async def book_in_one_statement(
    conn: Any,
    *,
    office: str,
    slot_id: int,
    rows: Sequence[dict[str, Any]],
    outbox_rows: Sequence[dict[str, Any]],
    outbox_name: str,
    idempotency: dict[str, Any] | None,
) -> None:
    """Run the booking statement on a raw asyncpg connection (autocommit: the statement is atomic).

    Raises PlacesTaken when the slot is full, asyncpg.UniqueViolationError on a unique rule.
    """
    n = len(rows)
    args: list[Any] = [slot_id, office, n]
    for row in rows:
        args += [row[name] for name in _BOOKED_COLUMNS]
    for row in outbox_rows:
        args += [row[name] for name in _OUTBOX_COLUMNS]
    if idempotency is not None:
        args += [idempotency[name] for name in _IDEMPOTENCY_COLUMNS]
    sql = _pg_booking_statement(n, idempotency is not None, outbox_name)
    inserted = await conn.fetchval(sql, *args)
    if inserted != n:
        raise PlacesTaken


def constraint_violated(name: str | None) -> Violation:
    """Which unique rule a PostgreSQL constraint name stands for."""
    if name == "uq_application_active_nik":
        return "nik"
    if name == "pk_application":
        return "receipt"
    if name == "pk_idempotency_record":
        return "idempotency"
    return "other"
